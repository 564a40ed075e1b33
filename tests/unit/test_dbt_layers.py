"""The dbt project's layers, read as text (no dbt run): every model states its grain,
sources are read only in staging, no mart feeds a staging or intermediate model, and the
build state depends on every incremental model (docs/analyst-guide.md "The layers")."""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

import pytest
import yaml

from pipeline.paths import DBT_PROJECT_DIR

MODELS_DIR = DBT_PROJECT_DIR / "models"
REF = re.compile(r"""\bref\(\s*['"]([A-Za-z0-9_]+)['"]\s*\)""")
SOURCE = re.compile(r"\bsource\(\s*['\"]")
UPSTREAM_LAYERS = {"staging": {"staging"}, "intermediate": {"staging", "intermediate"}}


def layer(path: Path) -> str:
    return path.relative_to(MODELS_DIR).parts[0]


MODELS = {path.stem: path for path in sorted(MODELS_DIR.rglob("*.sql"))}


@cache
def model_descriptions() -> dict[str, str]:
    described: dict[str, str] = {}
    for path in sorted(MODELS_DIR.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models", []):
            described[model["name"]] = model.get("description", "")
    return described


def refs(path: Path) -> set[str]:
    # Comments count: dbt renders `-- depends_on: {{ ref(...) }}` as a dependency.
    return set(REF.findall(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("name", sorted(MODELS))
def test_every_model_states_its_grain_in_its_yml(name):
    described = model_descriptions()
    assert name in described, f"{name} has no yml entry"
    assert "Grain:" in described[name], f"{name}'s description does not state its grain"


def test_sources_are_read_only_in_staging():
    readers = [name for name, path in MODELS.items() if SOURCE.search(path.read_text("utf-8"))]
    assert readers and all(layer(MODELS[name]) == "staging" for name in readers), readers


@pytest.mark.parametrize(
    "name", sorted(n for n, p in MODELS.items() if layer(p) in UPSTREAM_LAYERS)
)
def test_staging_and_intermediate_models_read_only_earlier_layers(name):
    allowed = UPSTREAM_LAYERS[layer(MODELS[name])]
    wrong = {
        ref: layer(MODELS[ref]) for ref in refs(MODELS[name]) if layer(MODELS[ref]) not in allowed
    }
    assert not wrong, f"{name} reads {wrong}"


INCREMENTAL_CALLS = (
    "incremental_months(",
    "incremental_files(",
    "kept_without_new_crm_files(",
    "incremental_forecast_periods(",
    "incremental_lost_months(",
)


def test_build_state_depends_on_every_incremental_model():
    incremental = {
        name
        for name, path in MODELS.items()
        if any(call in path.read_text("utf-8") for call in INCREMENTAL_CALLS)
    }
    assert len(incremental) >= 12
    assert refs(MODELS["build_state"]) - {"stg_landing__files"} == incremental


# Not sorted: funnel_stage_monthly is small.
UNSORTED_INCREMENTAL = {"funnel_stage_monthly"}
MONTH_COLUMN = re.compile(r"incremental_months\(\s*'([a-z_]+)'")


def test_incremental_models_write_their_rows_in_month_order():
    """A run deletes the months from its boundary on: in month order they are whole row
    groups at the table's end, and DuckDB's checkpoint leaves the rest of the table alone
    (macros/incremental.sql)."""
    unsorted = {}
    for name, path in MODELS.items():
        text = path.read_text("utf-8")
        month = MONTH_COLUMN.search(text)
        if name in UNSORTED_INCREMENTAL or not month:
            continue
        if not text.rstrip().endswith(f"order by {month.group(1)}"):
            unsorted[name] = month.group(1)
    assert not unsorted, f"incremental models not ending with `order by` their month: {unsorted}"
