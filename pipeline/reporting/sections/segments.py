"""The funnel by segment (funnel_stage_monthly's segment rows): the period's entries and
closes, the mature cohort's size and overall conversion, one table per segment type."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.config import Funnel
from pipeline.reporting.model import ReportInputs
from pipeline.reporting.stages import MIN_CLIENTS_TO_JUDGE, StageIndex

SEGMENT_ROWS_MAX = 12


@dataclass(frozen=True)
class SegmentRow:
    segment: str  # as the mart has it
    top_volume: int | None
    closed: int | None
    cohort_entities: int | None
    overall_conversion: float | None

    @property
    def few(self) -> bool:
        """Its cohort is too small for its rate to be compared (printed grey)."""
        return self.cohort_entities is not None and self.cohort_entities < MIN_CLIENTS_TO_JUDGE


@dataclass(frozen=True)
class SegmentTable:
    segment_type: str
    rows: tuple[SegmentRow, ...]
    hidden: int

    @property
    def has_few(self) -> bool:
        return any(row.few and row.overall_conversion is not None for row in self.rows)


def _segments(
    index: StageIndex,
    funnel: Funnel,
    month: dt.date,
    mature: dt.date | None,
) -> tuple[SegmentTable, ...]:
    tables = []
    for segment_type in funnel.segment_types:
        period = index.segments.get(("period", month, segment_type), {})
        cohort = index.segments.get(("cohort", mature, segment_type), {}) if mature else {}
        names = sorted(set(period) | set(cohort))
        rows = []
        for name in names:
            period_rows = period.get(name, [])
            cohort_rows = cohort.get(name, [])
            rows.append(
                SegmentRow(
                    segment=name,
                    top_volume=period_rows[0].entities if period_rows else None,
                    closed=period_rows[-1].entities if period_rows else None,
                    cohort_entities=cohort_rows[0].entities if cohort_rows else None,
                    overall_conversion=cohort_rows[-1].conversion_from_first
                    if cohort_rows
                    else None,
                )
            )
        rows = [row for row in rows if (row.top_volume or 0) > 0 or (row.cohort_entities or 0) > 0]
        if not rows:
            continue
        rows.sort(
            key=lambda row: (-(row.top_volume or 0), -(row.cohort_entities or 0), row.segment)
        )
        shown = rows[:SEGMENT_ROWS_MAX]
        tables.append(SegmentTable(segment_type, tuple(shown), hidden=len(rows) - len(shown)))
    return tuple(tables)


def build(inputs: ReportInputs) -> tuple[SegmentTable, ...] | None:
    tables = _segments(inputs.stages, inputs.funnel, inputs.month, inputs.mature)
    return tables or None
