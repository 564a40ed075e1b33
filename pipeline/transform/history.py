"""CRM stage history: raw string frame → crm_stage_events and rejects.

Long format (one record per stage entry: deal_id, stage, entered_at[, manager]) or wide
format (one record per deal, one date column per stage: `stage_dates`). Entries read from
a history file are exact (`is_exact`), so `entered_after` stays null. A wide record with
no date at all is accepted and adds no events. A preset may mark long records that are
no stage entry (`_skip_reason`: another field's change, a deleted row): accepted, no
event, counted in the notes; `_note` values are counted into the notes as well.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline import schemas
from pipeline.transform.context import NormalizeContext
from pipeline.transform.people import map_managers
from pipeline.transform.rejects import Check, required, split_rejects
from pipeline.transform.times import parse_times

STAGE_DATE_PREFIX = "stage_date:"


@dataclass
class EventsResult:
    events: pl.DataFrame
    rejects: pl.DataFrame
    accepted_rows: int
    notes: list[str] = field(default_factory=list)


def normalize_history(raw: pl.DataFrame, ctx: NormalizeContext) -> EventsResult:
    frame = raw if "manager" in raw.columns else raw.with_columns(manager=pl.lit(None, pl.String))
    wide = [c for c in frame.columns if c.startswith(STAGE_DATE_PREFIX)]
    return _wide(frame, wide, ctx) if wide else _long(frame, ctx)


SKIP_REASON = "_skip_reason"
NOTE = "_note"


def _long(frame: pl.DataFrame, ctx: NormalizeContext) -> EventsResult:
    if SKIP_REASON in frame.columns:
        skipped = frame.filter(pl.col(SKIP_REASON).is_not_null())
        result = _long(frame.filter(pl.col(SKIP_REASON).is_null()).drop(SKIP_REASON), ctx)
        notes = _counted(skipped[SKIP_REASON], "record(s) add no stage entry")
        return EventsResult(
            result.events,
            result.rejects,
            result.accepted_rows + skipped.height,
            notes + result.notes,
        )
    entered, problem = parse_times(frame["entered_at"], ctx.times)
    frame = frame.with_columns(_entered=entered, _entered_problem=problem)
    checks = [
        Check(ctx.label("deal_id"), "a deal id", required("deal_id", "deal id")),
        Check(ctx.label("stage"), "a stage name", required("stage", "stage")),
        Check(
            ctx.label("entered_at"),
            ctx.times.expected(),
            required("entered_at", "stage entry date"),
        ),
        Check(ctx.label("entered_at"), ctx.times.expected(), pl.col("_entered_problem")),
    ]
    accepted, rejects = split_rejects(frame, checks)
    events = accepted.select(
        deal_id=pl.col("deal_id").str.strip_chars(),
        stage=pl.col("stage").str.strip_chars(),
        entered_at="_entered",
        manager="manager",
    )
    notes = _counted(accepted[NOTE], "") if NOTE in accepted.columns else []
    return EventsResult(_finish(events, ctx), rejects, accepted.height, notes)


def _counted(values: pl.Series, what: str) -> list[str]:
    """Counts of the distinct non-null values, as note lines: `3 record(s) …: reason`."""
    counts = values.drop_nulls().value_counts(sort=True, name="n")
    return [
        f"{n} {what}: {value}" if what else f"{n} {value}"
        for value, n in counts.select(values.name, "n").iter_rows()
    ]


def _wide(frame: pl.DataFrame, date_columns: list[str], ctx: NormalizeContext) -> EventsResult:
    checks = [Check(ctx.label("deal_id"), "a deal id", required("deal_id", "deal id"))]
    for column in date_columns:
        parsed, problem = parse_times(frame[column], ctx.times)
        frame = frame.with_columns(
            parsed.alias(f"_at:{column}"), problem.alias(f"_problem:{column}")
        )
        checks.append(Check(ctx.label(column), ctx.times.expected(), pl.col(f"_problem:{column}")))
    accepted, rejects = split_rejects(frame, checks)
    parts = [
        accepted.select(
            deal_id=pl.col("deal_id").str.strip_chars(),
            stage=pl.lit(column.removeprefix(STAGE_DATE_PREFIX)),
            entered_at=pl.col(f"_at:{column}"),
            manager="manager",
        ).drop_nulls("entered_at")
        for column in date_columns
    ]
    return EventsResult(_finish(pl.concat(parts), ctx), rejects, accepted.height)


def _finish(events: pl.DataFrame, ctx: NormalizeContext) -> pl.DataFrame:
    events = events.with_columns(
        manager=map_managers(events["manager"], ctx.manager_aliases),
        source=pl.lit(ctx.source),
        entered_after=pl.lit(None, dtype=schemas.UTC_TIME),
        is_exact=pl.lit(True),
        file_id=pl.lit(ctx.file_id),
    )
    return schemas.conform(events, "crm_stage_events")
