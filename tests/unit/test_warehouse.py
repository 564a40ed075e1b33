"""The warehouse is published only when a build succeeds; a build starts from a copy of
the published file."""

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.build_file import wait_for_build_file
from pipeline.build_settings import (
    BLOCK_ALLOCATOR_ENV,
    DBT_THREADS_ENV,
    MEMORY_LIMIT_ENV,
    TEMP_DIR_ENV,
    THREADS_ENV,
    duckdb_resources,
    duckdb_settings,
)
from pipeline.config import load_config
from pipeline.paths import DBT_PROJECT_DIR, REPO_ROOT
from pipeline.warehouse import build_copy, dbt_vars


def build(published: Path, content: bytes) -> bytes:
    """One successful build writing `content`; what the build file held when it started."""
    with build_copy(published) as build_file:
        wait_for_build_file(build_file.path)  # as dbt's connection does
        started_with = build_file.path.read_bytes() if build_file.path.exists() else b""
        build_file.path.write_bytes(content)
    return started_with


def test_failed_build_leaves_the_published_warehouse_untouched(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"published")
    with pytest.raises(RuntimeError), build_copy(published) as build_file:
        wait_for_build_file(build_file.path)
        build_file.path.write_bytes(b"half-built")
        raise RuntimeError("dbt test failed")
    assert published.read_bytes() == b"published"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_successful_build_replaces_the_published_warehouse(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"old")
    assert build(published, b"new") == b"old", "the build starts from a copy"
    assert published.read_bytes() == b"new"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_the_generation_earlier_versions_kept_is_removed(tmp_path):
    published = tmp_path / "warehouse.duckdb"
    published.write_bytes(b"gen 2")
    for name in ("warehouse.previous.duckdb", "warehouse.previous.duckdb.wal"):
        (tmp_path / name).write_bytes(b"gen 1")
    assert build(published, b"gen 3") == b"gen 2"
    assert sorted(path.name for path in tmp_path.iterdir()) == ["warehouse.duckdb"]


def test_a_reader_of_the_published_warehouse_keeps_reading_it_through_a_build(tmp_path):
    """A reader that opened the warehouse before the swap reads the file it opened (the
    published name moves to the new file); the build does not write under it."""
    published = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(published)) as con:
        con.execute("create table t as select 1 as generation")
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(published)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert reader.stdout.readline().strip() == "1"
        with build_copy(published) as build_file:
            wait_for_build_file(build_file.path)
            with duckdb.connect(str(build_file.path)) as con:
                assert con.execute("select generation from t").fetchone() == (1,)
                con.execute("update t set generation = 2")
        with duckdb.connect(str(published), read_only=True) as con:
            assert con.execute("select generation from t").fetchone() == (2,)
        reader.stdin.write("again\n")
        reader.stdin.flush()
        assert reader.stdout.readline().strip() == "1", "the reader reads the file it opened"
    finally:
        reader.kill()
        reader.wait()


READER = """
import sys, duckdb
con = duckdb.connect(sys.argv[1], read_only=True)
print(con.execute("select generation from t").fetchone()[0], flush=True)
sys.stdin.readline()
print(con.execute("select generation from t").fetchone()[0], flush=True)
"""


def test_dbt_vars_come_from_the_config():
    config = load_config(REPO_ROOT / "voronka.yaml")
    assert dbt_vars(config) == {"timezone": "Europe/Moscow"}


@pytest.mark.parametrize(
    ("memory_mb", "limit"),
    [(24_000, "3072MB"), (8_000, "2000MB"), (2_000, "1024MB")],
)
def test_duckdb_takes_a_quarter_of_the_memory_within_one_to_four_gb(tmp_path, memory_mb, limit):
    settings = duckdb_settings(memory_mb, 2, tmp_path / "warehouse.build.duckdb")
    assert settings == {
        MEMORY_LIMIT_ENV: limit,
        THREADS_ENV: "2",
        DBT_THREADS_ENV: "2",
        TEMP_DIR_ENV: "duckdb-spill",  # beside the warehouse (build_file_plugin)
    }


@pytest.mark.parametrize(("cpus", "dbt_threads"), [(1, "1"), (2, "2"), (8, "2")])
def test_dbt_builds_two_models_side_by_side_with_two_cpus_or_more(tmp_path, cpus, dbt_threads):
    settings = duckdb_settings(24_000, cpus, tmp_path / "warehouse.duckdb")
    assert settings[DBT_THREADS_ENV] == dbt_threads
    assert settings[THREADS_ENV] == str(cpus)


def test_a_setting_in_the_environment_wins_over_the_machine(tmp_path, monkeypatch):
    monkeypatch.setenv(MEMORY_LIMIT_ENV, "700MB")
    monkeypatch.delenv(THREADS_ENV, raising=False)
    monkeypatch.delenv(BLOCK_ALLOCATOR_ENV, raising=False)
    resources = duckdb_resources(tmp_path / "warehouse.duckdb")
    assert resources[MEMORY_LIMIT_ENV] == "700MB"
    assert int(resources[THREADS_ENV]) >= 1
    assert resources[BLOCK_ALLOCATOR_ENV] == "700MB", "the kept memory follows the memory_limit"
    monkeypatch.setenv(BLOCK_ALLOCATOR_ENV, "0")
    assert duckdb_resources(tmp_path / "warehouse.duckdb")[BLOCK_ALLOCATOR_ENV] == "0"


