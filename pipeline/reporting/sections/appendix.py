"""The appendix: data quality (files, rejected rows, unknown managers, unlinked calls),
this funnel's unmapped CRM stages and the call leaks of the report month."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from pipeline.config import Funnel
from pipeline.months import add_months
from pipeline.reporting.model import ReportInputs
from pipeline.reporting.reasons import RejectReason, reason_shape
from pipeline.reporting.warehouse import CallLeakRow, FunnelMarts, UnmappedStageRow

CALL_LEAK_ROWS_MAX = 15
QUALITY_ROWS_MAX = 40
FILE_ROWS_MAX = 25
SHA256_SHOWN = 12
# Reject reasons quote the raw cell; a run of 10+ digits (spaces, brackets and dashes
# between) may be a phone number: mask it. ISO dates and times are left alone.
_DIGIT_RUN = re.compile(r"\+?[\d(][\d\s()\-]{8,}\d")
_ISO_DATE = re.compile(r"\d{4}-\d{1,2}-\d{1,2}")
PHONE_DIGITS_MIN = 10


def mask_phone_like(text: str) -> str:
    def mask(match: re.Match) -> str:
        run = match.group(0)
        digits = sum(char.isdigit() for char in run)
        if _ISO_DATE.search(run) or digits < PHONE_DIGITS_MIN:
            return run
        return "…"

    return _DIGIT_RUN.sub(mask, text)


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
class RejectedRow:
    month: dt.date | None
    source: str
    reason: RejectReason  # worded in the report's language when drawn
    value: float


@dataclass(frozen=True)
class Appendix:
    month: dt.date
    ledger: tuple[LedgerRow, ...]
    files: tuple[FileRow, ...]  # marts.data_files; shown instead of ledger when present
    files_hidden: int
    rejected: tuple[RejectedRow, ...]
    rejected_hidden: int
    unknown_managers: tuple[CountRow, ...]
    calls_not_linked: float | None
    has_calls: bool  # the funnel counts a call stage: calls can link to deals or form leads
    unmapped: tuple[UnmappedStageRow, ...]  # this funnel's CRM pipelines only
    leaks: tuple[CallLeakRow, ...]  # the managers with leaks, then the team
    leaks_hidden: int
    has_quality: bool
    has_unmapped_mart: bool
    has_inbound: bool = True  # missed inbound calls are this funnel's leaks (not cold calls)
    other_currency_deals: float = 0  # deals of month M whose amount is in another currency
    other_currencies: tuple[str, ...] = ()  # …and their currencies


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
    *,
    has_quality: bool,
    has_unmapped_mart: bool,
) -> Appendix:
    """Files and rejects of the whole ledger (by data month, as data_quality dates them);
    unknown managers and unlinked calls of month M; this funnel's unmapped CRM stages;
    call leaks of month M."""
    ledger: dict[tuple, dict] = {}
    rejected, unknown, other_currency = [], [], []
    calls_not_linked = None
    for row in marts.quality:
        key = (row.month, row.source)
        if row.metric.startswith("files_"):
            entry = ledger.setdefault(key, {"files": {}, "rows": None})
            entry["files"][row.metric.removeprefix("files_")] = row.value
        elif row.metric == "rows_total":
            ledger.setdefault(key, {"files": {}, "rows": None})["rows"] = row.value
        elif row.metric == "rows_rejected":
            rejected.append(CountRow(row.month, row.source, mask_phone_like(row.detail), row.value))
        elif row.metric == "unknown_managers" and row.month == month:
            unknown.append(CountRow(row.month, row.source, row.detail, row.value))
        elif row.metric == "calls_not_linked" and row.month == month and row.detail == funnel.id:
            calls_not_linked = row.value
        elif row.metric == "amounts_other_currency" and row.month == month:
            other_currency.append(row)

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
    rejected_rows = [
        RejectedRow(r.month, r.source, reason_shape(r.detail), r.value) for r in rejected
    ]
    unknown.sort(key=lambda r: (-r.value, r.source, r.detail))

    unmapped = tuple(
        r
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
    leaks = (*shown, *team)
    files = _report_files(marts, month)
    return Appendix(
        month=month,
        ledger=ledger_rows[:QUALITY_ROWS_MAX],
        files=files[:FILE_ROWS_MAX],
        files_hidden=max(0, len(files) - FILE_ROWS_MAX),
        rejected=tuple(rejected_rows[:QUALITY_ROWS_MAX]),
        rejected_hidden=max(0, len(rejected) - QUALITY_ROWS_MAX),
        unknown_managers=tuple(unknown[:QUALITY_ROWS_MAX]),
        calls_not_linked=calls_not_linked,
        has_calls=funnel_counts_calls(funnel),
        unmapped=unmapped,
        leaks=leaks,
        leaks_hidden=len(people) - len(shown),
        has_quality=has_quality,
        has_unmapped_mart=has_unmapped_mart,
        other_currency_deals=sum(row.value for row in other_currency),
        other_currencies=tuple(sorted({row.detail for row in other_currency if row.detail})),
        has_inbound=funnel_takes_inbound_calls(funnel),
    )


def _report_files(marts: FunnelMarts, month: dt.date) -> tuple[FileRow, ...]:
    """The files behind the report month: data up to the month after it (exports taken at
    the start of the next month hold the month's data), latest first; files that landed
    nothing (duplicates, empty, failed) last."""
    next_month = add_months(month, 1)
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


def build(inputs: ReportInputs) -> Appendix | None:
    if not inputs.tables & {"data_quality", "unmapped_stages", "call_leaks"}:
        return None
    return build_appendix(
        inputs.marts,
        inputs.funnel,
        inputs.month,
        has_quality="data_quality" in inputs.tables,
        has_unmapped_mart="unmapped_stages" in inputs.tables,
    )
