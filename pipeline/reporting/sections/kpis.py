"""Page one's tiles: the month's volumes, revenue and sales cycle, the overall
conversion of the latest mature cohort, and the bottleneck (or the weakest step)."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from pipeline.months import add_months
from pipeline.reporting.model import ReportInputs
from pipeline.reporting.sections.managers import (
    Bottleneck,
    ManagerWindow,
    build_bottleneck,
    manager_window,
)
from pipeline.reporting.stages import FunnelSnapshot, StageIndex
from pipeline.reporting.warehouse import FunnelMarts, RevenueRow, StageMonthRow


@dataclass(frozen=True)
class Comparison:
    month: dt.date
    value: float | None
    change: float | None  # current − value, both straight from the mart


@dataclass(frozen=True)
class Kpi:
    # top_volume | closed | won_amount | overall_conversion | sales_cycle | bottleneck
    # (weakest_step stands in for the bottleneck when funnel_bottleneck has none)
    key: str
    kind: str  # count | rate | money | days | sales
    value: float | None
    view: str  # period | cohort | closed | window
    month: dt.date | None
    stages: tuple[str, ...]  # the stage keys the tile names ('first → last'), in order
    vs_previous: Comparison | None
    vs_year: Comparison | None
    secondary: float | None = None  # avg_deal (won_amount), p80_days (sales_cycle)
    bottleneck: Bottleneck | None = None
    dropoff: float | None = None  # weakest_step: the step's drop-off, as the mart has it
    # weakest_step standing in for the bottleneck: the managers' window in which no
    # manager was significantly better than the rest of the team at any step.
    no_standout: ManagerWindow | None = None
    to_date: bool = False  # a figure of the month in progress: compared with no month
    no_dropoff: bool = False  # weakest_step: none, as no judged step loses a client


def _comparison(
    current: float | None,
    month: dt.date,
    lookup: Callable[[dt.date], StageMonthRow | None],
    value_of: Callable[[StageMonthRow], float | None],
) -> Comparison | None:
    row = lookup(month)
    if row is None:
        return None  # the data does not reach that month
    value = value_of(row)
    change = current - value if current is not None and value is not None else None
    return Comparison(month=month, value=value, change=change)


def won_amount_of(row: RevenueRow) -> float | None:
    """The month's won amount; None when deals were won and not one of them has an amount
    (exports without amounts: no revenue is known, not a revenue of 0)."""
    if row.won_deals and row.avg_deal is None:
        return None
    return row.won_amount


def _kpis(
    index: StageIndex,
    month: dt.date,
    mature: dt.date | None,
    cohort: FunnelSnapshot | None,
    stage_keys: Sequence[str],
    marts: FunnelMarts,
    bottleneck: Bottleneck | None,
    tables: frozenset[str],
    window: ManagerWindow | None = None,
    in_progress: bool = False,
) -> tuple[Kpi, ...]:
    """The tiles. A month in progress (not over at the data cutoff) has its volumes,
    revenue and sales cycle to date: compared with no whole month."""
    versus = (lambda *_: None) if in_progress else _comparison

    def entities(row: StageMonthRow) -> float | None:
        return row.entities

    def from_first(row: StageMonthRow) -> float | None:
        return row.conversion_from_first

    def to_next(row: StageMonthRow) -> float | None:
        return row.conversion_to_next

    def period_kpi(key: str, pick: Callable[[dt.date], StageMonthRow | None], stage: str) -> Kpi:
        row = pick(month)
        value = row.entities if row else None
        return Kpi(
            key=key,
            kind="count",
            value=value,
            view="period",
            month=month,
            stages=(stage,),
            vs_previous=versus(value, add_months(month, -1), pick, entities),
            vs_year=versus(value, add_months(month, -12), pick, entities),
            to_date=in_progress,
        )

    first, last = stage_keys[0], stage_keys[-1]
    kpis = [
        period_kpi("top_volume", lambda m: index.stage("period", m, 1), first),
        period_kpi("closed", lambda m: index.last_stage("period", m), last),
    ]

    def closed_kpi(key: str, kind: str, rows, value_of, secondary_of) -> Kpi:
        """A KPI of deals closed in month M (revenue, sales cycle), from a monthly mart."""
        by_month = {row.month: row for row in rows}
        row = by_month.get(month)
        value = value_of(row) if row else None
        return Kpi(
            key=key,
            kind=kind,
            value=value,
            view="closed",
            month=month,
            stages=(),
            vs_previous=versus(value, add_months(month, -1), by_month.get, value_of),
            vs_year=versus(value, add_months(month, -12), by_month.get, value_of),
            secondary=secondary_of(row) if row else None,
            to_date=in_progress,
        )

    if "revenue_monthly" in tables:
        kpis.append(
            closed_kpi("won_amount", "money", marts.revenue, won_amount_of, lambda r: r.avg_deal)
        )

    def cohort_kpi(
        key: str,
        pick: Callable[[dt.date], StageMonthRow | None],
        value_of: Callable[[StageMonthRow], float | None],
        stages: tuple[str, ...],
    ) -> Kpi:
        row = pick(mature) if mature else None
        value = value_of(row) if row else None
        return Kpi(
            key=key,
            kind="rate",
            value=value,
            view="cohort",
            month=mature,
            stages=stages,
            vs_previous=_comparison(value, add_months(mature, -1), pick, value_of)
            if mature
            else None,
            vs_year=_comparison(value, add_months(mature, -12), pick, value_of) if mature else None,
        )

    kpis.append(
        cohort_kpi(
            "overall_conversion",
            lambda m: index.last_stage("cohort", m),
            from_first,
            (first, last),
        )
    )

    if "sales_cycle_monthly" in tables:
        kpis.append(
            closed_kpi(
                "sales_cycle",
                "days",
                marts.sales_cycle,
                lambda r: r.median_days,
                lambda r: r.p80_days,
            )
        )

    if bottleneck is not None:
        kpis.append(
            Kpi(
                key="bottleneck",
                kind="sales",
                value=bottleneck.extra_closed_sales,
                view="window",
                month=bottleneck.month,
                stages=(),
                vs_previous=None,
                vs_year=None,
                bottleneck=bottleneck,
            )
        )
        return tuple(kpis)

    # No bottleneck: the tile names the report's weakest step, and says why when the
    # managers were judged and none was significantly better at any step.
    weakest = cohort.weakest if cohort else None
    if weakest is not None:
        following = next(stage for stage in cohort.stages if stage.order > weakest.order)
        stages = (weakest.key, following.key)
        order = weakest.order
        kpi = cohort_kpi("weakest_step", lambda m: index.stage("cohort", m, order), to_next, stages)
        kpi = dataclasses.replace(kpi, dropoff=weakest.dropoff_to_next, no_standout=window)
    else:
        kpi = cohort_kpi("weakest_step", lambda m: None, to_next, ())
        no_dropoff = bool(cohort and cohort.no_dropoff)
        kpi = dataclasses.replace(kpi, no_standout=window, no_dropoff=no_dropoff)
    kpis.append(kpi)
    return tuple(kpis)


def build(inputs: ReportInputs) -> tuple[Kpi, ...]:
    funnel, marts = inputs.funnel, inputs.marts
    bottleneck = build_bottleneck(marts, funnel)
    # "No manager is significantly better at any step" only when none is, at any step.
    standout = any(row.gap_significant and (row.gap or 0) > 0 for row in marts.scorecard)
    window = manager_window(marts, funnel) if marts.scorecard and not standout else None
    return _kpis(
        inputs.stages,
        inputs.month,
        inputs.mature,
        inputs.cohort,
        [stage.key for stage in funnel.stages],
        marts,
        bottleneck,
        inputs.tables,
        window,
        inputs.in_progress,
    )
