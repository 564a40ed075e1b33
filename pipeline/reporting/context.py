"""Mart rows → a plain report model for one funnel, month and locale. Pure: no I/O.

Every figure in the model is a mart value; the only arithmetic here is choosing rows
and subtracting two mart values for "change vs" columns. The report is a list of
sections, each a partial template with its data; the funnel's own sections are built
here, the others (trends, managers, lost reasons, plan, appendix) in sections.py.
Every string of the finished model is capped at TEXT_MAX characters (`capped`): text from
exports (a manager, a lost reason, a stage or file name) may be any length, and one
10,000-character word costs WeasyPrint minutes and breaks the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from pipeline.config import Funnel
from pipeline.reporting import sections as extra
from pipeline.reporting.changes import build_changes
from pipeline.reporting.months import add_months, parse_month
from pipeline.reporting.sections import Bottleneck, ManagerWindow, display_value
from pipeline.reporting.warehouse import Cutoff, FunnelMarts, StageMonthRow

__all__ = ["add_months", "build_report_model", "capped", "parse_month", "with_amendment"]

TREND_MONTHS = 12
# The longest text a report prints as one value: longer values end in an ellipsis. Real
# names, reasons and file paths fit; a table cell of 120 characters wraps in a few lines.
TEXT_MAX = 120
ELLIPSIS = "…"
SEGMENT_ROWS_MAX = 12
TOTAL = ("total", "all")
# A step is judged only when at least this many clients entered it: the managers' rule
# (manager_scorecard.too_few is n < 30), so no section flags a step on counts too small.
MIN_CLIENTS_TO_JUDGE = 30
AMENDED_CHANGES_MAX = 6


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
    is_weakest: bool = False  # the report's one weakest step (weakest_order)
    median_days: float | None = None  # stage_durations: days to the next stage


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
    # top_volume | closed | won_amount | overall_conversion | sales_cycle | bottleneck
    # (weakest_step stands in for the bottleneck when funnel_bottleneck has none)
    key: str
    kind: str  # count | rate | money | days | sales
    value: float | None
    view: str  # period | cohort | closed | window
    month: dt.date | None
    detail: str | None
    vs_previous: Comparison | None
    vs_year: Comparison | None
    secondary: float | None = None  # avg_deal (won_amount), p80_days (sales_cycle)
    bottleneck: Bottleneck | None = None
    dropoff: float | None = None  # weakest_step: the step's drop-off, as the mart has it
    # weakest_step standing in for the bottleneck: the managers' window in which no
    # manager was significantly better than the rest of the team at any step.
    no_standout: ManagerWindow | None = None


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
    title: str
    rows: tuple[SegmentRow, ...]
    hidden: int


@dataclass(frozen=True)
class Section:
    """A block of the report: the partial that draws it and the data it draws."""

    template: str
    data: object


@dataclass(frozen=True)
class FigureChange:
    """One printed figure that changed since the previous version of the report."""

    view: str  # period | cohort | cohort_month
    month: dt.date | None
    stage: str | None
    measure: str  # entities | conversion_to_next | median_days | cohort_month
    old: object
    new: object


@dataclass(frozen=True)
class Amendment:
    edition: int  # 2 for the first amended version
    previous_as_of: dt.datetime | None  # the data cutoff of the version it amends
    changes: tuple[FigureChange, ...]
    more: int  # changes not listed


@dataclass(frozen=True)
class Notice:
    """A page-one notice: a label key, and for an amended report what changed."""

    key: str
    amendment: Amendment | None = None


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
    notices: tuple[Notice, ...] = ()  # page 1: what the data cannot support, amendments
    currency: str | None = None  # ISO 4217 of the sums (config `currency`)

    @property
    def notice_keys(self) -> tuple[str, ...]:
        return tuple(notice.key for notice in self.notices)


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
    rows: Sequence[StageMonthRow],
    view: str,
    month: dt.date,
    names: dict[str, str],
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
            name=names.get(row.stage_key, row.stage_key),
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
    )


def weakest_order(rows: Sequence[StageMonthRow]) -> int | None:
    """The report's one weakest step: the lowest conversion to the next stage (largest
    drop-off) among steps that at least MIN_CLIENTS_TO_JUDGE clients entered; ties go to
    the earlier step. None with fewer than two such steps: nothing to compare."""
    judged = [
        (row.conversion_to_next, row.stage_order)
        for row in rows
        if row.conversion_to_next is not None and row.entities >= MIN_CLIENTS_TO_JUDGE
    ]
    return min(judged)[1] if len(judged) >= 2 else None


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
    marts: FunnelMarts,
    bottleneck: Bottleneck | None,
    tables: frozenset[str],
    window: ManagerWindow | None = None,
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
            detail=None,
            vs_previous=_comparison(value, add_months(month, -1), by_month.get, value_of),
            vs_year=_comparison(value, add_months(month, -12), by_month.get, value_of),
            secondary=secondary_of(row) if row else None,
        )

    if "revenue_monthly" in tables:
        kpis.append(
            closed_kpi(
                "won_amount", "money", marts.revenue, lambda r: r.won_amount, lambda r: r.avg_deal
            )
        )

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
                detail=bottleneck.step,
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
        detail = f"{weakest.name} → {following.name}"
        order = weakest.order
        kpi = cohort_kpi("weakest_step", lambda m: index.stage("cohort", m, order), to_next, detail)
        kpi = dataclasses.replace(kpi, dropoff=weakest.dropoff_to_next, no_standout=window)
    else:
        kpi = cohort_kpi("weakest_step", lambda m: None, to_next, None)
        kpi = dataclasses.replace(kpi, no_standout=window)
    kpis.append(kpi)
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


def _segment_title(funnel: Funnel, segment_type: str, locale: str, labels: dict[str, str]) -> str:
    """The heading of a segment table: the config's localized name for a custom type."""
    for segment in funnel.segments:
        if not isinstance(segment, str) and segment.type == segment_type and segment.name:
            return segment.name.get(locale)
    return labels.get(f"segment_type_{segment_type}", segment_type)


