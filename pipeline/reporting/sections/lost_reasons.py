"""Lost reasons of the report month (marts.lost_reasons), per last reached stage."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import Funnel
from pipeline.reporting.model import ReportInputs
from pipeline.reporting.warehouse import FunnelMarts, LostReasonRow

LOST_REASONS_PER_STAGE = 6


@dataclass(frozen=True)
class LostStage:
    stage_key: str  # the last stage the deals reached, as the mart has it
    reasons: tuple[LostReasonRow, ...]  # the most frequent first
    hidden: int


def build_lost_reasons(marts: FunnelMarts, funnel: Funnel) -> tuple[LostStage, ...]:
    """Month M, all deals: per last reached stage (funnel order), reasons by count."""
    order = {stage.key: position for position, stage in enumerate(funnel.stages)}
    by_stage: dict[str, list] = {}
    for row in marts.lost_reasons:
        by_stage.setdefault(row.stage_key, []).append(row)
    stages = []
    for stage_key in sorted(by_stage, key=lambda key: (order.get(key, -1), key)):
        rows = sorted(by_stage[stage_key], key=lambda r: (-r.deals, r.reason))
        shown = rows[:LOST_REASONS_PER_STAGE]
        stages.append(LostStage(stage_key, tuple(shown), hidden=len(rows) - len(shown)))
    return tuple(stages)


def build(inputs: ReportInputs) -> tuple[LostStage, ...] | None:
    """Shown whenever the mart exists: a month without lost deals says so."""
    if "lost_reasons" not in inputs.tables:
        return None
    return build_lost_reasons(inputs.marts, inputs.funnel)
