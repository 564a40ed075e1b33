"""The monthly PDF reports and their delivery: one partition per month.

monthly_pdf renders the month's PDFs from the marts and records what they printed
(pipeline.delivery: a re-render that changes a printed figure marks the report amended).
monthly_mail sends them to each funnel's recipients, once per PDF version.
Both loop over the run's partitions, so a one-run backfill renders every month.
"""

import dagster as dg

from pipeline.defs.partitions import month_of
from pipeline.defs.resources import VoronkaConfig
from pipeline.delivery import printed_digests, record_render, send_reports
from pipeline.reporting import render_reports

# Every mart the report reads (pipeline/reporting/warehouse.py).
REPORT_INPUTS = [
    dg.AssetKey(["marts", name])
    for name in (
        "data_cutoff",
        "funnel_stage_monthly",
        "funnel_stage_trends",
        "revenue_monthly",
        "sales_cycle_monthly",
        "stage_durations",
        "manager_scorecard",
        "funnel_bottleneck",
        "funnel_plan",
        "lost_reasons",
        "call_leaks",
        "data_quality",
        "data_files",
        "unmapped_stages",
    )
]
PDF_KEY = dg.AssetKey(["reports", "monthly_pdf"])
MAIL_KEY = dg.AssetKey(["reports", "monthly_mail"])


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
        files, amended = [], []
        for key in context.partition_keys:
            month = month_of(key)
            paths = render_reports(config, month)
            changed = record_render(config, month, printed_digests(config, month), paths)
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
