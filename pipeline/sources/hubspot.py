"""The `hubspot` preset: the deals export (English label headers, CSV or XLSX).

Status: `Is Closed Won` true → won, `Is closed lost` true → lost, else open (without
those columns: the stage names "Closed Won"/"Closed Lost" and `status:` of the config).
`Deal owner` is the manager. History is in the file itself: every
`Date entered "<Stage> (<Pipeline>)"` column gives the first entry into that stage, so
each filled cell becomes an exact crm_stage_events row of stage `<Stage>` (re-entries
show only in the cumulative-time columns and are not recoverable). `Close Date` is the
expected close date of an open deal and is kept only for closed ones.
"""

from __future__ import annotations

import re

import polars as pl

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.crm_deals import CrmPreset, read_deals
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile
from pipeline.transform.history import STAGE_DATE_PREFIX

# The pipeline is the last parenthesized part, which may hold parentheses of its own
# (`Contract Sent (Sales (EU))`); a stage's own come before it (`Demo (online) (Sales)`).
DATE_ENTERED = re.compile(
    r'^date entered\s*["“]?(?P<stage>.+?)\s*\((?P<pipeline>(?:[^()]|\([^()]*\))*)\)\s*["”]?$',
    re.I,
)


def _status(frame: pl.DataFrame, source: Source) -> pl.Series:
    if "_won_flag" not in frame.columns and "_lost_flag" not in frame.columns:
        return presets.status_by_stage(frame["stage"], ("Closed Won",), ("Closed Lost",), source)
    won = _flag(frame, "_won_flag")
    lost = _flag(frame, "_lost_flag")
    by_stage = presets.status_by_stage(frame["stage"], (), (), source)
    status = [
        "won" if w else "lost" if lo else s for w, lo, s in zip(won, lost, by_stage, strict=True)
    ]
    return pl.Series("status", status, dtype=pl.String)


def _flag(frame: pl.DataFrame, column: str) -> list[bool]:
    if column not in frame.columns:
        return [False] * frame.height
    return [presets.is_true(v) for v in frame[column].to_list()]


def stage_date_columns(header: list[str]) -> dict[str, str]:
    """`Date entered "Stage (Pipeline)"` headers → {stage_date:<n>:<Stage>: header}."""
    found = {}
    for position, column in enumerate(header):
        match = DATE_ENTERED.match(column.split("__")[0].strip())
        if match:
            found[f"{STAGE_DATE_PREFIX}{position}:{match['stage'].strip()}"] = column
    return found


PRESET = CrmPreset(
    name="hubspot",
    columns=(
        Column("deal_id", ("Record ID", "Deal ID", "Object ID"), required=True),
        Column("created_at", ("Create Date", "Created Date", "Create date"), required=True),
        Column("stage", ("Deal Stage",), required=True),
        Column("crm_pipeline", ("Pipeline",), required=True),
        Column("manager", ("Deal owner", "Deal Owner", "HubSpot Owner")),
        Column("amount", ("Amount",)),
        Column("currency", ("Currency", "Deal currency code")),
        Column("closed_at", ("Close Date",)),
        Column("lost_reason", ("Closed Lost Reason", "Closed lost reason")),
        Column("modified_at", ("Last Modified Date",)),
        Column(
            "lead_source",
            ("Original Source Type", "Original Traffic Source", "Original Source", "Deal source"),
        ),
        Column("attr:deal_name", ("Deal Name",)),
        Column("_won_flag", ("Is Closed Won",)),
        Column("_lost_flag", ("Is closed lost",)),
    ),
    status=_status,
    english_numbers=True,
    stage_dates=stage_date_columns,
)


def read(data: bytes, name: str, source: Source) -> RawFile:
    return _own_pipeline_dates(read_deals(data, name, source, PRESET))


def _own_pipeline_dates(raw: RawFile) -> RawFile:
    """A deal moved to another pipeline keeps its `Date entered` values of the pipeline it
    left: stages of another pipeline, no entries of its own funnel's, whatever their names
    (docs/contracts.md "History from snapshots"). A date of a column whose pipeline other
    deals of the file are in, not this deal, is left out, and the ledger says how many;
    a column naming a pipeline no deal of the file is in is kept (nothing tells it from
    the deals' own)."""
    if raw.frame.is_empty() or "crm_pipeline" not in raw.frame.columns:
        return raw
    pipeline = pl.col("crm_pipeline").str.strip_chars().replace("", None)
    in_file = set(raw.frame.select(pipeline.drop_nulls().unique()).to_series().to_list())
    other = {}  # stage-date key → the condition that the cell is another pipeline's
    for key, column in raw.labels.items():
        match = DATE_ENTERED.match(column.split("__")[0].strip())
        named = match["pipeline"].strip() if match else None
        if key.startswith(STAGE_DATE_PREFIX) and named in in_file:
            filled = pl.col(key).str.strip_chars() != ""
            other[key] = pipeline.is_not_null() & (pipeline != named) & filled
    if not other:
        return raw
    left_out = raw.frame.select(pl.sum_horizontal(*other.values()).sum()).item()
    if left_out:
        raw.frame = raw.frame.with_columns(
            pl.when(condition).then(None).otherwise(pl.col(key)).alias(key)
            for key, condition in other.items()
        )
        raw.notes = [
            *raw.notes,
            f"{left_out} 'Date entered' value(s) of a pipeline other than the deal's left out "
            "(deals moved between pipelines)",
        ]
    return raw
