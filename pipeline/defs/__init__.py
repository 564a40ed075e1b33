"""Dagster wiring only: every box of the data flow is an asset built from pure code."""

from pathlib import Path

import dagster as dg

from pipeline.config import load_config
from pipeline.defs.checks import landing_checks
from pipeline.defs.dbt import dbt_resource, voronka_dbt_assets
from pipeline.defs.ingest import ingest_assets
from pipeline.defs.partitions import monthly_partitions
from pipeline.defs.reports import monthly_reports
from pipeline.defs.resources import VoronkaConfig
from pipeline.defs.schedules import inbox_job, monthly_job, monthly_schedule, report_job
from pipeline.defs.sensors import amended_reports_sensor, failure_sensor, inbox_sensor


def build_definitions(config_path: Path) -> dg.Definitions:
    config = load_config(config_path)
    config_file = str(Path(config_path).resolve())
    partitions = monthly_partitions(config)
    monthly, inbox, reports = monthly_job(partitions), inbox_job(partitions), report_job(partitions)
    return dg.Definitions(
        assets=[
            *ingest_assets(partitions),
            voronka_dbt_assets(partitions),
            *monthly_reports(partitions),
        ],
        asset_checks=landing_checks,
        jobs=[monthly, inbox, reports],
        schedules=[monthly_schedule(monthly, config)],
        sensors=[
            inbox_sensor(config_file, inbox, partitions),
            amended_reports_sensor(config_file, reports),
            failure_sensor(config_file),
        ],
        resources={"voronka": VoronkaConfig(config_path=config_file), "dbt": dbt_resource()},
    )
