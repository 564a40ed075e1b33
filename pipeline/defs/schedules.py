"""Jobs and the monthly schedule.

- monthly_funnel_report: the whole graph for one month (ingest → dbt → PDFs → mail); the
  schedule runs it on config.schedule day/hour for the month just ended.
- inbox_refresh: ingest + build (no report), launched by the inbox sensor.
- report_refresh: PDFs + mail of one month, launched when late data amended a report.
All three share the one monthly partitions definition.
"""

import dagster as dg

from pipeline.config import Config
from pipeline.defs.reports import MAIL_KEY, PDF_KEY

REPORT_ASSETS = dg.AssetSelection.assets(PDF_KEY, MAIL_KEY)
SOURCE_COVERAGE_CHECK = dg.AssetCheckKey(
    dg.AssetKey(["landing", "files"]), "every_source_has_data_for_the_month"
)


def monthly_job(partitions: dg.PartitionsDefinition):
    return dg.define_asset_job(
        "monthly_funnel_report",
        selection=dg.AssetSelection.all(),
        partitions_def=partitions,
        description="Ingest the inbox, build the warehouse, render and mail the month's reports.",
    )


def inbox_job(partitions: dg.PartitionsDefinition):
    # A new export mid-month must not fail on "every source has data": the other
    # exports may simply not have arrived yet. The scheduled run checks it.
    return dg.define_asset_job(
        "inbox_refresh",
        selection=(dg.AssetSelection.all() - REPORT_ASSETS)
        - dg.AssetSelection.checks(SOURCE_COVERAGE_CHECK),
        partitions_def=partitions,
        description="New inbox files: ingest them and rebuild the warehouse (checks included).",
    )


def report_job(partitions: dg.PartitionsDefinition):
    return dg.define_asset_job(
        "report_refresh",
        selection=REPORT_ASSETS,
        partitions_def=partitions,
        description="Re-render and re-send one month's reports (late data amended them).",
    )


def monthly_schedule(job, config: Config):
    # The partitions' zone is the schedule's zone; the tick reports the month just ended.
    return dg.build_schedule_from_partitioned_job(
        job,
        day_of_month=config.schedule.day,
        hour_of_day=config.schedule.hour,
        default_status=dg.DefaultScheduleStatus.RUNNING,
    )
