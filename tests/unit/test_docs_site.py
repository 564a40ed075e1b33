"""`make dbt-docs` (pipeline/docs.py): dbt documents a copy of the published warehouse in
a target folder of its own; the published file is never opened, and dbt's parse state in
the builds' target folder is left alone. dbt itself is stood in for: what is checked is
what it is handed."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline import docs
from pipeline.warehouse import cli_target_dir
from tests.helpers import copy_demo_config


@pytest.fixture
def site(tmp_path):
    """A demo site's config and its file."""
    return copy_demo_config(tmp_path), tmp_path / "voronka.yaml"


def stand_in_dbt(monkeypatch) -> list[dict]:
    calls: list[dict] = []

    def run_dbt(config, args, target_file: Path, environment=None):
        tables = []
        if target_file.exists():
            with duckdb.connect(str(target_file), read_only=True) as con:
                tables = [
                    row[0]
                    for row in con.execute("select table_name from duckdb_tables()").fetchall()
                ]
        calls.append({"args": args, "file": target_file, "env": environment, "tables": tables})
        return []

    monkeypatch.setattr(docs, "run_dbt", run_dbt)
    return calls


def test_dbt_documents_a_copy_of_the_published_warehouse_in_a_folder_of_its_own(site, monkeypatch):
    config, config_file = site
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute("create table funnel_entities as select 1 as entity")
    published = config.warehouse_path.read_bytes()
    calls = stand_in_dbt(monkeypatch)

    index = docs.build_docs(config_file)

    [call] = calls
    assert call["args"] == ["docs", "generate", "--static"]
    assert call["file"] != config.warehouse_path
    assert call["file"].parent == config.state_dir
    assert call["tables"] == ["funnel_entities"]  # the catalog's columns come from the copy
    assert call["env"] == {"DBT_TARGET_PATH": str(cli_target_dir() / "docs")}
    assert index == cli_target_dir() / "docs" / "static_index.html"
    assert config.warehouse_path.read_bytes() == published
    assert not call["file"].exists()  # the copy is removed


def test_without_a_warehouse_dbt_documents_the_models_against_an_empty_file(site, monkeypatch):
    config, config_file = site
    calls = stand_in_dbt(monkeypatch)
    docs.build_docs(config_file)
    [call] = calls
    assert call["tables"] == []
    assert not config.warehouse_path.exists()
    assert not call["file"].exists()
