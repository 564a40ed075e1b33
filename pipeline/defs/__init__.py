"""Dagster wiring only: every box of the data flow is an asset built from pure code."""

import os
from functools import lru_cache
from pathlib import Path

import dagster as dg

from pipeline import io
from pipeline.config import load_config
from pipeline.defs.checks import landing_checks
from pipeline.defs.dbt import dbt_project, dbt_resource, voronka_dbt_assets
from pipeline.defs.ingest import ingest_assets
from pipeline.defs.partitions import monthly_partitions
from pipeline.defs.reports import monthly_reports
from pipeline.defs.resources import VoronkaConfig
from pipeline.defs.schedules import inbox_job, monthly_job, monthly_schedule, report_job
from pipeline.defs.sensors import amended_reports_sensor, failure_sensor, inbox_sensor
from pipeline.paths import configured_path

# The code location's settings, read when the definitions are built (never at import).
EXECUTOR_ENV = "VORONKA_DAGSTER_EXECUTOR"  # in_process (default) or multiprocess
# One machine, one DuckDB writer: steps run one after another in the run's process, with
# no process start per step (ingest loads a run's files in one step). A deployment whose steps
# should run side by side chooses multiprocess: Dagster's default executor, a process per
# step (`execution: config: multiprocess: max_concurrent: N` in the run config). Docker
# or Kubernetes executors are passed to build_definitions by a code location of its own.
EXECUTORS: dict[str, dg.ExecutorDefinition] = {
    "in_process": dg.in_process_executor,
    "multiprocess": dg.multi_or_in_process_executor,
}
DEFAULT_EXECUTOR = "in_process"


def executor_named(name: str | dg.ExecutorDefinition) -> dg.ExecutorDefinition:
    if isinstance(name, dg.ExecutorDefinition):
        return name
    if name not in EXECUTORS:
        raise ValueError(
            f"{EXECUTOR_ENV}={name!r}: choose one of {', '.join(EXECUTORS)} "
            f"(default {DEFAULT_EXECUTOR})"
        )
    return EXECUTORS[name]


def build_definitions(
    config_path: Path | str, executor: str | dg.ExecutorDefinition = DEFAULT_EXECUTOR
) -> dg.Definitions:
    """The code location's definitions, built once per version of voronka.yaml and of the
    dbt manifest in this process: `dagster job execute` loads the location five times for
    one run (~0.1 s a build after the first)."""
    config_file = str(Path(config_path).resolve())
    versions = (io.file_version(config_file), io.file_version(dbt_project.manifest_path))
    return _definitions(str(config_path), config_file, executor, versions)


@lru_cache(maxsize=8)
def _definitions(
    config_path: str, config_file: str, executor: str | dg.ExecutorDefinition, _versions: tuple
) -> dg.Definitions:
    config = load_config(config_path)
    partitions = monthly_partitions(config)
    executor_def = executor_named(executor)
    monthly, inbox, reports = monthly_job(partitions), inbox_job(partitions), report_job(partitions)
    return dg.Definitions(
        assets=[
            *ingest_assets(partitions, executor_def),
            voronka_dbt_assets(),
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
        executor=executor_def,
    )


def definitions_from_environment(environ: dict[str, str] | None = None) -> dg.Definitions:
    """The code location as deployed: $VORONKA_CONFIG (default ./voronka.yaml, from the
    working directory) and $VORONKA_DAGSTER_EXECUTOR (default in_process)."""
    environ = os.environ if environ is None else environ
    return build_definitions(
        configured_path(environ),
        executor=environ.get(EXECUTOR_ENV) or DEFAULT_EXECUTOR,
    )
