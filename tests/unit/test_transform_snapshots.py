"""snapshot_at: the date (and time) in the file name, local; else the file's mtime."""

from __future__ import annotations

import datetime as dt

from pipeline.transform.snapshots import snapshot_at, snapshot_from_name


def test_date_in_name_is_local_midnight_of_that_day() -> None:
    assert snapshot_from_name("deals_2026-11-01.csv", "Europe/Moscow") == dt.datetime(
        2026, 10, 31, 21, 0, tzinfo=dt.UTC
    )
    assert snapshot_from_name("deals20261101.csv", "UTC") == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_time_in_name_is_used_when_present() -> None:
    assert snapshot_from_name("deals_2026-11-01_1430.csv", "UTC") == dt.datetime(
        2026, 11, 1, 14, 30, tzinfo=dt.UTC
    )


def test_no_date_in_name_falls_back_to_mtime() -> None:
    assert snapshot_from_name("deals.csv", "UTC") is None
    assert snapshot_at("deals.csv", "UTC", 0.0) == dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
