"""The monthly job and its schedule: on the configured day, report the month just ended."""

import dagster as dg

from pipeline.config import Config


def monthly_job(partitions: dg.PartitionsDefinition):
    return dg.define_asset_job(
        "monthly_funnel_report",
        selection=dg.AssetSelection.all(),
        partitions_def=partitions,
        description="Ingest the inbox, build the warehouse, render the month's reports.",
    )


def monthly_schedule(job, config: Config):
    return dg.build_schedule_from_partitioned_job(
        job, day_of_month=config.schedule.day, hour_of_day=config.schedule.hour
    )
