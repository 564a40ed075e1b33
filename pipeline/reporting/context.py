"""Mart rows → a plain report model for one funnel, month and locale. Pure: no I/O.

Every figure in the model is a value from marts.funnel_stage_monthly; the only
arithmetic here is choosing rows and subtracting two mart values for "change vs"
columns. The report is a list of sections, each a partial template with its data;
a later mart adds a section builder here and a partial, nothing else.
"""

from __future__ import annotations

import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.config import Funnel
from pipeline.reporting.warehouse import Cutoff, StageMonthRow

TREND_MONTHS = 12
SEGMENT_ROWS_MAX = 12
TOTAL = ("total", "all")


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> dt.date:
    """'2026-10' → date(2026, 10, 1); a clear error otherwise."""
    try:
        parsed = dt.datetime.strptime(text, "%Y-%m")
    except (TypeError, ValueError):
        raise ValueError(f"month must look like YYYY-MM, got {text!r}") from None
    return parsed.date()


# ── the model ────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class StageFigures:
    order: int
    key: str
    name: str
    entities: int
    entities_next: int | None
    conversion_to_next: float | None
    conversion_from_first: float | None
    dropoff_to_next: float | None
    ci_low: float | None
    ci_high: float | None
    share_open: float | None
    is_weakest: bool = False


@dataclass(frozen=True)
class FunnelSnapshot:
    """One view of the funnel for one month: every stage, in order."""

    view: str
    month: dt.date
    is_mature: bool
    share_open: float | None
    stages: tuple[StageFigures, ...]

    @property
    def weakest(self) -> StageFigures | None:
        return next((stage for stage in self.stages if stage.is_weakest), None)

    @property
    def has_entities(self) -> bool:
        return bool(self.stages) and self.stages[0].entities > 0


@dataclass(frozen=True)
class Comparison:
    month: dt.date
    value: float | None
    change: float | None  # current − value, both straight from the mart


@dataclass(frozen=True)
class Kpi:
    key: str  # top_volume | closed | overall_conversion | weakest_step
    kind: str  # count | rate
    value: float | None
    view: str
    month: dt.date | None
    detail: str | None
    vs_previous: Comparison | None
    vs_year: Comparison | None


@dataclass(frozen=True)
class TrendCell:
    month: dt.date
    value: float | None
    is_mature: bool


@dataclass(frozen=True)
class TrendRow:
    label: str
    kind: str  # count | rate
    cells: tuple[TrendCell, ...]


@dataclass(frozen=True)
class Trend:
    months: tuple[dt.date, ...]
    rows: tuple[TrendRow, ...]


@dataclass(frozen=True)
class SegmentRow:
    segment: str
    top_volume: int | None
    closed: int | None
    cohort_entities: int | None
    overall_conversion: float | None


@dataclass(frozen=True)
class SegmentTable:
    segment_type: str
    rows: tuple[SegmentRow, ...]
    hidden: int


@dataclass(frozen=True)
class Section:
    """A block of the report: the partial that draws it and the data it draws."""

    template: str
    data: object


@dataclass(frozen=True)
class ReportModel:
    funnel_id: str
    funnel_name: str
    locale: str
    month: dt.date
    cutoff_local: dt.datetime
    cutoff_at: dt.datetime
    timezone: str
    window_days: int
    mature_month: dt.date | None
    period: FunnelSnapshot | None
    cohort: FunnelSnapshot | None
    cohort_open: FunnelSnapshot | None
    has_data: bool
    sections: tuple[Section, ...] = field(default=())


# ── building it ──────────────────────────────────────────────────────────────


class _Index:
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


def latest_mature_month(index: _Index, month: dt.date) -> dt.date | None:
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


def _snapshot(
    rows: Sequence[StageMonthRow], view: str, month: dt.date, names: dict[str, str]
) -> FunnelSnapshot | None:
    if not rows:
        return None
    rates = [
        (row.conversion_to_next, row.stage_order)
        for row in rows
        if row.conversion_to_next is not None
    ]
    weakest_order = min(rates)[1] if rates else None
    stages = tuple(
        StageFigures(
            order=row.stage_order,
            key=row.stage_key,
            name=names.get(row.stage_key, row.stage_key),
            entities=row.entities,
            entities_next=row.entities_next,
            conversion_to_next=row.conversion_to_next,
            conversion_from_first=row.conversion_from_first,
            dropoff_to_next=row.dropoff_to_next,
            ci_low=row.conversion_ci_low,
            ci_high=row.conversion_ci_high,
            share_open=row.share_open,
            is_weakest=row.stage_order == weakest_order,
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
    )


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


def _kpis(
    index: _Index,
    month: dt.date,
    mature: dt.date | None,
    cohort: FunnelSnapshot | None,
    stage_names: Sequence[str],
) -> tuple[Kpi, ...]:
    def entities(row: StageMonthRow) -> float | None:
        return row.entities

    def from_first(row: StageMonthRow) -> float | None:
        return row.conversion_from_first

    def to_next(row: StageMonthRow) -> float | None:
        return row.conversion_to_next

    def period_kpi(key: str, pick: Callable[[dt.date], StageMonthRow | None], detail: str) -> Kpi:
        row = pick(month)
        value = row.entities if row else None
        return Kpi(
            key=key,
            kind="count",
            value=value,
            view="period",
            month=month,
            detail=detail,
            vs_previous=_comparison(value, add_months(month, -1), pick, entities),
            vs_year=_comparison(value, add_months(month, -12), pick, entities),
        )

    first_name, last_name = stage_names[0], stage_names[-1]
    kpis = [
        period_kpi("top_volume", lambda m: index.stage("period", m, 1), first_name),
        period_kpi("closed", lambda m: index.last_stage("period", m), last_name),
    ]

    def cohort_kpi(
        key: str,
        pick: Callable[[dt.date], StageMonthRow | None],
        value_of: Callable[[StageMonthRow], float | None],
        detail: str | None,
    ) -> Kpi:
        row = pick(mature) if mature else None
        value = value_of(row) if row else None
        return Kpi(
            key=key,
            kind="rate",
            value=value,
            view="cohort",
            month=mature,
            detail=detail,
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
            f"{first_name} → {last_name}",
        )
    )

    weakest = cohort.weakest if cohort else None
    if weakest is not None:
        following = next(stage for stage in cohort.stages if stage.order > weakest.order)
        detail = f"{weakest.name} → {following.name}"
        order = weakest.order
        kpis.append(
            cohort_kpi("weakest_step", lambda m: index.stage("cohort", m, order), to_next, detail)
        )
    else:
        kpis.append(cohort_kpi("weakest_step", lambda m: None, to_next, None))
    return tuple(kpis)


