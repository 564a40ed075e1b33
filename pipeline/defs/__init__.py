"""Dagster wiring only: every box of the data flow is an asset built from pure code."""

from pathlib import Path

import dagster as dg

from pipeline.config import load_config
from pipeline.defs.checks import landing_checks
from pipeline.defs.dbt import dbt_resource, voronka_dbt_assets
from pipeline.defs.ingest import funnel_config_tables, landing_tables
from pipeline.defs.partitions import monthly_partitions
from pipeline.defs.reports import monthly_reports
from pipeline.defs.resources import VoronkaConfig
from pipeline.defs.schedules import monthly_job, monthly_schedule


def build_definitions(config_path: Path) -> dg.Definitions:
    config = load_config(config_path)
    partitions = monthly_partitions(config)
    reports = monthly_reports(partitions)
    job = monthly_job(partitions)
    return dg.Definitions(
        assets=[landing_tables, funnel_config_tables, voronka_dbt_assets, reports],
        asset_checks=landing_checks,
        jobs=[job],
        schedules=[monthly_schedule(job, config)],
        resources={"voronka": VoronkaConfig(config_path=str(config_path)), "dbt": dbt_resource()},
    )
