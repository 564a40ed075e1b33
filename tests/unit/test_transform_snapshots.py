"""snapshot_at: the date (and time) in the file name, local; else the latest modified-at
value; else the latest time in the rows; never the clock."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.ingest import IngestError, ingest_inbox
from pipeline.transform.snapshots import (
    FROM_COLUMN,
    FROM_NAME,
    FROM_ROWS,
    NameTimeError,
    RowTimes,
    Snapshot,
    snapshot_from_name,
    snapshot_of_file,
)
from tests.unit._fixtures_ingest import CRM_SOURCE, deals_csv, ledger, make_config, put


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


def test_an_id_after_the_date_is_no_time() -> None:
    # Bitrix24 names its export DEAL_<date>_<id>: `1234abcd` is an id, not 12:34.
    assert snapshot_from_name("DEAL_20250131_1234abcd_65f3a1.csv", "UTC") == dt.datetime(
        2025, 1, 31, tzinfo=dt.UTC
    )
    assert snapshot_from_name("deals_20250131_1234.csv", "UTC") == dt.datetime(
        2025, 1, 31, 12, 34, tzinfo=dt.UTC
    )


def test_a_time_in_the_name_that_the_zone_skips_is_refused_as_in_a_row() -> None:
    with pytest.raises(NameTimeError, match="2025-03-09 02:30, does not exist in America/New_York"):
        snapshot_from_name("deals_2025-03-09_0230.csv", "America/New_York")
    # A bare date whose midnight is skipped (Cairo, 25 April 2025) is the day's first instant.
    assert snapshot_from_name("deals_2025-04-25.csv", "Africa/Cairo") == dt.datetime(
        2025, 4, 24, 22, 0, tzinfo=dt.UTC
    )


def test_a_deals_file_named_with_a_skipped_time_fails_saying_so(tmp_path) -> None:
    berlin = CRM_SOURCE.replace("    formats:", "    timezone: Europe/Berlin\n    formats:")
    config = make_config(tmp_path, berlin)
    put(config, "crm/deals_2025-03-30_0230.csv", deals_csv("1;P;A;Петров;1;01.03.2025 10:00;;"))
    with pytest.raises(IngestError, match="does not exist in Europe/Berlin"):
        ingest_inbox(config, settle_seconds=0)
    assert ledger(config).select("status").item() == "failed"
