"""The `salesforce` preset: the Opportunity export (Data Loader API names or report
labels) and OpportunityHistory as exact stage history.

Opportunity: `IsWon` true → won, else `IsClosed` true → lost, else open (without those
columns: the stage names "Closed Won"/"Closed Lost"). The owner is `Owner Name`
(`Owner.Name`, `Opportunity Owner`), else `OwnerId`. Salesforce has no pipelines: the
record type is the pipeline when exported, else every deal is in `default`.
OpportunityHistory (kind crm_history): one row per change of the opportunity; a row is
an entry into StageName at CreatedDate. Rows with `IsDeleted` true are skipped, and so
is a row that repeats the stage of the opportunity's previous row (an amount or close
date change), so a stage is entered once per real move.
"""

from __future__ import annotations

import polars as pl

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.crm_deals import CrmPreset, read_deals
from pipeline.sources.history_files import HistoryPreset, read_history
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile
from pipeline.transform.times import TimeFormat, parse_times


def _status(frame: pl.DataFrame, source: Source) -> pl.Series:
    by_stage = presets.status_by_stage(frame["stage"], ("Closed Won",), ("Closed Lost",), source)
    if "_won_flag" not in frame.columns:
        return by_stage
    won = [presets.is_true(v) for v in frame["_won_flag"].to_list()]
    closed = (
        [presets.is_true(v) for v in frame["_closed_flag"].to_list()]
        if "_closed_flag" in frame.columns
        else [s != "open" for s in by_stage]
    )
    status = ["won" if w else "lost" if c else "open" for w, c in zip(won, closed, strict=True)]
    return pl.Series("status", status, dtype=pl.String)


PRESET = CrmPreset(
    name="salesforce",
    columns=(
        Column("deal_id", ("Id", "Opportunity ID", "Opportunity Id"), required=True),
        Column("created_at", ("CreatedDate", "Created Date"), required=True),
        Column("stage", ("StageName", "Stage"), required=True),
        Column("crm_pipeline", ("RecordType.Name", "Opportunity Record Type", "Record Type")),
        Column(
            "manager",
            ("Owner Name", "Owner.Name", "Opportunity Owner", "Owner Full Name", "OwnerId"),
        ),
        Column("amount", ("Amount",)),
        Column("currency", ("CurrencyIsoCode", "Opportunity Currency", "Amount Currency")),
        Column("closed_at", ("CloseDate", "Close Date")),
        Column("lead_source", ("LeadSource", "Lead Source")),
        Column("lost_reason", ("Loss_Reason__c", "Loss Reason", "Closed Lost Reason")),
        Column("modified_at", ("LastModifiedDate", "Last Modified Date")),
        Column("attr:deal_name", ("Name", "Opportunity Name")),
        Column("_won_flag", ("IsWon", "Won")),
        Column("_closed_flag", ("IsClosed", "Closed")),
    ),
    status=_status,
    default_pipeline="default",
    english_numbers=True,
)

HISTORY = HistoryPreset(
    name="salesforce",
    columns=(
        Column("deal_id", ("OpportunityId", "Opportunity ID"), required=True),
        Column("stage", ("StageName", "Stage"), required=True),
        Column("entered_at", ("CreatedDate", "Created Date", "Edit Date"), required=True),
        Column("_deleted", ("IsDeleted",)),
    ),
)


def read(data: bytes, name: str, source: Source) -> RawFile:
    return read_deals(data, name, source, PRESET)


def read_opportunity_history(data: bytes, name: str, source: Source) -> RawFile:
    raw = read_history(data, name, source, HISTORY)
    if raw.frame.height:
        raw.frame = skip_deleted_and_repeats(raw.frame, source.formats.date)
    return raw


def skip_deleted_and_repeats(frame: pl.DataFrame, date_format: str | None) -> pl.DataFrame:
    """`_skip_reason` for deleted rows and rows repeating the previous row's stage, in the
    order of their times as read (`formats.date`, else the usual forms): an API export's
    CreatedDate is ISO, but a report's Edit Date is the user's locale (`20.04.2026 09:00`,
    `4/20/2026 9:00 AM`), whose text order is no time order."""
    deleted = (
        frame["_deleted"].map_elements(presets.is_true, return_dtype=pl.Boolean)
        if "_deleted" in frame.columns
        else pl.Series([False] * frame.height)
    )
    frame = frame.with_columns(_is_deleted=deleted.fill_null(False))
    deal, stage = pl.col("deal_id").str.strip_chars(), pl.col("stage").str.strip_chars()
    order, _ = parse_times(frame["entered_at"], TimeFormat("UTC", date_format))
    frame = frame.with_columns(_order=order)
    live = frame.filter(~pl.col("_is_deleted")).sort("deal_id", "_order", "_row", nulls_last=True)
    repeats = live.filter((stage == stage.shift(1).over(deal)) & (stage != ""))["_row"]
    return frame.with_columns(
        _skip_reason=pl.when(pl.col("_is_deleted"))
        .then(pl.lit("deleted in Salesforce (IsDeleted = true)"))
        .when(pl.col("_row").is_in(repeats.implode()))
        .then(pl.lit("the stage did not change (another field's change)"))
    ).drop("_deleted", "_is_deleted", "_order", strict=False)
