"""The incremental plan's reading of landing (pipeline/incremental_changes.py): which old
parts can hold a new file's rows, and the ranking of a deal's exports as one number."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import duckdb

from pipeline import io
from pipeline.incremental_changes import RANK_KEY, split_parts


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch()
    return path


def test_split_parts_keeps_the_old_parts_of_the_new_files_month_folders(tmp_path) -> None:
    calls = tmp_path / "calls"
    old_sep = _touch(calls / "month=2026-09" / "part-old1-00000.parquet")
    _touch(calls / "month=2026-08" / "part-old1-00001.parquet")
    old_oct = _touch(calls / "month=2026-10" / "part-old2.parquet")
    flat = _touch(calls / "part-old3.parquet")  # the old flat layout: any month
    new_sep = _touch(calls / "month=2026-09" / "part-new-00000.parquet")
    new_oct = _touch(calls / "month=2026-10" / "part-new-00001.parquet")
    parts = io.table_parts(tmp_path, "calls")

    new_parts, old_parts = split_parts(tmp_path, "calls", parts, {"new"})

    assert sorted(new_parts) == sorted([new_sep, new_oct])
    assert sorted(old_parts) == sorted([old_sep, old_oct, flat])


def test_split_parts_reads_every_old_part_for_a_new_flat_part(tmp_path) -> None:
    calls = tmp_path / "calls"
    old = [
        _touch(calls / "month=2026-08" / "part-old1.parquet"),
        _touch(calls / "month=2026-09" / "part-old2.parquet"),
    ]
    new = _touch(calls / "part-new.parquet")

    new_parts, old_parts = split_parts(
        tmp_path, "calls", io.table_parts(tmp_path, "calls"), {"new"}
    )

    assert new_parts == [new]
    assert sorted(old_parts) == sorted(old)


def test_rank_key_orders_exports_as_the_pair_of_snapshot_and_file_rank() -> None:
    snapshots = [
        None,
        dt.datetime(1969, 12, 31, 23, 59, 59, 999999),
        dt.datetime(2026, 11, 1, 6, 0),
        dt.datetime(2026, 11, 1, 6, 0, 0, 1),
        dt.datetime(2262, 4, 11),
    ]
    ranks = [1, 2, 7, 2**32 - 1]
    rows = [(s, r) for s in snapshots for r in ranks]
    key = RANK_KEY.format(snapshot="snapshot_at", file_rank="file_rank")
    with duckdb.connect() as con:
        con.execute("create table exports (snapshot_at timestamp, file_rank bigint)")
        con.executemany("insert into exports values (?, ?)", rows)
        by_key = con.execute(
            f"select snapshot_at, file_rank from exports order by {key}"
        ).fetchall()
        by_pair = con.execute(
            "select snapshot_at, file_rank from exports order by (snapshot_at, file_rank)"
        ).fetchall()
        arg_max = con.execute(
            f"select arg_max(file_rank, {key}), arg_max(file_rank, (snapshot_at, file_rank)) "
            "from exports where file_rank < 7"
        ).fetchone()
    assert by_key == by_pair
    assert by_key[-1] == (None, 2**32 - 1)  # a NULL snapshot ranks latest, as in a pair
    assert arg_max == (2, 2)