def _segments(
    index: _Index,
    funnel: Funnel,
    month: dt.date,
    mature: dt.date | None,
    locale: str,
    labels: dict[str, str],
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
                    segment=display_value(name, labels),
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
        tables.append(
            SegmentTable(
                segment_type,
                _segment_title(funnel, segment_type, locale, labels),
                tuple(shown),
                hidden=len(rows) - len(shown),
            )
        )
    return tuple(tables)


def stage_times_unknown(converted: int, timed: int) -> bool:
    """Most stage transitions rest on stages known only from snapshots (exports without
    history): the mart withholds their durations, and the report says why."""
    return converted > 0 and 2 * timed < converted


def stage_times_mostly_unknown(durations: Sequence) -> bool:
    return stage_times_unknown(
        sum(row.converted or 0 for row in durations),
        sum(row.converted_timed or 0 for row in durations),
    )


def _median_days(marts: FunnelMarts, month: dt.date | None) -> dict[int, float | None]:
    return {row.stage_order: row.median_days for row in marts.durations if row.month == month}


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
    marts: FunnelMarts | None = None,
    currency: str | None = None,
) -> ReportModel:
    """The whole report of one funnel × month × locale, from that funnel's mart rows."""
    labels = labels or {}
    marts = marts or FunnelMarts()
    names = {stage.key: stage.name.get(locale) for stage in funnel.stages}
    index = _Index([row for row in rows if row.funnel_id == funnel.id and row.month <= month])
    mature = latest_mature_month(index, month)
    period = _snapshot(index.stages("period", month), "period", month, names)
    cohort = (
        _snapshot(
            index.stages("cohort", mature),
            "cohort",
            mature,
            names,
            _median_days(marts, mature),
            judge=True,
        )
        if mature
        else None
    )
    cohort_open = None
    if mature != month:
        candidate = _snapshot(index.stages("cohort", month), "cohort", month, names)
        if candidate is not None and candidate.has_entities and not candidate.is_mature:
            cohort_open = candidate
    has_data = period is not None or cohort is not None

    sections: list[Section] = []
    if has_data and "funnel_stage_monthly" in tables:
        stage_names = [names[stage.key] for stage in funnel.stages]
        bottleneck = extra.build_bottleneck(marts, funnel, names, labels)
        # "No manager is significantly better at any step" only when none is, at any step.
        standout = any(row.gap_significant and (row.gap or 0) > 0 for row in marts.scorecard)
        window = extra.manager_window(marts, funnel) if marts.scorecard and not standout else None
        kpis = _kpis(index, month, mature, cohort, stage_names, marts, bottleneck, tables, window)
        sections.append(Section("partials/kpis.html.j2", kpis))
        changes = build_changes(marts, funnel, names, locale, labels)
        if changes is not None:
            sections.append(Section("partials/changes.html.j2", changes))
        if period is not None:
            sections.append(Section("partials/period.html.j2", period))
        sections.append(Section("partials/cohort.html.j2", {"mature": cohort, "open": cohort_open}))
        trends = extra.build_trends(marts, index_rows(index), funnel, month, names, labels)
        if trends is not None:
            sections.append(Section("partials/trends.html.j2", trends))
        else:
            trend = _trend(
                index,
                month,
                names,
                labels.get("trend_cohort_size", "cohort size"),
                labels.get("trend_overall", "overall"),
            )
            if trend.rows:
                sections.append(Section("partials/trend.html.j2", trend))
        weakest = cohort.weakest if cohort else None
        board = extra.build_manager_board(
            marts, funnel, names, labels, weakest.order if weakest else None
        )
        if board is not None:
            sections.append(Section("partials/managers.html.j2", board))
        if "lost_reasons" in tables:
            lost = extra.build_lost_reasons(marts, funnel, names, labels)
            sections.append(Section("partials/lost_reasons.html.j2", lost))
        plan = extra.build_plan(marts, names)
        if plan is not None:
            sections.append(Section("partials/plan.html.j2", plan))
        segments = _segments(index, funnel, month, mature, locale, labels)
        if segments:
            sections.append(Section("partials/segments.html.j2", segments))
        if tables & {"data_quality", "unmapped_stages", "call_leaks"}:
            appendix = extra.build_appendix(
                marts,
                funnel,
                month,
                labels,
                has_quality="data_quality" in tables,
                has_unmapped_mart="unmapped_stages" in tables,
            )
            sections.append(Section("partials/quality.html.j2", appendix))
        sections.append(Section("partials/method.html.j2", None))

    return capped(
        ReportModel(
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
            notices=(Notice("notice_stage_times_unknown"),)
            if stage_times_mostly_unknown(marts.durations)
            else (),
            currency=currency,
        )
    )


