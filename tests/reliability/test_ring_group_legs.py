"""A ring group's legs: Asterisk logs one cdr line per agent it rang, all under the call's
`uniqueid`, so one file holds copies of a call id that differ (the agent, the
disposition, the talk time). Every build keeps the same copy, and the call counts as
answered when any leg was (stg_landing__call_copies), whatever order the legs come in.
Expected values are read off the lines below, not computed by the pipeline."""

from __future__ import annotations

import duckdb
import pytest

from pipeline.warehouse import build_warehouse
from tests.reliability.inbox_cases import cdr, ingest, make_project, put

START = "2025-02-03 10:00:00"


def unanswered_leg(number: int, extension: str, start: str = START) -> str:
    """The leg that rang `extension` and was not picked up (no answer time, no talk)."""
    src = f"8916{number:07d}"
    return (
        f'"","{src}","{extension}","from-trunk","""Client"" <{src}>","SIP/trunk-{number:08x}",'
        f'"SIP/{extension}-{number:08x}","Dial","SIP/{extension}","{start}","","{start}",'
        f'20,0,"NO ANSWER","DOCUMENTATION","call{number}.1"'
    )


@pytest.mark.parametrize(
    ("answered_first", "zone"),
    [(True, "Europe/Moscow"), (False, "America/New_York")],
    ids=["answered-first", "answered-last"],
)
def test_a_ring_groups_legs_are_one_answered_call(tmp_path, answered_first: bool, zone: str):
    config = make_project(tmp_path, zone=zone)
    legs = [cdr(1, START, talk=60), unanswered_leg(1, "102")]  # ext 101 is Anna Smirnova
    if not answered_first:
        legs.reverse()
    others = [cdr(n, f"2025-02-{n:02d} 12:00:00") for n in range(2, 6)]
    missed_call = unanswered_leg(9, "101", "2025-02-09 12:00:00")  # one leg, never called back
    put(config, "pbx/Master.csv", "\n".join([*legs, *others, missed_call]) + "\n")
    summary = ingest(config)
    assert summary.rows_accepted == 7 and summary.rows_rejected == 0
    build_warehouse(config)

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        call = con.execute(
            "select disposition, talk_s, manager from staging.stg_landing__calls "
            "where call_id = 'call1.1'"
        ).fetchall()
        calls = con.execute("select count(*) from staging.stg_landing__calls").fetchone()
        missed = con.execute(
            "select call_id from intermediate.int_calls_missed_classified"
        ).fetchall()
    assert call == [("answered", 60, "Anna Smirnova")]
    assert calls == (6,)
    assert missed == [("call9.1",)]