def _trend(
    index: _Index, month: dt.date, names: dict[str, str], size_label: str, overall_label: str
) -> Trend:
    months = tuple(add_months(month, offset) for offset in range(1 - TREND_MONTHS, 1))
    reference = next(
        (index.stages("cohort", m) for m in reversed(months) if index.stages("cohort", m)), []
    )
    if not reference:
        return Trend(months=months, rows=())

    def cells(
        order: int | None, value_of: Callable[[StageMonthRow], float | None]
    ) -> tuple[TrendCell, ...]:
        out = []
        for cohort_month in months:
            rows = index.stages("cohort", cohort_month)
            row = (
                rows[-1]
                if order is None and rows
                else next((r for r in rows if r.stage_order == order), None)
            )
            mature = bool(rows and rows[0].is_mature)
            out.append(TrendCell(cohort_month, value_of(row) if row else None, mature))
        return tuple(out)

    rows = [TrendRow(size_label, "count", cells(1, lambda r: r.entities))]
    for current, following in itertools.pairwise(reference):
        current_name = names.get(current.stage_key, current.stage_key)
        following_name = names.get(following.stage_key, following.stage_key)
        label = f"{current_name} → {following_name}"
        rows.append(
            TrendRow(label, "rate", cells(current.stage_order, lambda r: r.conversion_to_next))
        )
    rows.append(TrendRow(overall_label, "rate", cells(None, lambda r: r.conversion_from_first)))
    return Trend(months=months, rows=tuple(rows))


def _segments(
    index: _Index, funnel: Funnel, month: dt.date, mature: dt.date | None
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


def build_report_model(
    funnel: Funnel,
    locale: str,
    month: dt.date,
    cutoff: Cutoff,
    rows: Sequence[StageMonthRow],
    *,
    timezone: str,
    tables: frozenset[str] = frozenset({"funnel_stage_monthly"}),
    labels: dict[str, str] | None = None,
) -> ReportModel:
    """The whole report of one funnel × month × locale, from that funnel's mart rows."""
    labels = labels or {}
    names = {stage.key: stage.name.get(locale) for stage in funnel.stages}
    index = _Index([row for row in rows if row.funnel_id == funnel.id and row.month <= month])
    mature = latest_mature_month(index, month)
    period = _snapshot(index.stages("period", month), "period", month, names)
    cohort = _snapshot(index.stages("cohort", mature), "cohort", mature, names) if mature else None
    cohort_open = None
    if mature != month:
        candidate = _snapshot(index.stages("cohort", month), "cohort", month, names)
        if candidate is not None and candidate.has_entities and not candidate.is_mature:
            cohort_open = candidate
    has_data = period is not None or cohort is not None

    sections: list[Section] = []
    if has_data and "funnel_stage_monthly" in tables:
        stage_names = [names[stage.key] for stage in funnel.stages]
        kpis = _kpis(index, month, mature, cohort, stage_names)
        sections.append(Section("partials/kpis.html.j2", kpis))
        if period is not None:
            sections.append(Section("partials/period.html.j2", period))
        sections.append(Section("partials/cohort.html.j2", {"mature": cohort, "open": cohort_open}))
        trend = _trend(
            index,
            month,
            names,
            labels.get("trend_cohort_size", "cohort size"),
            labels.get("trend_overall", "overall"),
        )
        if trend.rows:
            sections.append(Section("partials/trend.html.j2", trend))
        segments = _segments(index, funnel, month, mature)
        if segments:
            sections.append(Section("partials/segments.html.j2", segments))
        sections.append(Section("partials/method.html.j2", None))

    return ReportModel(
        funnel_id=funnel.id,
        funnel_name=funnel.name.get(locale),
        locale=locale,
        month=month,
        cutoff_local=cutoff.cutoff_local,
        cutoff_at=cutoff.cutoff_at,
        timezone=timezone,
        window_days=funnel.window_days,
        mature_month=mature,
        period=period,
        cohort=cohort,
        cohort_open=cohort_open,
        has_data=has_data,
        sections=tuple(sections),
    )
