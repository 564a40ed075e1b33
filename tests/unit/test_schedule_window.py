"""The partition window → dbt vars function (pure): local dates and exact UTC instants."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pipeline.defs.partitions import month_of, report_window_vars

BERLIN = ZoneInfo("Europe/Berlin")
MOSCOW = ZoneInfo("Europe/Moscow")


def test_a_month_in_moscow_becomes_local_dates_and_utc_instants():
    start = dt.datetime(2026, 10, 1, tzinfo=MOSCOW)
    end = dt.datetime(2026, 11, 1, tzinfo=MOSCOW)
    assert report_window_vars(start, end) == {
        "report_month_start": "2026-10-01",
        "report_month_end": "2026-11-01",
        "report_window_start_utc": "2026-09-30T21:00:00Z",
        "report_window_end_utc": "2026-10-31T21:00:00Z",
    }


def test_a_dst_month_keeps_its_exact_length_in_utc():
    # Berlin moves to summer time on 2026-03-29: March is 743 hours long.
    variables = report_window_vars(
        dt.datetime(2026, 3, 1, tzinfo=BERLIN), dt.datetime(2026, 4, 1, tzinfo=BERLIN)
    )
    assert variables["report_window_start_utc"] == "2026-02-28T23:00:00Z"
    assert variables["report_window_end_utc"] == "2026-03-31T22:00:00Z"
    start = dt.datetime.fromisoformat(variables["report_window_start_utc"])
    end = dt.datetime.fromisoformat(variables["report_window_end_utc"])
    assert end - start == dt.timedelta(hours=743)


def test_a_backfill_range_is_one_window():
    variables = report_window_vars(
        dt.datetime(2024, 11, 1, tzinfo=MOSCOW), dt.datetime(2026, 11, 1, tzinfo=MOSCOW)
    )
    assert (variables["report_month_start"], variables["report_month_end"]) == (
        "2024-11-01",
        "2026-11-01",
    )


def test_a_naive_or_empty_window_is_refused():
    with pytest.raises(ValueError, match="aware"):
        report_window_vars(dt.datetime(2026, 10, 1), dt.datetime(2026, 11, 1))
    moment = dt.datetime(2026, 10, 1, tzinfo=MOSCOW)
    with pytest.raises(ValueError, match="empty"):
        report_window_vars(moment, moment)


def test_the_partition_key_names_the_reported_month():
    assert month_of("2026-10-01") == "2026-10"
