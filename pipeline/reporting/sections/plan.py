"""The plan for the month after the report month: marts.funnel_plan, segment total, as
`voronka plan` prints it (pipeline.planning rounds the volumes and judges the ranges)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.planning import RANGE_RATIO_MAX, PlanRow
from pipeline.reporting.model import ReportInputs


@dataclass(frozen=True)
class PlanTable:
    month: dt.date
    target: int | None
    basis_from: dt.date | None
    basis_to: dt.date | None
    steps: tuple[PlanRow, ...]  # in funnel order
    range_ratio_max: int = RANGE_RATIO_MAX

    @property
    def any_range_too_wide(self) -> bool:
        return any(step.range_too_wide for step in self.steps)

    @property
    def blocked_step(self) -> PlanRow | None:
        """The first step no client of the basis cohorts passed (conversion 0): no volume
        before it reaches the target, and its range has no upper end."""
        return next((step for step in self.steps if step.rate == 0), None)


def build(inputs: ReportInputs) -> PlanTable | None:
    """None when the mart has no plan for the month after the report month."""
    if not inputs.marts.plan:
        return None
    rows = sorted(inputs.marts.plan, key=lambda r: r.stage_order)
    first = rows[0]
    return PlanTable(
        month=first.month,
        target=first.target,
        basis_from=first.basis_from,
        basis_to=first.basis_to,
        steps=tuple(rows),
    )
