"""The `pipedrive` preset: the deals export (`Deal - …` headers; a repeated name gets a
suffix such as `Deal - Status__2`, kept by position) and the deal-flow change log.

Deals: `Deal - Status` open/won/lost is the status (a `deleted` deal is read and left out,
counted in the file's notes); phones from every `Person - Phone…`
column; the closed time is `Won time`/`Lost time`/`Deal closed on`, whichever is filled.
Flow (kind crm_history): rows `item_id, field_key, old_value, new_value, log_time[,
user_id]`; a row with field_key `stage_id` is an exact entry of deal item_id into stage
new_value (the stage id, as the funnel maps it in `crm_stages`; `columns: {stage: …}`
picks another column, a formatted name for instance). Rows of other fields add no
entry. The stage a deal was created in is not in the flow (the funnel's reach policy
implies it).
"""

from __future__ import annotations

import polars as pl

from pipeline.config import Source, normalize_person_name
from pipeline.sources import presets
from pipeline.sources.crm_deals import CrmPreset, read_deals
from pipeline.sources.history_files import HistoryPreset, read_history
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile

STATUS_WORDS = {
    "open": "open",
    "won": "won",
    "lost": "lost",
    "deleted": "deleted",  # left out by transform.deals, counted in the notes
    "удалена": "deleted",
    "открыта": "open",
    "открытая": "open",
    "выиграна": "won",
    "успешная": "won",
    "проиграна": "lost",
    "потеряна": "lost",
}


def _status(frame: pl.DataFrame, source: Source) -> pl.Series:
    won = presets.names_table(source.status.won)
    lost = presets.names_table(source.status.lost)

    def status(value: str) -> str:
        key = normalize_person_name(value)
        if key in won:
            return "won"
        return "lost" if key in lost else STATUS_WORDS.get(key, "open")

    return presets.map_values(frame["_status"], status, default="open").alias("status")


PRESET = CrmPreset(
    name="pipedrive",
    columns=(
        Column("deal_id", ("Deal - ID", "ID"), required=True),
        Column(
            "created_at", ("Deal - Deal created", "Deal - Add time", "Deal created"), required=True
        ),
        Column("stage", ("Deal - Stage", "Stage"), required=True),
        Column("_status", ("Deal - Status", "Status"), required=True),
        Column("crm_pipeline", ("Deal - Pipeline", "Pipeline")),
        Column("manager", ("Deal - Owner", "Owner")),
        Column("amount", ("Deal - Value", "Value")),
        Column("currency", ("Deal - Currency of value", "Deal - Currency", "Currency")),
        Column("closed_at", ("Deal - Deal closed on", "Deal - Close time", "Deal closed on")),
        Column("_won_time", ("Deal - Won time",)),
        Column("_lost_time", ("Deal - Lost time",)),
        Column("lost_reason", ("Deal - Lost reason", "Lost reason")),
        Column("modified_at", ("Deal - Update time", "Update time")),
        Column(
            "lead_source", ("Deal - Source channel", "Deal - Source origin", "Deal - Lead source")
        ),
        Column("attr:deal_name", ("Deal - Title", "Title")),
        Column("attr:organization", ("Deal - Organization", "Organization - Name")),
    ),
    status=_status,
    default_pipeline="default",
    english_numbers=True,
    post=lambda frame: _closed_at(frame),
)

FLOW = HistoryPreset(
    name="pipedrive",
    columns=(
        Column("deal_id", ("item_id", "Deal ID", "deal_id"), required=True),
        Column("_field", ("field_key",), required=True),
        Column("stage", ("new_value",), required=True),
        Column("entered_at", ("log_time", "timestamp"), required=True),
    ),
)


def read(data: bytes, name: str, source: Source) -> RawFile:
    return read_deals(data, name, source, PRESET)


def _closed_at(frame: pl.DataFrame) -> pl.DataFrame:
    """Won/lost time where `Deal closed on` is empty (always of a closed deal only)."""
    extra = [c for c in ("_won_time", "_lost_time") if c in frame.columns]
    closed = [pl.col(c) for c in ("closed_at", *extra) if c in frame.columns]
    filled = [pl.when(c.str.strip_chars() != "").then(c) for c in closed]
    if not filled:
        return frame
    return frame.with_columns(
        closed_at=pl.when(pl.col("status") != "open").then(pl.coalesce(filled))
    )


def read_flow(data: bytes, name: str, source: Source) -> RawFile:
    raw = read_history(data, name, source, FLOW)
    if raw.frame.height:
        field = pl.col("_field").str.strip_chars()
        raw.frame = raw.frame.with_columns(
            _skip_reason=pl.when(field != "stage_id").then(
                pl.format("a change of {}, not of stage_id", field)
            )
        ).drop("_field")
    return raw
