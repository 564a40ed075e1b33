"""Blocking asset checks on the landing data: every row accounted for, rejects bounded."""

import dagster as dg
import polars as pl

from pipeline.defs.resources import VoronkaConfig
from pipeline.io import read_ledger


@dg.asset_check(asset=dg.AssetKey(["landing", "files"]), blocking=True)
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
    """No loaded file rejects more than quality.max_reject_ratio of its rows."""
    config = voronka.load()
    ledger = read_ledger(config.landing_dir).filter(
        (pl.col("status") == "loaded") & (pl.col("rows_total") > 0)
    )
    ratios = ledger.with_columns((pl.col("rows_rejected") / pl.col("rows_total")).alias("ratio"))
    over = ratios.filter(pl.col("ratio") > config.quality.max_reject_ratio)
    return dg.AssetCheckResult(
        passed=over.is_empty(),
        metadata={
            "max_reject_ratio": config.quality.max_reject_ratio,
            "worst_ratio": float(ratios["ratio"].max() or 0.0),
            "files_over_limit": over["path"].to_list(),
        },
    )


landing_checks = [every_row_lands_or_is_rejected, reject_ratio_within_limit]
