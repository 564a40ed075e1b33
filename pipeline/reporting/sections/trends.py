"""12 months of cohorts as small multiples: the cohort size, each step's conversion
(funnel_stage_trends, cohort view) and the overall conversion (funnel_stage_monthly)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.config import Funnel
from pipeline.months import add_months
from pipeline.reporting.model import ReportInputs
from pipeline.reporting.warehouse import FunnelMarts, StageMonthRow, StageTrendRow

TREND_MONTHS = 12


@dataclass(frozen=True)
class TrendPoint:
    month: dt.date
    value: float | None
    is_mature: bool


@dataclass(frozen=True)
class TrendPanel:
    label: str | None  # the label key of a panel that is not a step's
    step: str | None  # the stage key a step's panel starts at
    kind: str  # rate | count
    points: tuple[TrendPoint, ...]
    latest: TrendPoint | None  # the latest mature point with a value
    change_vs_year: float | None  # from the mart, for `latest`


@dataclass(frozen=True)
class Trends:
    months: tuple[dt.date, ...]
    panels: tuple[TrendPanel, ...]


def build_trends(
    marts: FunnelMarts,
    stage_rows: Sequence[StageMonthRow],
    funnel: Funnel,
    month: dt.date,
) -> Trends | None:
    """One panel per step conversion (funnel_stage_trends, cohort view), plus the cohort
    size and the overall conversion (funnel_stage_monthly), over the last 12 months. A
    warehouse without funnel_stage_trends rows (built before that mart) gives the steps'
    conversions from funnel_stage_monthly's cohort rows, without the change vs a year ago."""
    months = tuple(add_months(month, offset) for offset in range(1 - TREND_MONTHS, 1))
    keys = [stage.key for stage in funnel.stages]
    cohort_totals = [
        row
        for row in stage_rows
        if row.view == "cohort" and (row.segment_type, row.segment) == ("total", "all")
    ]
    by_step: dict[int, dict[dt.date, object]] = {}
    for row in marts.trends or [row for row in cohort_totals if row.month in months]:
        by_step.setdefault(row.stage_order, {})[row.month] = row
    if not by_step:
        return None

    def panel(
        title: tuple[str | None, str | None], kind: str, series: Mapping[dt.date, tuple]
    ) -> TrendPanel:
        points = tuple(TrendPoint(m, *(series.get(m) or (None, False))[:2]) for m in months)
        latest_month = max((p.month for p in points if _is_latest_candidate(p, kind)), default=None)
        latest = next((p for p in points if p.month == latest_month), None)
        change = series[latest_month][2] if latest_month and len(series[latest_month]) > 2 else None
        return TrendPanel(*title, kind, points, latest, change)

    panels = []
    first = by_step.get(1, {})
    panels.append(
        panel(
            ("trend_cohort_size", None),
            "count",
            {m: (row.entities, bool(row.is_mature)) for m, row in first.items()},
        )
    )
    for order in sorted(by_step):
        if order >= len(keys):
            continue  # the last stage has no step
        series = {
            m: (row.conversion_to_next, bool(row.is_mature), change_vs_last_year(row))
            for m, row in by_step[order].items()
        }
        panels.append(panel((None, keys[order - 1]), "rate", series))
    overall: dict[dt.date, tuple] = {}
    last_order = len(keys)
    for row in cohort_totals:
        if row.stage_order == last_order and row.month in months:
            overall[row.month] = (row.conversion_from_first, bool(row.is_mature))
    if overall:
        panels.append(panel(("trend_overall", None), "rate", overall))
    return Trends(months=months, panels=tuple(panels))


def _is_latest_candidate(point: TrendPoint, kind: str) -> bool:
    """A mature point with a value; a cohort of no clients is no cohort to point at (as
    stages.latest_mature_month)."""
    has_value = point.value is not None and (kind != "count" or point.value > 0)
    return point.is_mature and has_value


def change_vs_last_year(row: StageTrendRow | StageMonthRow) -> float | None:
    """funnel_stage_trends' change vs the same cohort month a year before (none in
    funnel_stage_monthly)."""
    return row.change_vs_last_year if isinstance(row, StageTrendRow) else None


def build(inputs: ReportInputs) -> Trends | None:
    return build_trends(
        inputs.marts,
        inputs.stages.total_rows(),
        inputs.funnel,
        inputs.month,
    )
