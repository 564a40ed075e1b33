"""Managers against the team (manager_scorecard, funnel_bottleneck): the heat map, the
bottleneck of the latest mature window and that window itself."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.config import Funnel
from pipeline.months import add_months
from pipeline.reporting.model import ReportInputs
from pipeline.reporting.warehouse import BottleneckRow, FunnelMarts, ScorecardRow
from pipeline.reporting.words import UNKNOWN


@dataclass(frozen=True)
class ManagerCell:
    stage_order: int
    rate: float | None
    n: int | None
    too_few: bool
    significant: bool
    direction: str  # above | below | even (only meaningful when significant)


@dataclass(frozen=True)
class ManagerRow:
    rank: int | None  # None: the deals that name no manager, ranked with nobody
    manager: str  # as the mart has it ((unknown) where the export had none)
    rank_rate: float | None  # shrunk_rate at the ranking step
    cells: tuple[ManagerCell | None, ...]


@dataclass(frozen=True)
class ManagerBoard:
    month: dt.date
    window_from: dt.date
    window_months: int
    steps: tuple[str, ...]  # the stage key each step starts at, in funnel order
    step_orders: tuple[int, ...]
    team_rates: tuple[float | None, ...]  # funnel_bottleneck.team_rate, same window
    rank_step: str  # the stage key the ranking step starts at
    rank_is_bottleneck: bool
    rows: tuple[ManagerRow, ...]
    rank_is_weakest: bool = False  # no bottleneck: ranked at the report's weakest step


def _cell(row: ScorecardRow) -> ManagerCell:
    significant = bool(row.gap_significant)
    gap = row.gap or 0.0
    direction = "above" if gap > 0 else ("below" if gap < 0 else "even")
    return ManagerCell(
        stage_order=row.stage_order,
        rate=row.rate,
        n=row.n,
        too_few=bool(row.too_few),
        significant=significant and not row.too_few,
        direction=direction,
    )


def build_manager_board(
    marts: FunnelMarts,
    funnel: Funnel,
    weakest_order: int | None = None,
) -> ManagerBoard | None:
    """The latest mature manager window up to the report month (the warehouse read only
    that month), ranked by the shrunk rate of the bottleneck step of the same window; with
    no bottleneck, of the report's weakest step; with neither, of the last step."""
    if not marts.scorecard:
        return None
    month = marts.scorecard[0].month
    keys = [stage.key for stage in funnel.stages]
    step_orders = tuple(range(1, len(keys)))
    team: dict[int, BottleneckRow] = {
        row.stage_order: row for row in marts.bottleneck if row.month == month
    }
    bottleneck = next((row for row in team.values() if row.is_bottleneck), None)
    if bottleneck is not None:
        rank_order = bottleneck.stage_order
    elif weakest_order in step_orders:
        rank_order = weakest_order
    else:
        rank_order = step_orders[-1]

    by_manager: dict[str, dict[int, ScorecardRow]] = {}
    for row in marts.scorecard:
        manager = UNKNOWN if row.manager is None else row.manager
        by_manager.setdefault(manager, {})[row.stage_order] = row
    # A manager with no client in the window (seen in other months only) has nothing to
    # compare: their "estimate" would be the team's prior alone.
    by_manager = {
        manager: cells
        for manager, cells in by_manager.items()
        if any((row.n or 0) > 0 for row in cells.values())
    }

    def rank_key(item: tuple[str, dict[int, ScorecardRow]]) -> tuple:
        """Best first by the rank step's shrunk rate; the deals that name no manager are
        nobody's, last, whatever their rate."""
        manager, cells = item
        rate = cells[rank_order].shrunk_rate if rank_order in cells else None
        return (manager == UNKNOWN, rate is None, -(rate or 0.0), manager)

    if not by_manager:
        return None
    rows = []
    for rank, (manager, cells) in enumerate(sorted(by_manager.items(), key=rank_key), start=1):
        rank_row = cells.get(rank_order)
        rows.append(
            ManagerRow(
                rank=None if manager == UNKNOWN else rank,
                manager=manager,
                rank_rate=rank_row.shrunk_rate if rank_row else None,
                cells=tuple(
                    _cell(cells[order]) if order in cells else None for order in step_orders
                ),
            )
        )
    window_months = next((row.window_months for row in marts.scorecard if row.window_months), 1)
    return ManagerBoard(
        month=month,
        window_from=add_months(month, 1 - window_months),
        window_months=window_months,
        steps=tuple(keys[order - 1] for order in step_orders),
        step_orders=step_orders,
        team_rates=tuple(team[order].team_rate if order in team else None for order in step_orders),
        rank_step=keys[rank_order - 1],
        rank_is_bottleneck=bottleneck is not None,
        rows=tuple(rows),
        rank_is_weakest=bottleneck is None and rank_order == weakest_order,
    )


# The least gain a bottleneck tile prints as more than 0.0 closed sales a month (one
# decimal): below it the step is no bottleneck to act on, and the tile names the weakest
# step instead.
SHOWN_EXTRA_MIN = 0.05


@dataclass(frozen=True)
class Bottleneck:
    month: dt.date
    window_from: dt.date
    stage_key: str  # the step starting at this stage
    team_rate: float | None
    best_rate: float | None
    best_manager: str | None
    extra_closed_sales: float | None


@dataclass(frozen=True)
class ManagerWindow:
    """The pooled cohort months the managers are judged on (manager_scorecard)."""

    month: dt.date
    window_from: dt.date


def manager_window(marts: FunnelMarts, funnel: Funnel) -> ManagerWindow | None:
    """The latest mature window of the bottleneck and scorecard marts up to the report
    month (the one the managers' table shows); None without either mart's rows."""
    months = [row.month for row in marts.bottleneck] + [row.month for row in marts.scorecard]
    if not months:
        return None
    month = max(months)
    default = funnel.plan.months if funnel.plan else 1
    window = next((s.window_months for s in marts.scorecard if s.window_months), default)
    return ManagerWindow(month=month, window_from=add_months(month, 1 - window))


def build_bottleneck(
    marts: FunnelMarts,
    funnel: Funnel,
) -> Bottleneck | None:
    """The bottleneck of the latest mature manager window, if it has one: the mart flags a
    step only where its best manager is significantly better than the rest of the team.
    An older window's bottleneck is not brought forward: it would be stale news."""
    window = manager_window(marts, funnel)
    row = next(
        (r for r in marts.bottleneck if r.is_bottleneck and window and r.month == window.month),
        None,
    )
    if row is None or window is None:
        return None
    if row.extra_closed_sales is not None and row.extra_closed_sales < SHOWN_EXTRA_MIN:
        return None  # "≈ +0.0 closed sales": the best manager's estimate is the team's
    return Bottleneck(
        month=row.month,
        window_from=window.window_from,
        stage_key=row.stage_key,
        team_rate=row.team_rate,
        best_rate=row.best_rate,
        best_manager=row.best_manager,
        extra_closed_sales=row.extra_closed_sales,
    )


def build(inputs: ReportInputs) -> ManagerBoard | None:
    weakest = inputs.cohort.weakest if inputs.cohort else None
    return build_manager_board(inputs.marts, inputs.funnel, weakest.order if weakest else None)