def with_amendment(model: ReportModel, record: dict | None, funnel: Funnel) -> ReportModel:
    """The model with a page-one notice that the report was amended, listing the printed
    figures that changed (`record`: pipeline.delivery.pending_amendment), first."""
    if not record:
        return model
    names = {stage.key: stage.name.get(model.locale) for stage in funnel.stages}
    order = {stage.key: position for position, stage in enumerate(funnel.stages)}
    measure_rank = {"cohort_month": 0, "entities": 1, "median_days": 2, "conversion_to_next": 3}
    ranked = []
    for change in record.get("changes") or []:
        measure, stage_key = change.get("measure"), change.get("stage_key")
        dated = measure == "cohort_month"
        figure = FigureChange(
            view=change.get("view", ""),
            month=_date(change.get("month")),
            stage=names.get(stage_key, stage_key) if stage_key else None,
            measure=measure,
            old=_date(change.get("old")) if dated else change.get("old"),
            new=_date(change.get("new")) if dated else change.get("new"),
        )
        rank = (measure_rank.get(measure, 9), figure.view != "period", order.get(stage_key, 0))
        ranked.append((rank, figure))
    changes = [figure for _, figure in sorted(ranked, key=lambda item: item[0])]
    previous = record.get("previous_as_of")
    amendment = Amendment(
        edition=int(record.get("edition") or 2),
        previous_as_of=dt.datetime.fromisoformat(previous) if previous else None,
        changes=tuple(changes[:AMENDED_CHANGES_MAX]),
        more=max(0, len(changes) - AMENDED_CHANGES_MAX),
    )
    notice = capped(Notice("notice_amended", amendment))
    return dataclasses.replace(model, notices=(notice, *model.notices))


def _date(value: object) -> object:
    """An ISO date string of the amendment record back to a date; other values as they are."""
    if isinstance(value, str) and len(value) == 10:
        try:
            return dt.date.fromisoformat(value)
        except ValueError:
            return value
    return value


def cap_text(value: str, limit: int = TEXT_MAX) -> str:
    return value if len(value) <= limit else value[: limit - 1] + ELLIPSIS


def capped(value):
    """`value` with every string in it, however deep (dataclasses, tuples, lists, dict
    values), capped by cap_text. Applied once, to the finished model: the model is built
    on the full values (grouping, sorting), the template sees only capped ones."""
    if isinstance(value, str):
        return cap_text(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(
            value,
            **{f.name: capped(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init},
        )
    if isinstance(value, (tuple, list)):
        return type(value)(capped(item) for item in value)
    if isinstance(value, dict):
        return {key: capped(item) for key, item in value.items()}
    return value


def index_rows(index: _Index) -> list[StageMonthRow]:
    """The total rows the index holds (the trends' overall-conversion panel reads them)."""
    return [row for rows in index.total.values() for row in rows]
