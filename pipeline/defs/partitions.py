"""The one monthly partitions definition, in the business time zone of the config."""

import dagster as dg

from pipeline.config import Config

# Months before this hold no data for any export Voronka has met; reports start here.
PARTITIONS_START = "2024-01-01"


def monthly_partitions(config: Config) -> dg.MonthlyPartitionsDefinition:
    return dg.MonthlyPartitionsDefinition(
        start_date=PARTITIONS_START, timezone=config.timezone, end_offset=0
    )
