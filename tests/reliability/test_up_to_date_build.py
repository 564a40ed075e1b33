"""Issue 15, "a new month costs a new month": a build with nothing new since the published
warehouse (a repeated `voronka run`, a scheduled run with no new export) ran the whole
`dbt build` again, recomputing the last delivery's months for the same tables. It runs
nothing now; anything that changes the tables (a new file, a removed one, a file ingest
recorded without loading it, other models or config, a partial build by hand) still
builds."""

from __future__ import annotations

import duckdb
import pytest

from pipeline import warehouse
from pipeline.built_state import is_up_to_date
from pipeline.ingest import IngestError, ingest_inbox
from pipeline.warehouse import UP_TO_DATE, build_warehouse
from tests.reliability.tiny_project import deals, put_deals, write_project


def entities(config) -> int:
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        [(count,)] = con.execute(
            "select count(distinct entity_id) from marts.funnel_entities"
        ).fetchall()
    return count


def test_a_build_with_nothing_new_runs_no_dbt_and_a_new_file_builds_again(
    tmp_path, monkeypatch
) -> None:
    config = write_project(tmp_path)
    assert not is_up_to_date(config, config.warehouse_path)  # nothing built yet
    put_deals(config, "deals_2025-03-01_0600.csv", deals(1, 20))
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    assert is_up_to_date(config, config.warehouse_path)
    published = config.warehouse_path.stat()

    dbt_runs: list[list[str]] = []
    run_dbt = warehouse.run_dbt

    def counted(config, args, *rest, **kwargs):
        dbt_runs.append(list(args))
        return run_dbt(config, args, *rest, **kwargs)

    monkeypatch.setattr(warehouse, "run_dbt", counted)
    progress: list[str] = []
    result = build_warehouse(config, progress=progress.append)
    assert dbt_runs == [] and progress == [UP_TO_DATE]
    assert result.warehouse == config.warehouse_path
    after = config.warehouse_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (published.st_ino, published.st_mtime_ns)

    # Other config: the tables would differ, so it is not up to date (its build would be
    # whole: the fingerprint changed).
    moved = config.model_copy(update={"timezone": "America/New_York"})
    assert not is_up_to_date(moved, config.warehouse_path)

    # A partial build by hand runs dbt whatever the state.
    build_warehouse(config, select=["build_state"])
    assert len(dbt_runs) == 1

    # A new file: built, incrementally, with the new deals counted.
    put_deals(config, "deals_2025-04-01_0600.csv", deals(1, 20) + deals(2, 20))
    ingest_inbox(config, settle_seconds=0)
    assert not is_up_to_date(config, config.warehouse_path)
    progress.clear()
    build_warehouse(config, progress=progress.append)
    assert len(dbt_runs) == 2
    assert any(line.startswith("incremental:") for line in progress), progress
    assert entities(config) == 40
    assert is_up_to_date(config, config.warehouse_path)


def data_files(config) -> list[tuple[str, str]]:
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        return con.execute("select path, status from marts.data_files order by path").fetchall()


def test_a_duplicate_or_failed_file_builds_again_to_show_it(tmp_path) -> None:
    """A file ingest did not load (the same bytes again, an unreadable export) loads no row,
    but data_files and data_quality show it: the warehouse is not up to date, and its build
    (no month recomputed) adds the file's row, as a full rebuild of the same landing does."""
    config = write_project(tmp_path)
    first = put_deals(config, "deals_2025-03-01_0600.csv", deals(1, 20))
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    assert is_up_to_date(config, config.warehouse_path)

    copy = first.with_name("deals_2025-03-01_0600 (1).csv")
    copy.write_bytes(first.read_bytes())
    ingest_inbox(config, settle_seconds=0)
    assert not is_up_to_date(config, config.warehouse_path)
    progress: list[str] = []
    build_warehouse(config, progress=progress.append)
    assert any("the file ledger has new rows" in line for line in progress), progress
    assert data_files(config) == [
        ("crm/deals_2025-03-01_0600 (1).csv", "duplicate"),
        ("crm/deals_2025-03-01_0600.csv", "loaded"),
    ]
    assert is_up_to_date(config, config.warehouse_path)

    (config.inbox_dir / "crm" / "deals_2025-04-01_0600.csv").write_text('Deal,Created\n"x\n')
    with pytest.raises(IngestError, match=r"deals_2025-04-01_0600\.csv: failed"):
        ingest_inbox(config, settle_seconds=0)
    assert not is_up_to_date(config, config.warehouse_path)
    build_warehouse(config)
    assert ("crm/deals_2025-04-01_0600.csv", "failed") in data_files(config)
    assert is_up_to_date(config, config.warehouse_path)
    # Left in the inbox, it is read again and fails again: nothing a mart shows changed.
    with pytest.raises(IngestError):
        ingest_inbox(config, settle_seconds=0)
    assert is_up_to_date(config, config.warehouse_path)


def test_a_published_file_duckdb_cannot_read_is_not_up_to_date(tmp_path) -> None:
    config = write_project(tmp_path)
    config.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    config.warehouse_path.write_text("not a database")
    assert not is_up_to_date(config, config.warehouse_path)


def test_an_edited_data_test_or_another_engine_changes_the_build_fingerprint(
    tmp_path, monkeypatch
) -> None:
    """A data test edited since the build, or another DuckDB or dbt: the next build runs (and
    is whole), as for an edited model. The fingerprint is read from a copy of the dbt
    project."""
    import shutil

    from pipeline import built_state
    from pipeline.paths import DBT_PROJECT_DIR

    config = write_project(tmp_path / "site")
    project = tmp_path / "dbt_project"
    for name in built_state.FINGERPRINT_SOURCES:
        source = DBT_PROJECT_DIR / name
        if source.is_dir():
            shutil.copytree(source, project / name)
        else:
            shutil.copy2(source, project / name)
    monkeypatch.setattr(built_state, "DBT_PROJECT_DIR", project)
    before = built_state.build_fingerprint(config)
    test = project / "tests" / "generic" / "unique_combination.sql"
    test.write_text(test.read_text() + "\n-- edited\n")
    edited = built_state.build_fingerprint(config)
    assert edited != before
    # Another DuckDB (or dbt) computes the tables: not the same build either.
    duckdb_version, *dbt_versions = built_state.ENGINE_VERSIONS
    monkeypatch.setattr(built_state, "ENGINE_VERSIONS", (duckdb_version + ".1", *dbt_versions))
    assert built_state.build_fingerprint(config) != edited
