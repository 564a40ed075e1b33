"""Blocking asset checks on the landing data: every row accounted for, rejects bounded,
and the reported month has data from every configured source.

A failing blocking check fails its step, so nothing downstream (dbt, the report, the
mail) runs for that month and the published warehouse and PDFs stay as they were.
`sources_without_data` is plain polars (no Dagster) so it is unit-testable.
"""

import datetime as dt
from pathlib import Path

import dagster as dg
import polars as pl

from pipeline.config import Config
from pipeline.defs.partitions import monthly_partitions
from pipeline.defs.resources import VoronkaConfig
from pipeline.ingest import held_files
from pipeline.io import read_ledger, table_dir

FILES_KEY = dg.AssetKey(["landing", "files"])

# Which landing timestamps say "this source has data for the month".
EVENT_TIMES = {
    "calls": ["started_at"],
    "crm_deals": ["created_at", "closed_at", "snapshot_at"],
    "crm_stage_events": ["entered_at"],
}


@dg.asset_check(asset=FILES_KEY, blocking=True)
def every_row_lands_or_is_rejected(voronka: VoronkaConfig) -> dg.AssetCheckResult:
    """For every loaded file, rows_total = rows_accepted + rows_rejected."""
    ledger = read_ledger(voronka.load().landing_dir).filter(pl.col("status") == "loaded")
    broken = ledger.filter(
        pl.col("rows_total") != pl.col("rows_accepted") + pl.col("rows_rejected")
    )
    return dg.AssetCheckResult(
        passed=broken.is_empty(),
        metadata={"files_checked": ledger.height, "unreconciled_files": broken["path"].to_list()},
    )


@dg.asset_check(asset=dg.AssetKey(["landing", "rejected_rows"]), blocking=True)
def reject_ratio_within_limit(voronka: VoronkaConfig) -> dg.AssetCheckResult:
    """No inbox file is held: none whose latest ledger row is `failed` (unreadable, or
    above quality.max_reject_ratio) or a load above that ratio — the rule `voronka ingest`
    fails on (pipeline.ingest.held_files). It clears when a corrected export replaces the
    file under the same name, or the file is removed from the inbox."""
    config = voronka.load()
    held = held_files(config)
    return dg.AssetCheckResult(
        passed=not held,
        metadata={
            "max_reject_ratio": config.quality.max_reject_ratio,
            "files_over_limit": [row["path"] for row in held],
            "why": [row["message"] for row in held],
        },
    )


@dg.asset_check(asset=FILES_KEY, blocking=True)
def every_source_has_data_for_the_month(
    context: dg.AssetCheckExecutionContext, voronka: VoronkaConfig
) -> dg.AssetCheckResult:
    """The run's last month has rows from every configured source (a missing export
    would print a funnel with a hole in it)."""
    config = voronka.load()
    window = _last_month_window(context, config)
    counts = rows_per_source(config, window.start, window.end)
    missing = [name for name, rows in counts.items() if rows == 0]
    return dg.AssetCheckResult(
        passed=not missing,
        metadata={
            "month": f"{window.start:%Y-%m}",
            "rows_per_source": dict(counts),
            "sources_without_data": missing,
        },
    )


def _last_month_window(context: dg.AssetCheckExecutionContext, config: Config) -> dg.TimeWindow:
    """The newest month of the run (a backfill checks its last month), else the last one."""
    partitions = monthly_partitions(config)
    if context.has_partition_key or context.has_partition_key_range:
        key = context.partition_keys[-1]
    else:
        key = partitions.get_last_partition_key()
    return partitions.time_window_for_partition_key(key)


def rows_per_source(config: Config, start: dt.datetime, end: dt.datetime) -> dict[str, int]:
    """Landed rows per configured source with an event time in [start, end) (zone-aware).

    A row belongs to the source whose file it came from (the ledger maps file_id →
    source), so a crm_history source is counted apart from the CRM it extends.
    """
    landing = config.landing_dir
    owners = (
        read_ledger(landing).select("file_id", pl.col("source").alias("owner")).unique("file_id")
    )
    start_utc, end_utc = start.astimezone(dt.UTC), end.astimezone(dt.UTC)
    frames = []
    for table, columns in EVENT_TIMES.items():
        rows = _scan(table_dir(landing, table))
        if rows is None:
            continue
        in_month = pl.any_horizontal(
            [pl.col(c).is_between(start_utc, end_utc, closed="left") for c in columns]
        )
        frames.append(rows.filter(in_month).select("file_id", "source"))
    counts = {source.name: 0 for source in config.sources}
    if not frames:
        return counts
    matched = (
        pl.concat(frames)
        .join(owners.lazy(), on="file_id", how="left")
        .select(pl.coalesce("owner", "source").alias("source"))
        .group_by("source")
        .len()
        .collect()
    )
    for source, rows in matched.iter_rows():
        if source in counts:
            counts[source] = rows
    return counts


def _scan(folder: Path) -> pl.LazyFrame | None:
    """A landing table's parts in either layout: flat, or in `month=…` folders (the
    partition column is not read; every part carries the table's own columns)."""
    parts = sorted(folder.rglob("*.parquet")) if folder.is_dir() else []
    return pl.scan_parquet(parts, hive_partitioning=False) if parts else None


landing_checks = [
    every_row_lands_or_is_rejected,
    reject_ratio_within_limit,
    every_source_has_data_for_the_month,
]
