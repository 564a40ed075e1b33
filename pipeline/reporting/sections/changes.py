"""Page one's "What changed": the significant step changes of the latest judged month.

Pure: marts.funnel_changes rows in (one funnel, one month), a plain frozen model out.
The figures are the mart's; this only picks and orders them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from pipeline.months import add_months
from pipeline.reporting.model import ReportInputs
from pipeline.reporting.warehouse import ChangeRow, FunnelMarts

CHANGES_SHOWN_MAX = 3
BASELINE_MONTHS = 6  # as in marts.funnel_changes
TOTAL = "total"


@dataclass(frozen=True)
class ChangeItem:
    stage_key: str  # the step that starts at this stage
    segment_type: str | None  # with segment: the segment changed; None for the whole funnel
    segment: str | None
    direction: str  # up | down
    change_pp: float
    rate_recent: float | None
    rate_baseline: float | None
    behind_type: str | None  # with behind: the segment with the largest share of a
    behind: str | None  # total's change
    behind_pp: float | None  # that share, in percentage points


@dataclass(frozen=True)
class Changes:
    month: dt.date  # the cohort month judged
    baseline_from: dt.date
    baseline_to: dt.date
    items: tuple[ChangeItem, ...]
    more: int  # significant changes beyond the ones shown
    tested: int  # cells with enough clients on both sides: judged, or every client or none
    # converted on both (no change to test; the Benjamini-Hochberg family leaves them out)


def _behind(row: ChangeRow, rows: Sequence[ChangeRow]) -> ChangeRow | None:
    """The segment, of any type, whose contribution to the total's change is largest in
    the change's direction (contributions of one type add up to the change)."""
    sign = 1 if row.change_pp > 0 else -1
    candidates = [
        other
        for other in rows
        if other.segment_type != TOTAL
        and other.stage_order == row.stage_order
        and other.contribution_pp is not None
        and sign * other.contribution_pp > 0
    ]
    if not candidates:
        return None
    return min(
        candidates,
        key=lambda other: (-sign * other.contribution_pp, other.segment_type, other.segment),
    )


def build_changes(
    marts: FunnelMarts,
) -> Changes | None:
    """None when no month could be judged yet (fewer than seven mature cohort months)."""
    rows = marts.changes
    if not rows:
        return None
    month = rows[0].month
    significant = sorted(
        (row for row in rows if row.is_significant and row.change_pp),
        key=lambda row: (row.q_value, row.segment_type != TOTAL, row.stage_order, row.segment),
    )
    items: list[ChangeItem] = []
    explained: set[tuple[int, str, str]] = set()
    for row in significant:
        if row.segment_type == TOTAL and (behind := _behind(row, rows)) is not None:
            explained.add((behind.stage_order, behind.segment_type, behind.segment))
    for row in significant:
        if (row.stage_order, row.segment_type, row.segment) in explained:
            continue  # told as the segment behind its step's total change
        behind = _behind(row, rows) if row.segment_type == TOTAL else None
        items.append(
            ChangeItem(
                stage_key=row.stage_key,
                segment_type=None if row.segment_type == TOTAL else row.segment_type,
                segment=None if row.segment_type == TOTAL else row.segment,
                direction="up" if row.change_pp > 0 else "down",
                change_pp=row.change_pp,
                rate_recent=row.rate_recent,
                rate_baseline=row.rate_baseline,
                behind_type=behind.segment_type if behind else None,
                behind=behind.segment if behind else None,
                behind_pp=behind.contribution_pp if behind else None,
            )
        )
    return Changes(
        month=month,
        baseline_from=add_months(month, -BASELINE_MONTHS),
        baseline_to=add_months(month, -1),
        items=tuple(items[:CHANGES_SHOWN_MAX]),
        more=max(0, len(items) - CHANGES_SHOWN_MAX),
        tested=sum(1 for row in rows if row.too_few is False),
    )


def build(inputs: ReportInputs) -> Changes | None:
    return build_changes(inputs.marts)
