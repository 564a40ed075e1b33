"""A month filter on the calls opens only that month's landing folder.

The per-call models of an incremental build read the calls from their boundary month on,
through stg_landing__calls' call_month (macros/incremental.sql `partition_month`). A
filter DuckDB cannot evaluate on the folder names is applied to every file's rows instead:
each such read of a full-scale landing went through all ten million calls to keep one
month's. Here the demo's landing is copied with an unreadable file in its first month
folder: a read of the later months must not open it, and must count what the later
folders hold (counted here with polars, file by file, not by the models)."""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import polars as pl
import pytest


def _copy_with_broken_first_month(landing_calls: Path, target: Path) -> tuple[str, list[Path]]:
    """The calls' month folders copied to `target`, a file that is not parquet put into
    the first: (the first month, 'YYYY-MM'; the later month folders)."""
    shutil.copytree(landing_calls, target)
    folders = sorted(path for path in target.glob("month=*") if path.name[6:7].isdigit())
    (folders[0] / "part-broken-00000.parquet").write_bytes(b"not parquet")
    return folders[0].name.removeprefix("month="), folders[1:]


def _distinct_calls(folders: list[Path]) -> int:
    """The calls of `folders` as stg_landing__calls keeps them: one per source, call id
    and month folder (of copies of a call in one month, one is kept)."""
    return sum(
        pl.scan_parquet(folder / "*.parquet").select("source", "call_id").unique().collect().height
        for folder in folders
    )


def _repoint_landing_calls(con: duckdb.DuckDBPyConnection, old: Path, new: Path) -> None:
    """Make the warehouse's view over the landing calls read `new` instead of `old`."""
    sql = con.execute(
        "select sql from duckdb_views() where schema_name = 'landing' and view_name = 'calls'"
    ).fetchall()[0][0]
    folder = next(str(path) for path in (old, old.resolve()) if str(path) in sql)
    con.execute(sql.replace(folder, str(new)).replace("CREATE VIEW", "CREATE OR REPLACE VIEW"))


def test_month_filter_on_calls_reads_only_its_folders(demo_run, tmp_path) -> None:
    config = demo_run.config
    calls_folder = config.landing_dir / "calls"
    first, later_folders = _copy_with_broken_first_month(calls_folder, tmp_path / "calls")
    warehouse = tmp_path / "w.duckdb"
    shutil.copyfile(config.warehouse_path, warehouse)
    later_calls = _distinct_calls(later_folders)
    assert later_calls > 0

    with duckdb.connect(str(warehouse)) as con:
        _repoint_landing_calls(con, calls_folder, tmp_path / "calls")
        # The boundary as the models write it: a literal (macros/incremental.sql).
        boundary = f"cast('{first}-01' as date)"
        # The broken file is read when its month is: the copy is what the filter avoids.
        with pytest.raises(duckdb.Error):
            con.execute(
                f"select count(*) from staging.stg_landing__calls where call_month = {boundary}"
            ).fetchall()
        counted = con.execute(
            f"select count(*) from staging.stg_landing__calls where call_month > {boundary}"
        ).fetchall()[0][0]
    assert counted == later_calls
