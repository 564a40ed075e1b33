"""The incremental plan's reading of landing (pipeline/incremental_changes.py): which old
parts can hold a new file's rows, the ranking of a deal's exports as one number, and each
export's deal states, kept between plans."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import duckdb

from pipeline import io
from pipeline.incremental_changes import (
    RANK_KEY,
    deal_states_dir,
    register_landing,
    split_parts,
)


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


# --- each export's deal states, kept -----------------------------------------------------

DEAL_ROW = "{id};P;A;Смирнова А.;{amount};01.03.2025 10:00;8916123456{id};Москва"


def _two_exports(tmp_path: Path):
    from pipeline.ingest import ingest_inbox
    from tests.unit._fixtures_ingest import deals_csv, make_config, put

    config = make_config(tmp_path)
    rows = [DEAL_ROW.format(id=i, amount=100 * i) for i in range(1, 4)]
    put(config, "crm/deals_2025-03-01_1000.csv", deals_csv(*rows))
    rows[1] = DEAL_ROW.format(id=2, amount=999)  # deal 2 changed in the second export
    put(config, "crm/deals_2025-04-01_1000.csv", deals_csv(*rows))
    ingest_inbox(config, settle_seconds=0)
    return config


def _deal_states(config, new_files: set[str]) -> list[tuple]:
    with duckdb.connect() as con:
        register_landing(con, config, new_files)
        return con.execute(
            "select source, deal_id, created_at, crm_pipeline, is_new, state, rank_key "
            "from deal_states order by all"
        ).fetchall()


def _fresh_states(config, new_files: set[str]) -> list[tuple]:
    """deal_states computed from landing alone (nothing kept yet)."""
    shutil.rmtree(deal_states_dir(config).parent, ignore_errors=True)
    return _deal_states(config, new_files)


def test_kept_deal_states_are_what_landing_gives(tmp_path) -> None:
    config = _two_exports(tmp_path)
    new = {io.read_ledger(config.landing_dir)["file_id"][-1]}
    fresh = _fresh_states(config, new)
    kept = sorted(deal_states_dir(config).glob("*.parquet"))
    assert len(kept) == 2  # one per export
    assert _deal_states(config, new) == fresh  # read back from what was kept
    assert len(fresh) == 6 and sum(is_new for *_, is_new, _, _ in fresh) == 3
    deal_2 = [state for _, deal, *_, state, _ in fresh if deal == "2"]
    assert len(set(deal_2)) == 2  # its amount changed: another state


def test_a_plan_reads_the_kept_states_and_hashes_only_exports_new_to_it(tmp_path) -> None:
    config = _two_exports(tmp_path)
    new = {io.read_ledger(config.landing_dir)["file_id"][-1]}
    fresh = _fresh_states(config, new)
    kept = sorted(deal_states_dir(config).glob("*.parquet"))
    marked = kept[0]
    duckdb.execute(  # a kept file altered: a plan that read it sees state 0
        f"copy (select * replace (0::ubigint as state) from '{marked}') to '{marked}.x' "
        "(format parquet)"
    )
    Path(f"{marked}.x").replace(marked)
    assert sorted(s for *_, s, _ in _deal_states(config, new)).count(0) == 3

    # The exports' parts written again (landing cleared and loaded again): hashed again.
    for part in io.table_parts(config.landing_dir, "crm_deals"):
        stat = part.stat()
        os.utime(part, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1))
    assert _deal_states(config, new) == fresh
    assert not marked.exists()  # the states of parts since replaced are gone
    assert len(list(deal_states_dir(config).glob("*.parquet"))) == 2


def test_states_kept_under_another_key_are_removed(tmp_path) -> None:
    config = _two_exports(tmp_path)
    other = deal_states_dir(config).parent / "another-duckdb-or-formula"
    other.mkdir(parents=True)
    (other / "old.parquet").write_bytes(b"")
    _deal_states(config, {io.read_ledger(config.landing_dir)["file_id"][-1]})
    assert not other.exists() and deal_states_dir(config).is_dir()


def test_without_crm_exports_the_deal_states_are_empty(tmp_path) -> None:
    from tests.unit._fixtures_ingest import PBX_SOURCE, make_config

    config = make_config(tmp_path, PBX_SOURCE)  # telephony only: no crm_deals parts
    io.ensure_landing(config.landing_dir)
    with duckdb.connect() as con:
        register_landing(con, config, {"a-new-file"})
        assert con.execute("select count(*) from deal_states").fetchone() == (0,)
        columns = [name for name, *_ in con.execute("describe deal_states").fetchall()]
    assert columns == [
        "source", "deal_id", "created_at", "crm_pipeline", "is_new", "state", "rank_key"
    ]  # fmt: skip


def test_when_no_new_file_holds_a_deal_row_no_state_is_read_hashed_or_removed(tmp_path) -> None:
    config = _two_exports(tmp_path)
    _, last = io.read_ledger(config.landing_dir)["file_id"].to_list()
    _fresh_states(config, {last})  # the first export's states are kept, and the last's
    kept = sorted(deal_states_dir(config).glob("*.parquet"))
    kept[0].unlink()  # one export's states are not kept yet
    assert _deal_states(config, {"a-call-log"}) == []  # no deal changed: nothing compared
    assert sorted(deal_states_dir(config).glob("*.parquet")) == kept[1:]
    assert len(_deal_states(config, {last})) == 6  # a new export: every state again
    assert sorted(deal_states_dir(config).glob("*.parquet")) == kept
