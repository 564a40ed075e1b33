"""An export of years past, alone in its project (issue 12 item 4): the report is for its
own last complete month and the months end with the data — never with the clock."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from tests.acceptance import hand_count
from tests.acceptance.conftest import write_project
from tests.acceptance.shapes import SHAPES

ZONE = "America/New_York"


@pytest.fixture(scope="module")
def old_export(tmp_path_factory):
    project = write_project(tmp_path_factory.mktemp("historical"), ZONE, [SHAPES["amo_single"]])
    assert project.run("ingest") == 0, project.log("ingest")
    assert project.run("build") == 0, project.log("build")
    return project


def test_a_historical_export_reports_its_own_last_month_with_no_months_after_it(old_export):
    latest = max(hand_count.read_shape("amo_single", ZONE).times)  # the file's latest time
    local = latest.astimezone(ZoneInfo(ZONE))
    assert local.year < 2021  # the corpus file is from 2019-2020
    last_month = dt.date(local.year, local.month, 1)
    expected_report = (last_month - dt.timedelta(days=1)).replace(day=1)

    [(cutoff_at, last_complete)] = old_export.query(
        "select cutoff_at, last_complete_month from marts.data_cutoff"
    )
    assert cutoff_at.replace(tzinfo=dt.UTC) == latest
    assert last_complete == expected_report
    [(first, last)] = old_export.query(
        "select min(month), max(month) from marts.funnel_stage_monthly "
        "where funnel_id = 'amo_single'"
    )
    assert last == last_month  # no empty months up to today
    assert first.year == 2019

    assert old_export.run("report") == 0, old_export.log("report")
    month = f"{expected_report:%Y-%m}"
    assert f"voronka_amo_single_{month}_" in old_export.output["report"]
    # The report month has prospects: the single export counts by creation month.
    [(entries,)] = old_export.query(
        "select entities from marts.funnel_stage_monthly where funnel_id = 'amo_single' "
        "and view = 'period' and segment_type = 'total' and stage_order = 1 and month = ?",
        [expected_report],
    )
    assert entries > 0
    # And it says the stage times are unknown (one export, no history).
    assert "stage times unknown" in old_export.output["report"]
