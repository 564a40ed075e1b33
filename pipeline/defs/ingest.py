"""Ingest assets: inbox files → landing parquet, and voronka.yaml → config tables.

The landing tables are partitioned by month, as the reports are: ingest always reads the
whole inbox (the ledger makes it idempotent), and a month's materialization records the
landing state that month's report was built from, with that month's source-coverage
check. The config tables hold no month and are not partitioned.

The landing tables are one graph-backed multi-asset, `ingest_inbox`, of three ops (the
phases of pipeline.ingest):

- `plan_inbox`: the new files (reads the inbox and the ledger, writes nothing but the
  fingerprints it remembers); one dynamic output per group of files to load
  (load_groups), keyed by the file id of a group of one;
- `load_inbox_files`, mapped over the groups: reads and normalizes each file of its group
  into the file's own staging folder, as `voronka ingest` does (load_files: large files
  side by side in processes of their own). No lock and no pool. When the run's steps
  run one after another in its process (the default in-process executor, or the
  multiprocess one set to `in_process` in the run's config: loads_together), there is
  one group of every file, so large files still load side by side; under any other
  executor (multiprocess, Docker, Kubernetes) a group per file, each file a step of its
  own, which the executor runs side by side;
- `finish_inbox`: publishes the staged parts, writes the ledger, refreshes the inferred
  history and applies the quality check. It is the only step that changes what dbt reads,
  so it — and not the loads — sits in the one-writer pool and takes the OS lock
  (pipeline/locks.py) the CLI takes.

The config tables are one op in the writer pool too (not partitioned).
"""

import traceback
from collections.abc import Mapping
from typing import Any

import dagster as dg

from pipeline.defs.resources import VoronkaConfig
from pipeline.funnel_tables import CONFIG_SCHEMAS, write_config_tables
from pipeline.ingest import (
    FileResult,
    IngestPlan,
    PlannedFile,
    failed_load,
    finish_ingest,
    load_files,
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


ALL_FILES_KEY = "all"  # the mapping key of the one group of every file


def load_groups(to_load: list[PlannedFile], together: bool) -> list[tuple[str, list[PlannedFile]]]:
    """The files to load, grouped for the load steps, each with its mapping key: one group of
    every file when `together` (one step loads them, side by side when they are large), else
    a group per file keyed by its file id (a step per file)."""
    if not to_load:
        return []
    if together:
        return [(ALL_FILES_KEY, list(to_load))]
    return [(planned.mapping_key, [planned]) for planned in to_load]


def loads_together(executor: dg.ExecutorDefinition, run_config: Mapping[str, Any]) -> bool:
    """Whether one step loads every file (load_groups): the run's steps run one after
    another in its process. So they do under the in-process executor, and under Dagster's
    default (multiprocess) executor when the run's config chooses its `in_process` mode
    (`execution: config: in_process:`); any other executor runs steps side by side."""
    if executor is dg.in_process_executor:
        return True
    execution = (run_config.get("execution") or {}).get("config") or {}
    return executor is dg.multi_or_in_process_executor and "in_process" in execution


def plan_op(executor: dg.ExecutorDefinition) -> dg.OpDefinition:
    """The plan step, grouping the files to load for the run's `executor` and config."""

    @dg.op(
        name="plan_inbox",
        out={
            "files": dg.DynamicOut(list, description="New inbox files to read in one step."),
            "plan": dg.Out(IngestPlan, description="Every candidate file, in order."),
        },
        description="Which inbox files are new (sha256 against the ledger).",
    )
    def plan_inbox(context: dg.OpExecutionContext, voronka: VoronkaConfig):
        plan = plan_ingest(voronka.load())
        together = loads_together(executor, context.run_config)
        for key, group in load_groups(plan.to_load, together):
            yield dg.DynamicOutput(group, output_name="files", mapping_key=key)
        context.log.info(
            f"{len(plan.to_load)} file(s) to read: {[p.path for p in plan.to_load]}; "
            f"{len(plan.items) - len(plan.to_load)} other(s) settled without reading"
        )
        yield dg.Output(plan, output_name="plan", metadata={"files_to_read": len(plan.to_load)})

    return plan_inbox


@dg.op(description="Read and normalize inbox files, each into its staging folder.")
def load_inbox_files(
    context: dg.OpExecutionContext, voronka: VoronkaConfig, files: list
) -> list[FileResult]:
    # An unexpected error becomes a `failed` result, not a failed step: the other files and
    # the finish step (which records every file, then fails the run) still run.
    def failed(planned: PlannedFile, error: BaseException) -> FileResult:
        trace = "".join(traceback.format_exception(error))
        context.log.error(f"{planned.path}: unexpected error while reading\n{trace}")
        return failed_load(planned, error)

    results = load_files(voronka.load(), files, attempt=context.run_id, on_error=failed)
    for result in results:
        context.log.info(f"{result.path}: {result.status} ({result.message})")
    return results


@dg.op(
    pool=WRITER_POOL,
    out={table: dg.Out(dg.Nothing) for table in LANDING_TABLES},
    description="Publish the staged files and write the ledger (one writer at a time).",
)
def finish_inbox(
    context: dg.OpExecutionContext,
    voronka: VoronkaConfig,
    plan: IngestPlan,
    results: list[list[FileResult]],
):
    config = voronka.load()
    results = [result for group in results for result in group]
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


def ingest_assets(
    partitions: dg.PartitionsDefinition, executor: dg.ExecutorDefinition
) -> list[dg.AssetsDefinition]:
    """The landing and config assets, for the code location's `executor` (its load steps:
    loads_together)."""
    plan_inbox = plan_op(executor)

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
        """Read new inbox files (ledger by sha256) into the landing tables."""
        files, plan = plan_inbox()
        results = files.map(load_inbox_files).collect()
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
