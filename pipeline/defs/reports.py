"""The monthly PDF reports and their delivery: one partition per month.

monthly_pdf renders the month's PDFs from the marts and records what they printed
(pipeline.delivery: a re-render that changes a printed figure marks the report amended).
monthly_mail sends them to each funnel's recipients, once per PDF version.
Both loop over the run's partitions, so a one-run backfill renders every month.

The report reads the marts from the DuckDB file. When the warehouse is built on Spark
(VORONKA_DBT_TARGET=spark) that file is not rebuilt, so monthly_pdf fails with a message
naming where the marts are, rather than render a stale report (docs/scaling.md).
"""

import dagster as dg

from pipeline.config import Config
from pipeline.defs.partitions import month_of
from pipeline.defs.resources import VoronkaConfig
from pipeline.delivery import printed, record_render, send_reports
from pipeline.reporting import render_reports, report_models
from pipeline.reporting.registry import REPORT_MARTS
from pipeline.warehouse import DBT_TARGET_ENV, SPARK, dbt_target, spark_warehouse_dir

# Every mart the report reads: the section registry's (pipeline/reporting/registry.py).
REPORT_INPUTS = [dg.AssetKey(["marts", name]) for name in REPORT_MARTS]
PDF_KEY = dg.AssetKey(["reports", "monthly_pdf"])
MAIL_KEY = dg.AssetKey(["reports", "monthly_mail"])


def require_duckdb_marts(config: Config) -> None:
    """Fail (dg.Failure) when the marts are built on Spark: the report reads DuckDB only."""
    if dbt_target() != SPARK:
        return
    local = spark_warehouse_dir(config) / "marts.db"
    raise dg.Failure(
        description=(
            f"The warehouse is built on Spark ({DBT_TARGET_ENV}=spark), but the PDF report "
            f"reads the marts from the DuckDB file {config.warehouse_path}, which a Spark "
            "build does not update; no report was rendered rather than a stale one. The "
            f"marts are the tables of the `marts` schema: with the local Spark session, "
            f"parquet folders {local}/<mart>/; on a cluster, the cluster's `marts` tables. "
            "Point a reader at those (docs/scaling.md), or build with "
            f"{DBT_TARGET_ENV}=duckdb to render the reports."
        ),
        metadata={"spark_marts": str(local), "duckdb_file": str(config.warehouse_path)},
    )


class MailConfig(dg.Config):
    force: bool = False  # send again even if this PDF was already sent to the recipient


def monthly_reports(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.asset(
        key=PDF_KEY,
        group_name="reports",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=REPORT_INPUTS,
        description="One PDF per funnel and locale for the month (partition key YYYY-MM-01).",
    )
    def monthly_pdf(
        context: dg.AssetExecutionContext, voronka: VoronkaConfig
    ) -> dg.MaterializeResult:
        config = voronka.load()
        require_duckdb_marts(config)
        files, amended = [], []
        for key in context.partition_keys:
            month = month_of(key)
            models = report_models(config, month)  # the marts read once for both
            paths = render_reports(config, month, models=models)
            now = printed(config, month, models)
            digests = {funnel: state.digest for funnel, state in now.items()}
            changed = record_render(config, month, digests, paths, now)
            amended += [f"{month} {funnel}" for funnel, is_new in changed.items() if is_new]
            files += [str(path) for path in paths]
        if amended:
            context.log.warning(f"amended (a printed figure changed): {amended}")
        return dg.MaterializeResult(
            metadata={
                "months": [month_of(key) for key in context.partition_keys],
                "files": files,
                "count": len(files),
                "amended": amended,
            }
        )

    @dg.asset(
        key=MAIL_KEY,
        group_name="reports",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[PDF_KEY],
        description="The month's PDFs mailed to each funnel's recipients (once per PDF version).",
    )
    def monthly_mail(
        context: dg.AssetExecutionContext, voronka: VoronkaConfig, config: MailConfig
    ) -> dg.MaterializeResult:
        settings = voronka.load()
        sent, already, missing, skipped = [], [], [], None
        for key in context.partition_keys:
            result = send_reports(settings, month_of(key), force=config.force, say=context.log.info)
            sent += result.sent
            already += result.already_sent
            missing += result.missing_pdf
            skipped = result.skipped_reason
        return dg.MaterializeResult(
            metadata={
                "sent": sent,
                "already_sent": already,
                "missing_pdf": missing,
                "skipped": skipped or "",
            }
        )

    return [monthly_pdf, monthly_mail]
