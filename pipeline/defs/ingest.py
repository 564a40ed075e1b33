"""Ingest assets: inbox files → landing parquet, and voronka.yaml → config tables.

Partitioned by month like every asset of the monthly job: ingest always reads the whole
inbox (the ledger makes it idempotent), and a partition's materialization records the
landing state that month's report was built from. Both write files dbt reads, so they
sit in the one-writer pool and take the same OS lock as the CLI.
"""

import dagster as dg

from pipeline.cli import warehouse_lock
from pipeline.defs.resources import VoronkaConfig
from pipeline.funnel_tables import CONFIG_SCHEMAS, write_config_tables
from pipeline.ingest import ingest_inbox
from pipeline.schemas import LANDING_TABLES

# The one concurrency pool of every step that writes what dbt or DuckDB reads (limit 1:
# pipeline/defs/instance.py).
WRITER_POOL = "voronka_writer"

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


def ingest_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.multi_asset(
        specs=LANDING_SPECS,
        name="ingest_inbox",
        pool=WRITER_POOL,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def landing_tables(context: dg.AssetExecutionContext, voronka: VoronkaConfig):
        """Read new inbox files (ledger by sha256) into the landing tables."""
        config = voronka.load()
        with warehouse_lock(config):
            summary = ingest_inbox(config, progress=context.log.info)
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

    @dg.multi_asset(
        specs=CONFIG_SPECS,
        name="funnel_config_tables",
        pool=WRITER_POOL,
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def funnel_config_tables(context: dg.AssetExecutionContext, voronka: VoronkaConfig):
        """Funnels, stage map, call rules and segments from voronka.yaml, as tables for dbt."""
        config = voronka.load()
        with warehouse_lock(config):
            write_config_tables(config)
        for spec in CONFIG_SPECS:
            yield dg.MaterializeResult(asset_key=spec.key)

    return [landing_tables, funnel_config_tables]
