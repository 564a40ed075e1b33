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


@cache
def model_tags() -> dict[str, list[str]]:
    tags: dict[str, list[str]] = {}
    for path in sorted(MODELS_DIR.rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for model in document.get("models", []):
            tags[model["name"]] = (model.get("config") or {}).get("tags", [])
    return tags


SOURCE_TABLE = re.compile(r"""\bsource\(\s*['"]landing['"]\s*,\s*['"]([a-z_]+)['"]\s*\)""")
# What tells a CRM model which of its files are new and which arrived last; it lists the
# call logs too, and the CRM models read the rows of CRM files from it alone.
ARRIVAL_ORDER = "stg_landing__file_arrivals"


def test_the_models_a_run_without_a_new_crm_file_leaves_out_read_crm_and_config_alone():
    """A run whose new files are all call logs leaves the models tagged CRM_AND_CONFIG_TAG
    out of dbt's run (RebuildPlan.dbt_args): each reads only such models, the landing
    tables of CRM exports and voronka.yaml, and the files' arrival order."""
    from pipeline.incremental import CRM_AND_CONFIG_TAG

    tagged = {name for name, tags in model_tags().items() if CRM_AND_CONFIG_TAG in tags}
    kept = {"stg_landing__crm_deals", "int_stage_events_merged", "int_deals_joined_to_funnels",
            "unmapped_stages", "int_deal_segment_attributes", "int_deal_amount_spans"}  # fmt: skip
    assert kept <= tagged
    assert {name for name in MODELS if name.startswith("stg_landing__config_")} <= tagged
    wrong = {}
    for name in sorted(tagged):
        text = MODELS[name].read_text("utf-8")
        other_models = refs(MODELS[name]) - tagged - {ARRIVAL_ORDER}
        other_sources = {
            table
            for table in SOURCE_TABLE.findall(text)
            if not table.startswith(("crm_", "config_"))
        }
        if other_models or other_sources:
            wrong[name] = sorted(other_models | other_sources)
    assert wrong == {}, "these read what a call log changes; drop their crm_and_config tag"
