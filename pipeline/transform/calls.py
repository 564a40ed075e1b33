"""Calls: raw string frame (canonical column names, written by a telephony preset) →
landing `calls` and rejects.

Input columns: call_id, direction, started_at (required); line, client_phone, answered_at,
ended_at (else call_s, the call's length in seconds), manager, talk_s, disposition
(canonical words). Phones here are raw text; a
client number that is not a phone lands as null and is counted in the notes. Excluded
phones (own numbers, spam) land like any other: dbt leaves them out.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline import schemas
from pipeline.transform.context import NormalizeContext
from pipeline.transform.people import map_managers
from pipeline.transform.phones import E164_PREFIX, hash_phone_column, normalize_phone_column
from pipeline.transform.rejects import Check, required, split_rejects
from pipeline.transform.times import parse_times

DIRECTIONS = ("inbound", "outbound", "internal")
DISPOSITIONS = ("answered", "no_answer", "busy", "failed")
CALL_COLUMNS = (
    "call_id",
    "direction",
    "line",
    "client_phone",
    "started_at",
    "answered_at",
    "ended_at",
    "call_s",  # the call's length in seconds: the end, where the log gives no end time
    "manager",
    "talk_s",
    "disposition",
)


@dataclass
class CallsResult:
    calls: pl.DataFrame
    rejects: pl.DataFrame
    notes: list[str] = field(default_factory=list)


def normalize_calls(raw: pl.DataFrame, ctx: NormalizeContext) -> CallsResult:
    missing = [pl.lit(None, dtype=pl.String).alias(c) for c in CALL_COLUMNS if c not in raw.columns]
    frame = raw.with_columns(missing) if missing else raw
    parsed = {}
    for column in ("started_at", "answered_at", "ended_at"):
        utc, problem = parse_times(frame[column], ctx.times)
        parsed[f"_{column}"] = utc
        parsed[f"_{column}_problem"] = problem
    frame = frame.with_columns(
        _talk_s=pl.col("talk_s").str.strip_chars().cast(pl.Int64, strict=False), **parsed
    )
    # A log that writes the call's length, not its end: the end is the start's instant
    # plus it (a local start plus the length would cross a DST change in local time).
    length = pl.duration(seconds=pl.col("call_s").str.strip_chars().cast(pl.Int64, strict=False))
    frame = frame.with_columns(_ended_at=pl.coalesce("_ended_at", pl.col("_started_at") + length))
    talk = pl.col("talk_s").str.strip_chars()
    expected_time = ctx.times.expected()
    checks = [
        Check(ctx.label("call_id"), "a call id", required("call_id", "call id")),
        Check(
            ctx.label("direction"),
            ctx.expects("direction", "inbound, outbound or internal"),
            pl.when(~pl.col("direction").is_in(DIRECTIONS) | pl.col("direction").is_null()).then(
                pl.lit("cannot tell the call direction")
            ),
        ),
        Check(
            ctx.label("started_at"),
            ctx.expects("started_at", expected_time),
            required("started_at", "start time"),
        ),
        *(
            Check(
                ctx.label(column),
                ctx.expects(column, expected_time),
                pl.col(f"_{column}_problem"),
            )
            for column in ("started_at", "answered_at", "ended_at")
        ),
        Check(
            ctx.label("ended_at"),
            "an end no earlier than the start",
            pl.format("the call ends ('{}') before it starts ('{}')", "ended_at", "started_at"),
            fails=pl.col("_ended_at") < pl.col("_started_at"),
        ),
        Check(
            ctx.label("disposition"),
            ctx.expects("disposition", ", ".join(DISPOSITIONS)),
            pl.format("unknown disposition '{}'", pl.col("disposition").fill_null("")),
            fails=~pl.col("disposition").is_in(DISPOSITIONS) | pl.col("disposition").is_null(),
        ),
        Check(
            ctx.label("talk_s"),
            "a whole number of seconds",
            pl.format("'{}' is not a whole number of seconds", "talk_s"),
            fails=(talk != "") & (pl.col("_talk_s").is_null() | (pl.col("_talk_s") < 0)),
        ),
    ]
    accepted, rejects = split_rejects(frame, checks)
    client = _phones(accepted, "client_phone", ctx)
    unparsed = int(
        (accepted["client_phone"].str.strip_chars().fill_null("") != "").sum()
        - client.is_not_null().sum()
    )
    calls = accepted.select(
        source=pl.lit(ctx.source),
        call_id=pl.col("call_id").str.strip_chars(),
        line=_phones(accepted, "line", ctx),
        started_at="_started_at",
        answered_at=pl.when(pl.col("disposition") == "answered").then(pl.col("_answered_at")),
        ended_at="_ended_at",
        direction="direction",
        client_phone=client,
        client_phone_hash=hash_phone_column(client, ctx.phone_hash_key),
        manager=map_managers(accepted["manager"], ctx.manager_aliases),
        talk_s="_talk_s",
        disposition="disposition",
        file_id=pl.lit(ctx.file_id),
    )
    notes = (
        [f"{unparsed} client number(s) not understood as phones (kept the calls)"]
        if unparsed
        else []
    )
    return CallsResult(schemas.conform(calls, "calls"), rejects, notes)


def _phones(frame: pl.DataFrame, column: str, ctx: NormalizeContext) -> pl.Series:
    """A column's phones as E.164: as the preset normalised them when it passed them on."""
    given = E164_PREFIX + column
    if given in frame.columns:
        return frame[given].alias(column)
    return normalize_phone_column(frame[column].str.strip_chars(), ctx.phones)
