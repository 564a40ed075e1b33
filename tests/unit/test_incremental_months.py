"""The incremental plan's months (pipeline/incremental.py): a moment's cohort month is its
month in the config's zone, which differs from its UTC month in the hours a zone puts
on the other side of midnight, and is the month the models give it (macros/time.sql)."""

from __future__ import annotations

import datetime as dt

import duckdb
import pytest

from pipeline.incremental import local_month


@pytest.mark.parametrize(
    ("utc", "zone", "month"),
    [
        # Moscow (UTC+3): 21:00 UTC on 30 September is 1 October, 00:00.
        (dt.datetime(2026, 9, 30, 21, 0), "Europe/Moscow", dt.date(2026, 10, 1)),
        (dt.datetime(2026, 9, 30, 20, 59), "Europe/Moscow", dt.date(2026, 9, 1)),
        # New York (UTC-4 in October): 02:00 UTC on 1 October is 30 September, 22:00.
        (dt.datetime(2026, 10, 1, 2, 0), "America/New_York", dt.date(2026, 9, 1)),
        (dt.datetime(2026, 10, 1, 4, 0), "America/New_York", dt.date(2026, 10, 1)),
        # Winter time there (UTC-5): 04:30 UTC on 1 December is still 30 November.
        (dt.datetime(2026, 12, 1, 4, 30), "America/New_York", dt.date(2026, 11, 1)),
        (dt.datetime(2026, 12, 31, 23, 59), "UTC", dt.date(2026, 12, 1)),
        # Kiritimati (UTC+14): a year's last UTC morning is already the next year.
        (dt.datetime(2026, 12, 31, 10, 0), "Pacific/Kiritimati", dt.date(2027, 1, 1)),
    ],
)
def test_local_month_is_the_month_the_zones_clock_shows(utc, zone, month) -> None:
    with duckdb.connect() as con:
        for session_zone in ("UTC", "Asia/Tokyo"):  # whatever the connection's own zone
            con.execute(f"set TimeZone = '{session_zone}'")
            assert local_month(con, utc, zone) == month
