"""Mart rows → the report model of one funnel and month: the funnel's views, then every
section of the registry (pipeline/reporting/registry.py) in page order. Pure: no I/O."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Sequence

from pipeline.config import Funnel
from pipeline.reporting.model import (
    Amendment,
    FigureChange,
    Notice,
    ReportInputs,
    ReportModel,
    Section,
    capped,
)
from pipeline.reporting.registry import SECTIONS
from pipeline.reporting.stages import (
    StageIndex,
    latest_mature_month,
    median_days,
    snapshot,
    stage_times_mostly_unknown,
)
from pipeline.reporting.warehouse import Cutoff, FunnelMarts, StageMonthRow

AMENDED_CHANGES_MAX = 6


def report_inputs(
    funnel: Funnel,
    month: dt.date,
    rows: Sequence[StageMonthRow],
    tables: frozenset[str],
    marts: FunnelMarts,
    *,
    in_progress: bool = False,
) -> ReportInputs:
    """The funnel's views of `month` every section shares, beside the marts read for it;
    `in_progress`: the month is not over at the data cutoff."""
    index = StageIndex([row for row in rows if row.funnel_id == funnel.id and row.month <= month])
    mature = latest_mature_month(index, month)
    cohort = (
        snapshot(
            index.stages("cohort", mature),
            "cohort",
            mature,
            median_days(marts, mature),
            judge=True,
        )
        if mature
        else None
    )
    cohort_open = None
    if mature != month:
        candidate = snapshot(index.stages("cohort", month), "cohort", month)
        if candidate is not None and candidate.has_entities and not candidate.is_mature:
            cohort_open = candidate
    return ReportInputs(
        funnel=funnel,
        month=month,
        tables=tables,
        stages=index,
        marts=marts,
        mature=mature,
        period=snapshot(index.stages("period", month), "period", month),
        cohort=cohort,
        cohort_open=cohort_open,
        in_progress=in_progress,
    )


def build_sections(inputs: ReportInputs) -> tuple[tuple[Section, ...], frozenset[str]]:
    """Every section of the registry whose builder has something to show, in page order,
    and the keys of those with nothing to show."""
    sections, empty = [], set()
    for spec in SECTIONS:
        data = spec.build(inputs)
        if data is None:
            empty.add(spec.key)
        else:
            sections.append(Section(spec.template, data))
    return tuple(sections), frozenset(empty)


# The sections a reader looks for and the data may not give yet: page 1 says which are
# left out and when they come (labels `left_out_<key>`).
EXPECTED_SECTIONS = ("changes", "forecast", "managers", "plan")


def left_out(empty: frozenset[str], funnel: Funnel) -> tuple[str, ...]:
    """The labels keys of the expected sections with nothing to show, in page order; a plan
    without a `plan: target` in the funnel's config is said to be unset."""
    return tuple(
        f"left_out_{key}_unset" if key == "plan" and funnel.plan is None else f"left_out_{key}"
        for key in EXPECTED_SECTIONS
        if key in empty
    )


def build_report_model(
    funnel: Funnel,
    month: dt.date,
    cutoff: Cutoff,
    rows: Sequence[StageMonthRow],
    *,
    timezone: str,
    tables: frozenset[str] = frozenset({"funnel_stage_monthly"}),
    marts: FunnelMarts | None = None,
    currency: str | None = None,
    demo_phone_key: bool = False,
) -> ReportModel:
    """The whole report of one funnel × month, in no language, from that funnel's mart rows."""
    marts = marts or FunnelMarts()
    in_progress = month > cutoff.last_complete_month
    inputs = report_inputs(funnel, month, rows, tables, marts, in_progress=in_progress)
    has_data = inputs.period is not None or inputs.cohort is not None
    shown = has_data and "funnel_stage_monthly" in tables
    sections, empty = build_sections(inputs) if shown else ((), frozenset())
    return capped(
        ReportModel(
            funnel_id=funnel.id,
            month=month,
            cutoff_local=cutoff.cutoff_local,
            cutoff_at=cutoff.cutoff_at,
            timezone=timezone,
            window_days=funnel.window_days,
            mature_month=inputs.mature,
            period=inputs.period,
            cohort=inputs.cohort,
            cohort_open=inputs.cohort_open,
            has_data=has_data,
            sections=sections,
            left_out=left_out(empty, funnel),
            notices=tuple(
                Notice(key)
                for key, applies in (
                    ("notice_month_in_progress", in_progress),
                    ("notice_stage_times_unknown", stage_times_mostly_unknown(marts.durations)),
                )
                if applies
            ),
            currency=currency,
            demo_phone_key=demo_phone_key,
        )
    )


def with_amendment(model: ReportModel, record: dict | None, funnel: Funnel) -> ReportModel:
    """The model with a page-one notice that the report was amended, listing the printed
    figures that changed (`record`: pipeline.delivery.pending_amendment), first."""
    if not record:
        return model
    order = {stage.key: position for position, stage in enumerate(funnel.stages)}
    measure_rank = {"cohort_month": 0, "entities": 1, "median_days": 2, "conversion_to_next": 3}
    ranked = []
    for change in record.get("changes") or []:
        measure, stage_key = change.get("measure"), change.get("stage_key")
        dated = measure == "cohort_month"
        figure = FigureChange(
            view=change.get("view", ""),
            month=_date(change.get("month")),
            stage=stage_key,
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
