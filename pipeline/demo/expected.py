"""The true cohort numbers the demo's process implies, computed exactly.

P(a prospect reaches stage k within window_days of t0) = Π advance probabilities
before k × P(D_entry + … + D_{k-1} ≤ window_days × 24 h), each delay D_j being the
mixture "skipped → 0 h" / uniform whole hours [lo, hi], convolved exactly on the
hour grid. Only which funnel, manager and lead source a prospect got, and whether it
started after the planted change (scenario.PLANTED_CHANGE), enters (doors
walk-ins, who start at the deal stage with stage 1 implied, are mixed in by their
share); the process's random draws do not, so the pipeline's counts are one
realisation of these numbers (compare mature cohorts: the snapshot cuts the rest).
A prospect's cohort month is the month of its start t0 on the wall clock of the zone the
exports are written in (World.timezone), as the pipeline configured with that zone cuts it.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
from collections.abc import Iterable
from dataclasses import dataclass
from itertools import accumulate

from pipeline.demo.scenario import (
    EARLIER_SNAPSHOT_LOCAL,
    FIRST_MONTH,
    FUNNEL_BY_ID,
    FUNNELS,
    MONTHS,
    PLANTED_CHANGE,
    SNAPSHOT_LOCAL,
    TIMEZONE,
    FunnelScenario,
    advance_probability,
    calendar_months,
    can_regress,
    local_to_utc,
    next_month,
    skip_probability,
    wall_time,
)
from pipeline.demo.simulate import World

SEGMENT_TYPES = ("total", "manager", "lead_source")
COHORT_COLUMNS = (
    "funnel_id",
    "cohort_month",
    "segment_type",
    "segment",
    "stage_order",
    "stage_key",
    "prospects",
    "expected_entities",
)


@dataclass(frozen=True)
class ExpectedRow:
    funnel_id: str
    cohort_month: dt.date
    segment_type: str
    segment: str
    stage_order: int
    stage_key: str
    prospects: int
    expected_entities: float


def add_delay(distribution: list[float], skip: float, low: int, high: int) -> list[float]:
    """S + D on hours 0…H (mass beyond H dropped); D = 0 w.p. `skip`, else uniform [low, high]."""
    prefix = list(accumulate(distribution))
    width = high - low + 1
    result = []
    for hour, mass in enumerate(distribution):
        upper, lower = hour - low, hour - high - 1
        spread = (prefix[upper] if upper >= 0 else 0.0) - (prefix[lower] if lower >= 0 else 0.0)
        result.append(skip * mass + (1.0 - skip) * spread / width)
    return result


def within_window(funnel: FunnelScenario, entry_order: int, window_days: int) -> list[float]:
    """P(the delays from `entry_order` up to stage k sum to ≤ the window), per stage k."""
    horizon = window_days * 24
    distribution = [1.0] + [0.0] * horizon
    shares = [1.0] * entry_order
    for order in range(entry_order, len(funnel.stages)):
        low, high = funnel.steps[order - 1].delay_hours
        distribution = add_delay(distribution, skip_probability(funnel, order), low, high)
        shares.append(sum(distribution))
    return shares


def reach_from(
    funnel: FunnelScenario,
    manager: str,
    source: str,
    entry_order: int,
    window_days: int,
    changed: bool = False,
) -> list[float]:
    """P(reach stage k within the window) for a prospect first recorded at `entry_order`."""
    shares = within_window(funnel, entry_order, window_days)
    reach, advanced = [], 1.0
    for order in range(1, len(funnel.stages) + 1):
        if order > entry_order:
            advanced *= advance_probability(funnel, manager, source, order - 1, changed)
        reach.append(advanced * shares[order - 1])
    return reach


def reach_probabilities(
    funnel: FunnelScenario,
    manager: str,
    source: str,
    window_days: int | None = None,
    changed: bool = False,
) -> tuple[float, ...]:
    """Per stage: P(reached within window_days of t0), walk-ins mixed in by their share;
    `changed`: the prospect started after the planted change (PlantedChange.applies)."""
    window = funnel.window_days if window_days is None else window_days
    callers = reach_from(funnel, manager, source, 1, window, changed)
    if funnel.walk_in_share == 0:
        return tuple(callers)
    walk_ins = reach_from(funnel, manager, source, funnel.deal_stage_order, window, changed)
    share = funnel.walk_in_share
    return tuple(share * w + (1 - share) * c for w, c in zip(walk_ins, callers, strict=True))


def expected_rows(world: World) -> list[ExpectedRow]:
    cache: dict[tuple[str, str, str, bool], tuple[float, ...]] = {}
    totals: dict[tuple[str, dt.date, str, str], list] = {}
    for prospect in world.prospects:
        funnel = FUNNEL_BY_ID[prospect.funnel_id]
        changed = PLANTED_CHANGE.applies(funnel.funnel_id, prospect.manager, prospect.t0)
        key = (funnel.funnel_id, prospect.manager, prospect.lead_source, changed)
        if key not in cache:
            cache[key] = reach_probabilities(
                funnel, prospect.manager, prospect.lead_source, changed=changed
            )
        month = world.wall(prospect.t0).date().replace(day=1)
        for segment_type, segment in zip(
            SEGMENT_TYPES, ("all", prospect.manager, prospect.lead_source), strict=True
        ):
            slot = totals.setdefault(
                (funnel.funnel_id, month, segment_type, segment), [0, [0.0] * len(funnel.stages)]
            )
            slot[0] += 1
            slot[1] = [total + p for total, p in zip(slot[1], cache[key], strict=True)]
    funnel_rank = {funnel.funnel_id: rank for rank, funnel in enumerate(FUNNELS)}
    ordered = sorted(
        totals, key=lambda k: (funnel_rank[k[0]], k[1], SEGMENT_TYPES.index(k[2]), k[3])
    )
    rows = []
    for funnel_id, month, segment_type, segment in ordered:
        prospects, sums = totals[(funnel_id, month, segment_type, segment)]
        for order, stage in enumerate(FUNNEL_BY_ID[funnel_id].stages, 1):
            rows.append(
                ExpectedRow(
                    funnel_id,
                    month,
                    segment_type,
                    segment,
                    order,
                    stage.key,
                    prospects,
                    sums[order - 1],
                )
            )
    return rows


def is_mature(funnel: FunnelScenario, month: dt.date, zone: str = TIMEZONE) -> bool:
    """The pipeline's maturity: end of the month + window_days ≤ the final snapshot,
    both on the wall clock of `zone`."""
    window_end = dt.datetime.combine(next_month(month), dt.time()) + dt.timedelta(
        days=funnel.window_days
    )
    return window_end <= wall_time(SNAPSHOT_LOCAL, zone)


def pooled_conversions(
    rows: Iterable[ExpectedRow], funnel: FunnelScenario, zone: str = TIMEZONE
) -> dict[str, float]:
    """Σ expected(k+1) / Σ expected(k) over the total rows of mature cohorts."""
    sums = [0.0] * len(funnel.stages)
    for row in rows:
        if (
            row.funnel_id == funnel.funnel_id
            and row.segment_type == "total"
            and is_mature(funnel, row.cohort_month, zone)
        ):
            sums[row.stage_order - 1] += row.expected_entities
    return {
        stage.key: round(sums[order + 1] / sums[order], 6)
        for order, stage in enumerate(funnel.stages[:-1])
        if sums[order] > 0
    }


def cohorts_csv(rows: Iterable[ExpectedRow]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COHORT_COLUMNS)
    for row in rows:
        writer.writerow(
            [
                row.funnel_id,
                row.cohort_month.isoformat(),
                row.segment_type,
                row.segment,
                row.stage_order,
                row.stage_key,
                row.prospects,
                f"{row.expected_entities:.6f}",
            ]
        )
    return buffer.getvalue().encode("utf-8")


def funnel_parameters(
    funnel: FunnelScenario, rows: list[ExpectedRow], zone: str = TIMEZONE
) -> dict:
    stage_count = len(funnel.stages)
    steps = {}
    for order, step in enumerate(funnel.steps, 1):
        steps[step.from_key] = {
            "to": funnel.stages[order].key,
            "base_rate": step.base_rate,
            "delay_hours": list(step.delay_hours),
            "skip_prob": skip_probability(funnel, order),
            "regression_prob": step.regression_prob if can_regress(funnel, order) else 0.0,
            "lost_reasons": list(step.lost_reasons),
        }
    mature = [month.isoformat() for month in calendar_months() if is_mature(funnel, month, zone)]
    return {
        "pipeline": funnel.pipeline,
        "window_days": funnel.window_days,
        "stages": list(funnel.stage_keys),
        "deal_created_at_stage": funnel.stages[funnel.deal_stage_order - 1].key,
        "entry": funnel.entry,
        "walk_in_share": funnel.walk_in_share,
        "monthly_volume": funnel.monthly_volume,
        "seasonality": list(funnel.seasonality),
        "steps": steps,
        "base_rates": {step.from_key: step.base_rate for step in funnel.steps},
        "manager_shares": dict(funnel.managers),
        "manager_multipliers": {
            m: funnel.manager_multipliers.get(m, {}) for m, _ in funnel.managers
        },
        "source_shares": dict(funnel.sources),
        "source_multipliers": {s: funnel.source_multipliers.get(s, {}) for s, _ in funnel.sources},
        "probability_clip": [0.01, 0.99],
        "loss_delay_hours": list(funnel.loss_delay_hours),
        "WEAKEST": {"manager": funnel.weakest[0], "from_stage": funnel.weakest[1]},
        "STRONGEST": {"manager": funnel.strongest[0], "from_stage": funnel.strongest[1]},
        "mature_cohort_months": mature,
        "pooled_conversion_to_next": pooled_conversions(rows, funnel, zone),
        "stage_count": stage_count,
    }


def parameters_json(seed: int, rows: list[ExpectedRow], zone: str = TIMEZONE) -> bytes:
    last_month = calendar_months()[-1]
    document = {
        "seed": seed,
        "calendar": {
            "timezone": zone,
            "first_cohort_month": FIRST_MONTH.isoformat(),
            "last_cohort_month": last_month.isoformat(),
            "months": MONTHS,
            "snapshot_local": wall_time(SNAPSHOT_LOCAL, zone).isoformat(),
            "snapshot_utc": local_to_utc(SNAPSHOT_LOCAL).isoformat(),
            "earlier_snapshot_local": wall_time(EARLIER_SNAPSHOT_LOCAL, zone).isoformat(),
        },
        "funnels": {funnel.funnel_id: funnel_parameters(funnel, rows, zone) for funnel in FUNNELS},
        "PLANTED_CHANGE": {
            "funnel_id": PLANTED_CHANGE.funnel_id,
            "manager": PLANTED_CHANGE.manager,
            "from_stage": PLANTED_CHANGE.from_key,
            "from_month": PLANTED_CHANGE.from_month.isoformat(),
            "factor": PLANTED_CHANGE.factor,
        },
    }
    return (json.dumps(document, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
