"""The monthly PDF reports: one partition per month, rendered from the marts."""

import dagster as dg

from pipeline.defs.resources import VoronkaConfig
from pipeline.reporting import render_reports

REPORT_INPUTS = [
    dg.AssetKey(["marts", "funnel_stage_monthly"]),
    dg.AssetKey(["marts", "funnel_entities"]),
    dg.AssetKey(["marts", "data_cutoff"]),
]


def monthly_reports(partitions: dg.PartitionsDefinition) -> dg.AssetsDefinition:
    @dg.asset(
        key=["reports", "monthly_pdf"],
        group_name="reports",
        partitions_def=partitions,
        deps=REPORT_INPUTS,
        description="One PDF per funnel and locale for the month (partition key YYYY-MM-01).",
    )
    def monthly_pdf(
        context: dg.AssetExecutionContext, voronka: VoronkaConfig
    ) -> dg.MaterializeResult:
        month = context.partition_key[:7]
        paths = render_reports(voronka.load(), month)
        return dg.MaterializeResult(
            metadata={"month": month, "files": [str(path) for path in paths], "count": len(paths)}
        )

    return monthly_pdf
