"""Report sections beyond the funnel itself: trends, managers, lost reasons, plan, appendix.

Pure: mart rows in, plain frozen models out. Values are passed on as the marts hold
them; the code only selects, orders, caps and labels rows (no arithmetic on figures).
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from pipeline.config import Funnel
from pipeline.planning import RANGE_RATIO_MAX, range_too_wide, whole_prospects
from pipeline.reporting.months import add_months
from pipeline.reporting.reasons import reject_reason
from pipeline.reporting.warehouse import (
    BottleneckRow,
    FunnelMarts,
    ScorecardRow,
    StageMonthRow,
)

TREND_MONTHS = 12
LOST_REASONS_PER_STAGE = 6
CALL_LEAK_ROWS_MAX = 15
QUALITY_ROWS_MAX = 40
FILE_ROWS_MAX = 25
SHA256_SHOWN = 12

# Placeholder values the marts write where the export had nothing.
UNKNOWN = "(unknown)"
NOT_GIVEN = "(not given)"
NO_STAGE = "(none)"
# Reject reasons quote the raw cell; a run of 10+ digits (spaces, brackets and dashes
# between) may be a phone number: mask it. ISO dates and times are left alone.
_DIGIT_RUN = re.compile(r"\+?[\d(][\d\s()\-]{8,}\d")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
PHONE_DIGITS_MIN = 10


def display_value(value: str | None, labels: Mapping[str, str]) -> str:
    """A segment, manager or reason as a reader should see it (placeholders localized)."""
    if value is None or value == UNKNOWN:
        return labels.get("value_unknown", UNKNOWN)
    if value == NOT_GIVEN:
        return labels.get("reason_not_given", NOT_GIVEN)
    if value == NO_STAGE:
        return labels.get("stage_none", NO_STAGE)
    return value


def mask_phone_like(text: str) -> str:
    def mask(match: re.Match) -> str:
        run = match.group(0)
        digits = sum(char.isdigit() for char in run)
        if _ISO_DATE.search(run) or digits < PHONE_DIGITS_MIN:
            return run
        return "…"

    return _DIGIT_RUN.sub(mask, text)


def step_label(names: Mapping[str, str], keys: Sequence[str], key: str) -> str:
    """'Встреча → КП' for the step that starts at stage `key`."""
    if key not in keys:
        return names.get(key, key)
    position = keys.index(key)
    following = keys[position + 1] if position + 1 < len(keys) else None
    current = names.get(key, key)
    return f"{current} → {names.get(following, following)}" if following else current


# ── trends: small multiples ─────────────────────────────────────────────────


@dataclass(frozen=True)
class TrendPoint:
    month: dt.date
    value: float | None
    is_mature: bool


@dataclass(frozen=True)
class TrendPanel:
    label: str
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
    names: Mapping[str, str],
    labels: Mapping[str, str],
) -> Trends | None:
    """One panel per step conversion (funnel_stage_trends, cohort view), plus the cohort
    size and the overall conversion (funnel_stage_monthly), over the last 12 months."""
    months = tuple(add_months(month, offset) for offset in range(1 - TREND_MONTHS, 1))
    keys = [stage.key for stage in funnel.stages]
    by_step: dict[int, dict[dt.date, object]] = {}
    for row in marts.trends:
        by_step.setdefault(row.stage_order, {})[row.month] = row
    if not by_step:
        return None

    def panel(label: str, kind: str, series: Mapping[dt.date, tuple]) -> TrendPanel:
        points = tuple(TrendPoint(m, *(series.get(m) or (None, False))[:2]) for m in months)
        latest_month = max(
            (p.month for p in points if p.is_mature and p.value is not None), default=None
        )
        latest = next((p for p in points if p.month == latest_month), None)
        change = series[latest_month][2] if latest_month and len(series[latest_month]) > 2 else None
        return TrendPanel(label, kind, points, latest, change)

    panels = []
    first = by_step.get(1, {})
    panels.append(
        panel(
            labels.get("trend_cohort_size", "cohort size"),
            "count",
            {m: (row.entities, bool(row.is_mature)) for m, row in first.items()},
        )
    )
    for order in sorted(by_step):
        if order >= len(keys):
            continue  # the last stage has no step
        series = {
            m: (row.conversion_to_next, bool(row.is_mature), row.change_vs_last_year)
            for m, row in by_step[order].items()
        }
        panels.append(panel(step_label(names, keys, keys[order - 1]), "rate", series))
    overall: dict[dt.date, tuple] = {}
    last_order = len(keys)
    for row in stage_rows:
        if (
            row.view == "cohort"
            and (row.segment_type, row.segment) == ("total", "all")
            and row.stage_order == last_order
            and row.month in months
        ):
            overall[row.month] = (row.conversion_from_first, bool(row.is_mature))
    if overall:
        panels.append(panel(labels.get("trend_overall", "overall"), "rate", overall))
    return Trends(months=months, panels=tuple(panels))


# ── managers: heat map vs the team ──────────────────────────────────────────


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
    rank: int
    manager: str
    rank_rate: float | None  # shrunk_rate at the ranking step
    cells: tuple[ManagerCell | None, ...]


@dataclass(frozen=True)
class ManagerBoard:
    month: dt.date
    window_from: dt.date
    window_months: int
    steps: tuple[str, ...]  # step labels, in funnel order
    step_orders: tuple[int, ...]
    team_rates: tuple[float | None, ...]  # funnel_bottleneck.team_rate, same window
    rank_step: str
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
    names: Mapping[str, str],
    labels: Mapping[str, str],
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
        by_manager.setdefault(display_value(row.manager, labels), {})[row.stage_order] = row

    def rank_key(item: tuple[str, dict[int, ScorecardRow]]) -> tuple:
        manager, cells = item
        rate = cells[rank_order].shrunk_rate if rank_order in cells else None
        return (rate is None, -(rate or 0.0), manager)

    rows = []
    for rank, (manager, cells) in enumerate(sorted(by_manager.items(), key=rank_key), start=1):
        rank_row = cells.get(rank_order)
        rows.append(
            ManagerRow(
                rank=rank,
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
        steps=tuple(step_label(names, keys, keys[order - 1]) for order in step_orders),
        step_orders=step_orders,
        team_rates=tuple(team[order].team_rate if order in team else None for order in step_orders),
        rank_step=step_label(names, keys, keys[rank_order - 1]),
        rank_is_bottleneck=bottleneck is not None,
        rows=tuple(rows),
        rank_is_weakest=bottleneck is None and rank_order == weakest_order,
    )


# ── the bottleneck sentence ─────────────────────────────────────────────────


@dataclass(frozen=True)
class Bottleneck:
    month: dt.date
    window_from: dt.date
    step: str
    team_rate: float | None
    best_rate: float | None
    best_manager: str
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
    names: Mapping[str, str],
    labels: Mapping[str, str],
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
    keys = [stage.key for stage in funnel.stages]
    return Bottleneck(
        month=row.month,
        window_from=window.window_from,
        step=step_label(names, keys, row.stage_key),
        team_rate=row.team_rate,
        best_rate=row.best_rate,
        best_manager=display_value(row.best_manager, labels),
        extra_closed_sales=row.extra_closed_sales,
    )


# ── lost reasons ────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class LostReason:
    reason: str
    deals: int


@dataclass(frozen=True)
class LostStage:
    stage: str
    reasons: tuple[LostReason, ...]
    hidden: int


def build_lost_reasons(
    marts: FunnelMarts, funnel: Funnel, names: Mapping[str, str], labels: Mapping[str, str]
) -> tuple[LostStage, ...]:
    """Month M, all deals: per last reached stage (funnel order), reasons by count."""
    order = {stage.key: position for position, stage in enumerate(funnel.stages)}
    by_stage: dict[str, list] = {}
    for row in marts.lost_reasons:
        by_stage.setdefault(row.stage_key, []).append(row)
    stages = []
    for stage_key in sorted(by_stage, key=lambda key: (order.get(key, -1), key)):
        rows = sorted(by_stage[stage_key], key=lambda r: (-r.deals, r.reason))
        shown = rows[:LOST_REASONS_PER_STAGE]
        stage_name = names[stage_key] if stage_key in names else display_value(stage_key, labels)
        stages.append(
            LostStage(
                stage=stage_name,
                reasons=tuple(LostReason(display_value(r.reason, labels), r.deals) for r in shown),
                hidden=len(rows) - len(shown),
            )
        )
    return tuple(stages)


# ── plan ────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class PlanStep:
    order: int
    name: str
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    volume: int | None  # whole prospects, rounded up (pipeline.planning.whole_prospects)
    volume_low: int | None
    volume_high: int | None
    range_too_wide: bool = False  # pipeline.planning.range_too_wide


@dataclass(frozen=True)
class PlanTable:
    month: dt.date
    target: int | None
    basis_from: dt.date | None
    basis_to: dt.date | None
    steps: tuple[PlanStep, ...]
    range_ratio_max: int = RANGE_RATIO_MAX

    @property
    def any_range_too_wide(self) -> bool:
        return any(step.range_too_wide for step in self.steps)


def build_plan(marts: FunnelMarts, names: Mapping[str, str]) -> PlanTable | None:
    """funnel_plan for the month after the report month, rounded as `voronka plan` rounds
    it: the same functions, so the PDF and the command print the same numbers."""
    if not marts.plan:
        return None
    rows = sorted(marts.plan, key=lambda r: r.stage_order)
    first = rows[0]
    steps = []
    for r in rows:
        low, high = whole_prospects(r.volume_low), whole_prospects(r.volume_high)
        steps.append(
            PlanStep(
                order=r.stage_order,
                name=names.get(r.stage_key, r.stage_key),
                rate=r.rate,
                rate_low=r.rate_low if r.rate is not None else None,
                rate_high=r.rate_high if r.rate is not None else None,
                volume=whole_prospects(r.volume),
                volume_low=low,
                volume_high=high,
                range_too_wide=r.rate is not None and range_too_wide(low, high),
            )
        )
    return PlanTable(
        month=first.month,
        target=first.target,
        basis_from=first.basis_from,
        basis_to=first.basis_to,
        steps=tuple(steps),
    )


# ── appendix: data quality and call leaks ───────────────────────────────────


@dataclass(frozen=True)
class LedgerRow:
    month: dt.date | None
    source: str
    files: tuple[tuple[str, float], ...]  # (status, count)
    rows_total: float | None


@dataclass(frozen=True)
class FileRow:
    data_month: dt.date | None
    source: str
    path: str
    sha256_prefix: str
    status: str
    rows_total: int | None
    rows_accepted: int | None
    rows_rejected: int | None


@dataclass(frozen=True)
class CountRow:
    month: dt.date | None
    source: str
    detail: str
    value: float


@dataclass(frozen=True)
class UnmappedRow:
    source: str
    crm_pipeline: str
    stage: str
    deals: int
    first_seen: dt.datetime


@dataclass(frozen=True)
class LeakRow:
    manager: str
    missed_inbound: int
    not_called_back: int
    call_leads_never_in_crm: int
    is_team: bool


@dataclass(frozen=True)
class Appendix:
    month: dt.date
    ledger: tuple[LedgerRow, ...]
    files: tuple[FileRow, ...]  # marts.data_files; shown instead of ledger when present
    files_hidden: int
    rejected: tuple[CountRow, ...]
    rejected_hidden: int
    unknown_managers: tuple[CountRow, ...]
    calls_not_linked: float | None
    has_calls: bool  # the funnel counts a call stage: calls can link to deals or form leads
    unmapped: tuple[UnmappedRow, ...]
    leaks: tuple[LeakRow, ...]
    leaks_hidden: int
    has_quality: bool
    has_unmapped_mart: bool
    has_inbound: bool = True  # missed inbound calls are this funnel's leaks (not cold calls)


def funnel_counts_calls(funnel: Funnel) -> bool:
    """A stage of the funnel counts calls: only then can its calls form leads or link."""
    return funnel.calls is not None and any(stage.calls for stage in funnel.stages)


def funnel_takes_inbound_calls(funnel: Funnel) -> bool:
    """Missed inbound calls on the funnel's lines are its leaks, unless the funnel's call
    stages are all outbound (a cold-call funnel: its line does not take clients' calls)."""
    if funnel.calls is None:
        return False
    directions = {stage.calls.direction for stage in funnel.stages if stage.calls}
    return directions != {"outbound"}


FILE_STATUSES = ("loaded", "duplicate", "incomplete", "empty", "failed")


def build_appendix(
    marts: FunnelMarts,
    funnel: Funnel,
    month: dt.date,
    labels: Mapping[str, str],
    *,
    has_quality: bool,
    has_unmapped_mart: bool,
) -> Appendix:
    """Files and rejects of the whole ledger (by data month, as data_quality dates them);
    unknown managers and unlinked calls of month M; this funnel's unmapped CRM stages;
    call leaks of month M."""
    ledger: dict[tuple, dict] = {}
    rejected, unknown = [], []
    calls_not_linked = None
    for row in marts.quality:
        key = (row.month, row.source)
        if row.metric.startswith("files_"):
            entry = ledger.setdefault(key, {"files": {}, "rows": None})
            entry["files"][row.metric.removeprefix("files_")] = row.value
        elif row.metric == "rows_total":
            ledger.setdefault(key, {"files": {}, "rows": None})["rows"] = row.value
        elif row.metric == "rows_rejected":
            detail = reject_reason(mask_phone_like(row.detail), labels)
            rejected.append(CountRow(row.month, row.source, detail, row.value))
        elif row.metric == "unknown_managers" and row.month == month:
            unknown.append(CountRow(row.month, row.source, row.detail, row.value))
        elif row.metric == "calls_not_linked" and row.month == month and row.detail == funnel.id:
            calls_not_linked = row.value

    def month_key(value: dt.date | None) -> tuple:
        return (value is None, value or dt.date.min)

    ledger_rows = tuple(
        LedgerRow(
            month=key[0],
            source=key[1],
            files=tuple(
                (status, entry["files"][status])
                for status in sorted(
                    entry["files"],
                    key=lambda s: FILE_STATUSES.index(s) if s in FILE_STATUSES else 99,
                )
            ),
            rows_total=entry["rows"],
        )
        for key, entry in sorted(
            ledger.items(), key=lambda item: (*month_key(item[0][0]), item[0][1])
        )
    )
    rejected.sort(key=lambda r: (*month_key(r.month), r.source, -r.value, r.detail))
    unknown.sort(key=lambda r: (-r.value, r.source, r.detail))

    unmapped = tuple(
        UnmappedRow(r.source, r.crm_pipeline, r.stage, r.deals, r.first_seen)
        for r in marts.unmapped_stages
        if any(crm.covers(r.source, r.crm_pipeline) for crm in funnel.crm)
    )

    team = [r for r in marts.call_leaks if r.manager == "all"]
    people = sorted(
        (r for r in marts.call_leaks if r.manager != "all"),
        key=lambda r: (
            -r.not_called_back,
            -r.missed_inbound,
            -r.call_leads_never_in_crm,
            r.manager,
        ),
    )
    people = [
        r for r in people if r.missed_inbound or r.not_called_back or r.call_leads_never_in_crm
    ]
    shown = people[:CALL_LEAK_ROWS_MAX]
    team_name = labels.get("team", "team")
    leaks = tuple(
        LeakRow(
            manager=team_name if r.manager == "all" else display_value(r.manager, labels),
            missed_inbound=r.missed_inbound,
            not_called_back=r.not_called_back,
            call_leads_never_in_crm=r.call_leads_never_in_crm,
            is_team=r.manager == "all",
        )
        for r in [*shown, *team]
    )
    files = _report_files(marts, month)
    return Appendix(
        month=month,
        ledger=ledger_rows[:QUALITY_ROWS_MAX],
        files=files[:FILE_ROWS_MAX],
        files_hidden=max(0, len(files) - FILE_ROWS_MAX),
        rejected=tuple(rejected[:QUALITY_ROWS_MAX]),
        rejected_hidden=max(0, len(rejected) - QUALITY_ROWS_MAX),
        unknown_managers=tuple(unknown[:QUALITY_ROWS_MAX]),
        calls_not_linked=calls_not_linked,
        has_calls=funnel_counts_calls(funnel),
        unmapped=unmapped,
        leaks=leaks,
        leaks_hidden=len(people) - len(shown),
        has_quality=has_quality,
        has_unmapped_mart=has_unmapped_mart,
        has_inbound=funnel_takes_inbound_calls(funnel),
    )


def _report_files(marts: FunnelMarts, month: dt.date) -> tuple[FileRow, ...]:
    """The files behind the report month: data up to the month after it (exports taken at
    the start of the next month hold the month's data), latest first; files that landed
    nothing (duplicates, empty, failed) last."""
    next_month = (month.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    chosen = [row for row in marts.files if row.data_month is None or row.data_month <= next_month]
    chosen.sort(
        key=lambda row: (
            row.data_month is None,
            -(row.data_month.toordinal() if row.data_month else 0),
            row.source,
            row.path,
        )
    )
    return tuple(
        FileRow(
            data_month=row.data_month,
            source=row.source,
            path=row.path,
            sha256_prefix=row.file_id[:SHA256_SHOWN],
            status=row.status,
            rows_total=row.rows_total,
            rows_accepted=row.rows_accepted,
            rows_rejected=row.rows_rejected,
        )
        for row in chosen
    )
