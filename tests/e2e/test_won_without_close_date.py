"""A won deal with no close date counts as won. A lead list (a generic deals table whose
stage `Won` is its outcome, no close-date column mapped) reached the won stage with none
of its won deals: the funnel printed 0 sales. Expected counts are read off the file
written here, not computed by the pipeline."""

from __future__ import annotations

import duckdb

from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.reliability.tiny_project import deals, put_deals, write_project


def test_a_lead_lists_won_deals_reach_the_won_stage_without_a_close_date(tmp_path) -> None:
    config = write_project(tmp_path)  # columns: Deal, Created, Stage, Owner, Phone
    rows = deals(1, 20) + deals(2, 10)
    won = {(created[:7], deal_id) for deal_id, created, stage, *_ in rows if stage == "Won"}
    put_deals(config, "deals_2025-03-01_0600.csv", rows)
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        cohort = con.execute(
            "select strftime(month, '%Y-%m'), entities from marts.funnel_stage_monthly "
            "where view = 'cohort' and segment_type = 'total' and stage_key = 'won' "
            "order by month"
        ).fetchall()
    expected = {}
    for month, _ in won:
        expected[month] = expected.get(month, 0) + 1
    assert {month: n for month, n in cohort if n} == expected
    assert sum(expected.values()) == 15
