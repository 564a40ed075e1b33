"""snapshot_at: the date (and time) in the file name, local; else the latest modified-at
value; else the latest time in the rows; never the clock."""

from __future__ import annotations

import datetime as dt

from pipeline.transform.snapshots import (
    FROM_COLUMN,
    FROM_NAME,
    FROM_ROWS,
    RowTimes,
    Snapshot,
    snapshot_from_name,
    snapshot_of_file,
)


def test_date_in_name_is_local_midnight_of_that_day() -> None:
    assert snapshot_from_name("deals_2026-11-01.csv", "Europe/Moscow") == dt.datetime(
        2026, 10, 31, 21, 0, tzinfo=dt.UTC
    )
    assert snapshot_from_name("deals20261101.csv", "UTC") == dt.datetime(2026, 11, 1, tzinfo=dt.UTC)


def test_time_in_name_is_used_when_present() -> None:
    assert snapshot_from_name("deals_2026-11-01_1430.csv", "UTC") == dt.datetime(
        2026, 11, 1, 14, 30, tzinfo=dt.UTC
    )


EDITED = dt.datetime(2019, 6, 30, 15, 0, tzinfo=dt.UTC)
LATEST = dt.datetime(2019, 7, 2, 9, 30, tzinfo=dt.UTC)


def test_no_date_in_name_takes_the_modified_at_column_then_the_latest_row_time() -> None:
    assert snapshot_from_name("deals.csv", "UTC") is None
    both = RowTimes(modified=EDITED, latest=LATEST)
    assert snapshot_of_file("deals.csv", "UTC", both, "Updated") == Snapshot(
        EDITED, FROM_COLUMN, "Updated"
    )
    assert snapshot_of_file("deals.csv", "UTC", RowTimes(latest=LATEST)) == Snapshot(
        LATEST, FROM_ROWS
    )


def test_the_date_in_the_name_wins_over_the_rows() -> None:
    snapshot = snapshot_of_file("deals_2019-07-01.csv", "UTC", RowTimes(EDITED, LATEST))
    assert snapshot == Snapshot(dt.datetime(2019, 7, 1, tzinfo=dt.UTC), FROM_NAME)


def test_batches_merge_to_the_latest_of_each() -> None:
    merged = RowTimes(modified=EDITED).merge(RowTimes(latest=LATEST))
    assert merged == RowTimes(EDITED, LATEST)
    assert RowTimes().merge(RowTimes()) == RowTimes()


def test_describe_says_the_time_in_utc_and_the_rule() -> None:
    at = dt.datetime(2024, 6, 30, 18, 0, tzinfo=dt.UTC)
    assert Snapshot(at, FROM_NAME).describe() == "2024-06-30 18:00 UTC (from the file name)"
    assert (
        Snapshot(at, FROM_COLUMN, "Дата редактирования").describe()
        == "2024-06-30 18:00 UTC (from column 'Дата редактирования')"
    )
    assert Snapshot(at, FROM_ROWS).describe() == "2024-06-30 18:00 UTC (latest date in the rows)"
