"""Stage entries inferred from consecutive snapshots, for CRM sources whose exports carry
no history (amoCRM; Bitrix24, Pipedrive, Salesforce or generic without a history file).

The rule, per CRM source, over every deals file of it loaded so far:

- **Snapshots.** The source's loaded deals files ordered by `snapshot_at`; files with the
  same snapshot_at form one snapshot (a deal in both: the row of the file that arrived
  later — received_at, then path, then file_id — as staging picks it: a corrected
  re-export wins). A deal's *sightings* are the snapshots that contain it, in order.
- **First sighting** at t: the deal's stage is entered with `entered_at = t` and
  `entered_after = created_at` (no later than t). Absence from an earlier export proves
  nothing (exports are filtered, rows get rejected), so the lower bound is the creation
  time, not the previous snapshot; for a deal created since the previous snapshot — the
  usual case with regular exports — the two coincide.
- **Later sightings** at t, previous sighting at t_prev: if (crm_pipeline, stage) changed,
  the new stage is entered with `entered_at = t`, `entered_after = t_prev`; unchanged
  adds nothing. A stage entered and left between two exports is never seen, so it is
  not entered here: the funnel's reach policy (implied) fills it. Moving back enters
  the earlier stage again (a regression, counted as such downstream).
- **Closing.** When the deal is closed (status won/lost) in that sighting and its
  closed_at lies in [entered_after, entered_at], the CRM recorded the moment:
  `entered_at = closed_at`.
- Every inferred row has `is_exact = false`, the deal's manager at the later snapshot,
  and the later snapshot's file_id (that file's parts of crm_stage_events, one per UTC
  month of entered_at: io.write_file_parts splits them).

Every CRM source gets these rows, whether or not it also has exact history (a history
file, or stage-date columns in its deals files): an events export often covers a limited
range and analysts leave date cells blank, so a deal's stage at a snapshot may be all
that is recorded of it. Where an exact entry into the same funnel stage exists, it wins
downstream (int_entity_stages_reached): the bounds count only for stages with none. A
deals file's own exact rows (stage-date columns) share its crm_stage_events parts and
are kept when the inferred rows are rewritten.
`refresh_inferred_history` recomputes a source whole after each ingest run, so the
result depends on the set of snapshots only, never on the order they arrived in.
"""

from __future__ import annotations

from pathlib import Path

import polars as pl

from pipeline import io, schemas
from pipeline.config import Config, Source
from pipeline.sources.registry import preset_of

DEAL = ("source", "deal_id")


def has_in_file_history(source: Source) -> bool:
    """Whether a CRM source's deals files write their own exact stage entries (a preset
    with in-file history, such as HubSpot's, or `stage_dates:`)."""
    return preset_of(source).in_file_history or bool(source.stage_dates)


def infer_stage_events(deals: pl.DataFrame, arrivals: pl.DataFrame | None = None) -> pl.DataFrame:
    """crm_deals rows of one or more snapshots → inferred crm_stage_events (rule above).
    `arrivals`: received_at and path per file_id (the ledger's loaded rows)."""
    if deals.height == 0:
        return schemas.empty("crm_stage_events")
    order = ["snapshot_at", "file_id"]
    if arrivals is not None:
        deals = deals.join(arrivals, on="file_id", how="left")
        order = ["snapshot_at", "received_at", "path", "file_id"]
    sightings = (
        deals.sort(order, nulls_last=False)
        .unique([*DEAL, "snapshot_at"], keep="last", maintain_order=True)
        .sort(*DEAL, "snapshot_at")
        .with_columns(
            _previous_at=pl.col("snapshot_at").shift(1).over(DEAL),
            _previous_stage=pl.col("stage").shift(1).over(DEAL),
            _previous_pipeline=pl.col("crm_pipeline").shift(1).over(DEAL),
        )
    )
    first = pl.col("_previous_at").is_null()
    moved = (pl.col("stage") != pl.col("_previous_stage")) | pl.col("crm_pipeline").ne_missing(
        pl.col("_previous_pipeline")
    )
    entries = sightings.filter(first | moved).with_columns(
        entered_after=pl.when(first)
        .then(pl.min_horizontal("created_at", "snapshot_at"))
        .otherwise(pl.col("_previous_at"))
    )
    closed_inside = (
        (pl.col("status") != "open")
        & (pl.col("closed_at") >= pl.col("entered_after"))
        & (pl.col("closed_at") <= pl.col("snapshot_at"))
    )
    events = entries.with_columns(
        entered_at=pl.when(closed_inside.fill_null(False))
        .then(pl.col("closed_at"))
        .otherwise(pl.col("snapshot_at")),
        is_exact=pl.lit(False),
    )
    return schemas.conform(events, "crm_stage_events")


def refresh_inferred_history(config: Config) -> dict[str, int]:
    """Rewrite the inferred crm_stage_events parts of every CRM source from the landing
    deals parts; returns inferred rows per source. Call after a run has landed its files."""
    landing = config.landing_dir
    ledger = io.read_ledger(landing).filter(pl.col("status") == "loaded")
    arrivals = ledger.group_by("file_id").agg(pl.col("received_at", "path").max())
    counts: dict[str, int] = {}
    for source in config.sources:
        if source.kind != "crm":
            continue
        file_ids = ledger.filter(pl.col("source") == source.name)["file_id"].unique().to_list()
        counts[source.name] = _refresh_source(landing, source, sorted(file_ids), arrivals)
    return counts


def _refresh_source(
    landing: Path, source: Source, file_ids: list[str], arrivals: pl.DataFrame
) -> int:
    parts = [io.read_part(landing, "crm_deals", file_id) for file_id in file_ids]
    deals = pl.concat(parts) if parts else schemas.empty("crm_deals")
    events = infer_stage_events(deals.filter(pl.col("source") == source.name), arrivals)
    _write(landing, file_ids, events)
    return events.height


def _write(landing: Path, file_ids: list[str], events: pl.DataFrame) -> None:
    """Each deals file's inferred rows as its crm_stage_events parts, one per month of
    entered_at (no rows: no part; parts of months it no longer has are removed)."""
    for file_id in file_ids:
        exact = io.read_part(landing, "crm_stage_events", file_id).filter(pl.col("is_exact"))
        inferred = events.filter(pl.col("file_id") == file_id)
        rows = pl.concat([schemas.conform(exact, "crm_stage_events"), inferred])
        io.write_file_parts(landing, file_id, {"crm_stage_events": rows})
