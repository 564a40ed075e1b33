"""Ingest assets: inbox files → landing parquet, and voronka.yaml → config tables.

The landing tables are partitioned by month, as the reports are: ingest always reads the
whole inbox (the ledger makes it idempotent), and a month's materialization records the
landing state that month's report was built from, with that month's source-coverage
check. The config tables hold no month and are not partitioned.

The landing tables are one graph-backed multi-asset, `ingest_inbox`, of three ops (the
phases of pipeline.ingest):

- `plan_inbox`: the new files (reads the inbox and the ledger, writes nothing); one
  dynamic output per file to read, keyed by its file id;
- `load_inbox_file`, mapped over them: one step per file, reading and normalizing it
  into its own staging folder. No lock and no pool: under the multiprocess executor
  (VORONKA_DAGSTER_EXECUTOR, pipeline/defs/__init__.py) they run side by side, under the
  default in-process executor one after another;
- `finish_inbox`: publishes the staged parts, writes the ledger, refreshes the inferred
  history and applies the quality check. It is the only step that changes what dbt reads,
  so it — and not the loads — sits in the one-writer pool and takes the OS lock
  (pipeline/locks.py) the CLI takes.

The config tables are one op in the writer pool too (not partitioned).
"""

import dagster as dg

from pipeline.defs.resources import VoronkaConfig
from pipeline.funnel_tables import CONFIG_SCHEMAS, write_config_tables
from pipeline.ingest import (
    FileResult,
    IngestPlan,
    PlannedFile,
    failed_load,
    finish_ingest,
    load_file,
    plan_ingest,
)
from pipeline.locks import logged_warehouse_lock
from pipeline.schemas import LANDING_TABLES

# The one concurrency pool of every step that writes what dbt or DuckDB reads (limit 1:
# pipeline/defs/instance.py).
WRITER_POOL = "voronka_writer"
INGEST_NAME = "ingest_inbox"

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


@dg.op(
    out={
        "files": dg.DynamicOut(PlannedFile, description="One new inbox file to read."),
        "plan": dg.Out(IngestPlan, description="Every candidate file, in order."),
    },
    description="Which inbox files are new (sha256 against the ledger); writes nothing.",
)
def plan_inbox(context: dg.OpExecutionContext, voronka: VoronkaConfig):
    plan = plan_ingest(voronka.load())
    for planned in plan.to_load:
        yield dg.DynamicOutput(planned, output_name="files", mapping_key=planned.mapping_key)
    context.log.info(
        f"{len(plan.to_load)} file(s) to read: {[p.path for p in plan.to_load]}; "
        f"{len(plan.items) - len(plan.to_load)} other(s) settled without reading"
    )
    yield dg.Output(plan, output_name="plan", metadata={"files_to_read": len(plan.to_load)})


@dg.op(description="Read and normalize one inbox file into its staging folder.")
def load_inbox_file(
    context: dg.OpExecutionContext, voronka: VoronkaConfig, planned: PlannedFile
) -> FileResult:
    # An unexpected error becomes a `failed` result, not a failed step: the other files'
    # steps and the finish step (which records every file, then fails the run) still run.
    try:
        result = load_file(voronka.load(), planned, attempt=context.run_id)
    except Exception as error:
        context.log.exception(f"{planned.path}: unexpected error while reading")
        result = failed_load(planned, error)
    context.log.info(f"{planned.path}: {result.status} ({result.message})")
    return result


@dg.op(
    pool=WRITER_POOL,
    out={table: dg.Out(dg.Nothing) for table in LANDING_TABLES},
    description="Publish the staged files and write the ledger (one writer at a time).",
)
def finish_inbox(
    context: dg.OpExecutionContext,
    voronka: VoronkaConfig,
    plan: IngestPlan,
    results: list[FileResult],
):
    config = voronka.load()
    with logged_warehouse_lock(config, context.log.info):
        summary = finish_ingest(config, plan, results, progress=context.log.info)
    metadata = {
        "files": len(summary.files),
        "rows_total": summary.rows_total,
        "rows_accepted": summary.rows_accepted,
        "rows_rejected": summary.rows_rejected,
    }
    for table in LANDING_TABLES:
        yield dg.Output(None, output_name=table, metadata=metadata)


def ingest_assets(partitions: dg.PartitionsDefinition) -> list[dg.AssetsDefinition]:
    @dg.graph_multi_asset(
        outs={
            table: dg.AssetOut(key=spec.key, description=spec.description)
            for table, spec in zip(LANDING_TABLES, LANDING_SPECS, strict=True)
        },
        name=INGEST_NAME,
        group_name="ingest",
        partitions_def=partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
    )
    def landing_tables():
        """Read new inbox files (ledger by sha256) into the landing tables, a step per file."""
        files, plan = plan_inbox()
        results = files.map(load_inbox_file).collect()
        published = finish_inbox(plan, results)
        return {table: getattr(published, table) for table in LANDING_TABLES}

    @dg.multi_asset(
        specs=CONFIG_SPECS,
        name="funnel_config_tables",
        pool=WRITER_POOL,
    )
    def funnel_config_tables(context: dg.AssetExecutionContext, voronka: VoronkaConfig):
        """Funnels, stage map, call rules and segments from voronka.yaml, as tables for dbt."""
        config = voronka.load()
        with logged_warehouse_lock(config, context.log.info):
            write_config_tables(config)
        for spec in CONFIG_SPECS:
            yield dg.MaterializeResult(asset_key=spec.key)

    return [landing_tables, funnel_config_tables]