def test_duckdb_keeps_freed_memory_up_to_the_memory_limit(tmp_path, monkeypatch):
    """The build's DuckDB keeps as much freed buffer memory as its memory_limit; DuckDB
    takes the value as the pipeline writes it."""
    monkeypatch.delenv(MEMORY_LIMIT_ENV, raising=False)
    monkeypatch.delenv(BLOCK_ALLOCATOR_ENV, raising=False)
    resources = duckdb_resources(tmp_path / "warehouse.duckdb")
    assert resources[BLOCK_ALLOCATOR_ENV] == resources[MEMORY_LIMIT_ENV]
    config = {"block_allocator_memory": "1024MB", "memory_limit": "1024MB"}
    with duckdb.connect(config=config) as con:
        kept = con.execute("select current_setting('block_allocator_memory')").fetchone()[0]
    assert kept == "976.5 MiB"  # DuckDB's MB is 10**6 bytes, as for memory_limit


def test_the_profile_reads_the_three_settings():
    """memory_limit and threads per cursor (dbt-duckdb's `settings`); the spill folder once,
    when the database opens (`config_options`): DuckDB refuses to switch the temporary
    directory once it has spilled, so setting it again on the next cursor failed every
    build that spilled."""
    profile = yaml.safe_load((DBT_PROJECT_DIR / "profiles.yml").read_text(encoding="utf-8"))
    duckdb_output = profile["voronka"]["outputs"]["duckdb"]
    settings, opened_with = duckdb_output["settings"], duckdb_output["config_options"]
    assert f"env_var('{MEMORY_LIMIT_ENV}'" in settings["memory_limit"]
    assert f"env_var('{THREADS_ENV}'" in settings["threads"]
    assert f"env_var('{DBT_THREADS_ENV}'" in duckdb_output["threads"]
    assert f"env_var('{TEMP_DIR_ENV}'" in opened_with["temp_directory"]
    assert f"env_var('{BLOCK_ALLOCATOR_ENV}'" in opened_with["block_allocator_memory"]
    assert "temp_directory" not in settings


def test_duckdb_refuses_to_switch_its_spill_folder_once_used(tmp_path):
    """Why the spill folder is not a per-cursor setting (the profile test above)."""
    spill = tmp_path / "spill"
    options = {"temp_directory": str(spill), "memory_limit": "100MB", "threads": "1"}
    with duckdb.connect(config=options) as con:
        con.execute(
            "create table t as select range as k, repeat('x', 40) || range::varchar as s "
            "from range(4000000)"
        )
        assert any(spill.iterdir()), "the table spilled"
        with pytest.raises(duckdb.Error, match="temporary directory"):
            con.execute(f"set temp_directory = '{spill}'")


def test_a_run_with_no_new_crm_file_leaves_out_the_models_of_crm_and_config_alone():
    import datetime as dt

    from pipeline.incremental import CRM_AND_CONFIG_TAG, RebuildPlan
    from pipeline.warehouse import build_command

    months = {"b2b": dt.date(2026, 10, 1)}
    calls_alone = RebuildPlan(False, "1 new file(s)", "f", months, months, months,
                              dt.date(2026, 9, 1), (), crm_unchanged=True)  # fmt: skip
    with_crm = RebuildPlan(False, "3 new file(s)", "f", months, months, months,
                           dt.date(2026, 9, 1), ("a",), crm_unchanged=False)  # fmt: skip
    full = RebuildPlan(True, "no previous build", "f", crm_unchanged=True)

    exclusion = ["--exclude", f"tag:{CRM_AND_CONFIG_TAG}"]
    command = build_command(calls_alone)
    at = command.index("--exclude", command.index("unit_test"))
    assert command[at : at + 2] == exclusion
    # Cautious: a test with a parent that runs runs too.
    assert command[command.index("--indirect-selection") + 1] == "cautious"
    assert calls_alone.left_out == CRM_AND_CONFIG_TAG
    assert with_crm.left_out is None and "tag:" not in " ".join(build_command(with_crm))
    assert full.left_out is None and build_command(full).count("--full-refresh") == 1
    assert "tag:" not in " ".join(build_command(full))
    # A selection keeps the exclusion: the tagged tables are as the previous build left them.
    selected = build_command(calls_alone, ["funnel_entities+"])
    assert selected[:3] == ["build", "--select", "funnel_entities+"]
    assert f"tag:{CRM_AND_CONFIG_TAG}" in selected
    # A selection that matches no node fails the build (dbt warned, and it reported done).
    errors = selected[selected.index("--warn-error-options") + 1]
    assert json.loads(errors) == {"error": ["NoNodesForSelectionCriteria"]}
    assert "--warn-error-options" not in build_command(calls_alone)
