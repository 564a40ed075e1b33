"""The one monthly partitions definition, in the business time zone of the config.

Every asset of the monthly job shares it. `report_window_vars` turns a partition window
into the dbt `--vars` the models receive (pure; unit-tested in tests/unit/test_schedule_*).
"""

from __future__ import annotations

import datetime as dt

import dagster as dg

from pipeline.config import Config

# Months before this hold no data for any export Voronka has met; reports start here.
PARTITIONS_START = "2024-01-01"


def monthly_partitions(config: Config) -> dg.MonthlyPartitionsDefinition:
    # end_offset=0: the newest partition is the last *complete* month in the config's zone.
    return dg.MonthlyPartitionsDefinition(
        start_date=PARTITIONS_START, timezone=config.timezone, end_offset=0
    )


def report_window_vars(start: dt.datetime, end: dt.datetime) -> dict[str, str]:
    """A run's month window [start, end) (zone-aware, local midnights) as dbt vars.

    Local calendar dates for models that group by local month, and the same instants in
    UTC for models that compare landing timestamps (stored in UTC). Months that cross a
    DST change keep their exact length: March in Berlin is 743 hours long.
    """
    if start.tzinfo is None or end.tzinfo is None:
        raise ValueError("the partition window must be time-zone aware")
    if end <= start:
        raise ValueError(f"empty partition window: {start.isoformat()} … {end.isoformat()}")
    utc = dt.UTC
    return {
        "report_month_start": start.date().isoformat(),
        "report_month_end": end.date().isoformat(),
        "report_window_start_utc": start.astimezone(utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "report_window_end_utc": end.astimezone(utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }


def month_of(partition_key: str) -> str:
    """'2026-10-01' → '2026-10' (the reports' month argument)."""
    return partition_key[:7]
