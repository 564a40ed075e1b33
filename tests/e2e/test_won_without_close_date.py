"""A won deal with no close date counts as won. A lead list (a generic deals table whose
stage `Won` is its outcome, no close-date column mapped) reached the won stage with none
of its won deals: the funnel printed 0 sales, and revenue counted none. Expected counts
are read off the file written here, not computed by the pipeline."""

from __future__ import annotations

import duckdb
import pytest

from tests.reliability.tiny_project import built_project, deals


@pytest.mark.parametrize("zone", ["Europe/Moscow", "America/New_York"])
def test_a_lead_lists_won_deals_reach_the_won_stage_without_a_close_date(tmp_path, zone) -> None:
    rows = deals(1, 20) + deals(2, 10)  # Deal, Created, Stage, Owner, Phone: no close date
    won = {(created[:7], deal_id) for deal_id, created, stage, *_ in rows if stage == "Won"}
    config = built_project(tmp_path, "deals_2025-03-01_0600.csv", rows, zone)

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        cohort = con.execute(
            "select strftime(month, '%Y-%m'), entities from marts.funnel_stage_monthly "
            "where view = 'cohort' and segment_type = 'total' and stage_key = 'won' "
            "order by month"
        ).fetchall()
        revenue = con.execute(
            "select strftime(month, '%Y-%m'), won_deals from marts.revenue_monthly "
            "where segment_type = 'total' and won_deals > 0"
        ).fetchall()
    expected = {}
    for month, _ in won:
        expected[month] = expected.get(month, 0) + 1
    assert {month: n for month, n in cohort if n} == expected
    assert sum(expected.values()) == 15
    # revenue: in the month of the export that first showed them won (1 March 06:00 local)
    assert revenue == [("2025-03", 15)]
