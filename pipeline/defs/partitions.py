"""The one monthly partitions definition, in the business time zone of the config.

The assets that are about a month share it: the reports (one PDF set per month) and the
landing tables (a month's materialization carries that month's source-coverage check).
The config tables and the dbt assets are not partitioned: they hold the whole warehouse.
"""

from __future__ import annotations

import dagster as dg

from pipeline.config import Config

# Months before this hold no data for any export Voronka has met; reports start here.
PARTITIONS_START = "2024-01-01"


def monthly_partitions(config: Config) -> dg.MonthlyPartitionsDefinition:
    # end_offset=0: the newest partition is the last *complete* month in the config's zone.
    return dg.MonthlyPartitionsDefinition(
        start_date=PARTITIONS_START, timezone=config.timezone, end_offset=0
    )


def month_of(partition_key: str) -> str:
    """'2026-10-01' → '2026-10' (the reports' month argument)."""
    return partition_key[:7]
