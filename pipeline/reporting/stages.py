"""The funnel's views of one month from marts.funnel_stage_monthly: the period, the latest
mature cohort (its weakest step judged) and the open cohort. Pure: rows in, values out."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.reporting.warehouse import FunnelMarts, StageMonthRow

TOTAL = ("total", "all")
# A step is judged only when at least this many clients entered it: the managers' rule
# (manager_scorecard.too_few is n < 30), so no section flags a step on counts too small.
MIN_CLIENTS_TO_JUDGE = 30


@dataclass(frozen=True)
class StageFigures:
    order: int
    key: str
    entities: int
    entities_next: int | None
    conversion_to_next: float | None
    conversion_from_first: float | None
    dropoff_to_next: float | None
    ci_low: float | None
    ci_high: float | None
    share_open: float | None
    is_weakest: bool = False  # the report's one weakest step (weakest_order)
    median_days: float | None = None  # stage_durations: days to the next stage

    @property
    def shown_dropoff(self) -> float | None:
        """The drop-off as printed: none when negative (a period view's month in which more
        entered the next stage than this one: its conversion is over 100 %)."""
        dropoff = self.dropoff_to_next
        return None if dropoff is None or dropoff < 0 else dropoff


@dataclass(frozen=True)
class FunnelSnapshot:
    """One view of the funnel for one month: every stage, in order."""

    view: str
    month: dt.date
    is_mature: bool
    share_open: float | None
    stages: tuple[StageFigures, ...]
    durations_month: dt.date | None = None  # set when the stages carry median_days
    judged: bool = False  # the weakest-step rule was applied to this view (mature cohort)
    no_dropoff: bool = False  # judged, and no judged step loses a client (no_step_drops)

    @property
    def weakest(self) -> StageFigures | None:
        return next((stage for stage in self.stages if stage.is_weakest), None)

    @property
    def has_entities(self) -> bool:
        return bool(self.stages) and self.stages[0].entities > 0


class StageIndex:
    """Total rows by (view, month) and segment rows by (view, month, type)."""

    def __init__(self, rows: Sequence[StageMonthRow]) -> None:
        self.total: dict[tuple[str, dt.date], list[StageMonthRow]] = {}
        self.segments: dict[tuple[str, dt.date, str], dict[str, list[StageMonthRow]]] = {}
        for row in sorted(
            rows, key=lambda r: (r.view, r.month, r.segment_type, r.segment, r.stage_order)
        ):
            if (row.segment_type, row.segment) == TOTAL:
                self.total.setdefault((row.view, row.month), []).append(row)
            else:
                by_segment = self.segments.setdefault((row.view, row.month, row.segment_type), {})
                by_segment.setdefault(row.segment, []).append(row)

    def stages(self, view: str, month: dt.date) -> list[StageMonthRow]:
        return self.total.get((view, month), [])

    def stage(self, view: str, month: dt.date, order: int) -> StageMonthRow | None:
        return next((row for row in self.stages(view, month) if row.stage_order == order), None)

    def last_stage(self, view: str, month: dt.date) -> StageMonthRow | None:
        rows = self.stages(view, month)
        return rows[-1] if rows else None

    def total_rows(self) -> list[StageMonthRow]:
        """Every total row (the trends' overall-conversion panel reads them)."""
        return [row for rows in self.total.values() for row in rows]


def latest_mature_month(index: StageIndex, month: dt.date) -> dt.date | None:
    """The latest cohort month ≤ `month` that is mature and has entities."""
    candidates = [
        cohort_month
        for (view, cohort_month), rows in index.total.items()
        if view == "cohort"
        and cohort_month <= month
        and rows
        and rows[0].is_mature
        and rows[0].entities > 0
    ]
    return max(candidates, default=None)


def snapshot(
    rows: Sequence[StageMonthRow],
    view: str,
    month: dt.date,
    median_days: dict[int, float | None] | None = None,
    *,
    judge: bool = False,
) -> FunnelSnapshot | None:
    """One view of the funnel; `judge` marks the weakest step (the mature cohort only)."""
    if not rows:
        return None
    median_days = median_days or {}
    weakest = weakest_order(rows) if judge else None
    stages = tuple(
        StageFigures(
            order=row.stage_order,
            key=row.stage_key,
            entities=row.entities,
            entities_next=row.entities_next,
            conversion_to_next=row.conversion_to_next,
            conversion_from_first=row.conversion_from_first,
            dropoff_to_next=row.dropoff_to_next,
            ci_low=row.conversion_ci_low,
            ci_high=row.conversion_ci_high,
            share_open=row.share_open,
            is_weakest=row.stage_order == weakest,
            median_days=median_days.get(row.stage_order),
        )
        for row in rows
    )
    first = rows[0]
    return FunnelSnapshot(
        view=view,
        month=month,
        is_mature=bool(first.is_mature),
        share_open=first.share_open,
        stages=stages,
        durations_month=month if median_days else None,
        judged=judge,
        no_dropoff=judge and no_step_drops(rows),
    )


def _judged_steps(rows: Sequence[StageMonthRow]) -> list[tuple[float, int]]:
    """(conversion to the next stage, stage order) of the steps that at least
    MIN_CLIENTS_TO_JUDGE clients entered."""
    return [
        (row.conversion_to_next, row.stage_order)
        for row in rows
        if row.conversion_to_next is not None and row.entities >= MIN_CLIENTS_TO_JUDGE
    ]


def weakest_order(rows: Sequence[StageMonthRow]) -> int | None:
    """The report's one weakest step: the lowest conversion to the next stage (largest
    drop-off) among the judged steps; ties go to the earlier step. None with fewer than two
    such steps (nothing to compare), or when none of them loses a client (no_step_drops)."""
    judged = _judged_steps(rows)
    if len(judged) < 2:
        return None
    rate, order = min(judged)
    return order if rate < 1 else None


def no_step_drops(rows: Sequence[StageMonthRow]) -> bool:
    """Two or more judged steps, and every one converts all its clients (100 % or more):
    no step is weaker than another."""
    judged = _judged_steps(rows)
    return len(judged) >= 2 and min(judged)[0] >= 1


def median_days(marts: FunnelMarts, month: dt.date | None) -> dict[int, float | None]:
    return {row.stage_order: row.median_days for row in marts.durations if row.month == month}


def stage_times_unknown(converted: int, timed: int) -> bool:
    """Most stage transitions rest on stages known only from snapshots (exports without
    history): the mart withholds their durations, and the report says why."""
    return converted > 0 and 2 * timed < converted


def stage_times_mostly_unknown(durations: Sequence) -> bool:
    return stage_times_unknown(
        sum(row.converted or 0 for row in durations),
        sum(row.converted_timed or 0 for row in durations),
    )
