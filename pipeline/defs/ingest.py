"""Ingest assets: inbox files → landing parquet, and voronka.yaml → config tables."""

import dagster as dg

from pipeline.defs.resources import VoronkaConfig
from pipeline.funnel_tables import CONFIG_SCHEMAS, write_config_tables
from pipeline.ingest import ingest_inbox
from pipeline.schemas import LANDING_TABLES

LANDING_SPECS = [
    dg.AssetSpec(
        ["landing", table], group_name="ingest", description=f"Landing table `{table}` (parquet)."
    )
    for table in LANDING_TABLES
]
CONFIG_SPECS = [
    dg.AssetSpec(
        ["landing", table], group_name="config", description=f"`{table}` from voronka.yaml."
    )
    for table in CONFIG_SCHEMAS
]


@dg.multi_asset(specs=LANDING_SPECS, name="ingest_inbox", pool="voronka_writer")
def landing_tables(context: dg.AssetExecutionContext, voronka: VoronkaConfig):
    """Read new inbox files (ledger by sha256) into the landing tables."""
    summary = ingest_inbox(voronka.load(), progress=context.log.info)
    for spec in LANDING_SPECS:
        yield dg.MaterializeResult(
            asset_key=spec.key,
            metadata={
                "files": len(summary.files),
                "rows_total": summary.rows_total,
                "rows_accepted": summary.rows_accepted,
                "rows_rejected": summary.rows_rejected,
            },
        )


@dg.multi_asset(specs=CONFIG_SPECS, name="funnel_config_tables", pool="voronka_writer")
def funnel_config_tables(context: dg.AssetExecutionContext, voronka: VoronkaConfig):
    """Funnels, stage map, call rules and segments from voronka.yaml, as tables for dbt."""
    write_config_tables(voronka.load())
    for spec in CONFIG_SPECS:
        yield dg.MaterializeResult(asset_key=spec.key)
