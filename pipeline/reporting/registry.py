"""The report's sections in page order: what each reads, builds and draws.

One line per section: its key, the marts it reads (schema `marts`), its builder
(`build(inputs) -> data | None`, None leaves the section out) and its template under
reports/templates. Adding a section is a builder module in pipeline/reporting/sections/,
a partial in reports/templates/partials/ and a line here; the Dagster report asset waits
for every mart listed (`REPORT_MARTS`, pipeline/defs/reports.py).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from pipeline.reporting.sections import (
    appendix,
    changes,
    forecast,
    kpis,
    lost_reasons,
    managers,
    plan,
    segments,
    trends,
    views,
)


@dataclass(frozen=True)
class SectionSpec:
    key: str
    marts: tuple[str, ...]
    build: Callable
    template: str


# The marts every report reads whatever its sections: the data cutoff, the funnel by stage
# (the period and cohort views) and the stage durations (days in stage, page-one notice).
MODEL_MARTS = ("data_cutoff", "funnel_stage_monthly", "stage_durations")
SECTIONS: tuple[SectionSpec, ...] = (
    SectionSpec(
        "kpis",
        (
            "funnel_stage_monthly",
            "revenue_monthly",
            "sales_cycle_monthly",
            "manager_scorecard",
            "funnel_bottleneck",
        ),
        kpis.build,
        "partials/kpis.html.j2",
    ),
    SectionSpec("changes", ("funnel_changes",), changes.build, "partials/changes.html.j2"),
    SectionSpec(
        "forecast",
        ("funnel_forecast", "funnel_forecast_backtest"),
        forecast.build,
        "partials/forecast.html.j2",
    ),
    SectionSpec("period", ("funnel_stage_monthly",), views.build_period, "partials/period.html.j2"),
    SectionSpec("cohort", ("funnel_stage_monthly",), views.build_cohort, "partials/cohort.html.j2"),
    SectionSpec(
        "trends",
        ("funnel_stage_trends", "funnel_stage_monthly"),
        trends.build,
        "partials/trends.html.j2",
    ),
    SectionSpec(
        "managers",
        ("manager_scorecard", "funnel_bottleneck"),
        managers.build,
        "partials/managers.html.j2",
    ),
    SectionSpec(
        "lost_reasons", ("lost_reasons",), lost_reasons.build, "partials/lost_reasons.html.j2"
    ),
    SectionSpec("plan", ("funnel_plan",), plan.build, "partials/plan.html.j2"),
    SectionSpec("segments", ("funnel_stage_monthly",), segments.build, "partials/segments.html.j2"),
    SectionSpec(
        "appendix",
        ("data_quality", "data_files", "unmapped_stages", "call_leaks"),
        appendix.build,
        "partials/quality.html.j2",
    ),
    SectionSpec("glossary", (), views.build_glossary, "partials/method.html.j2"),
)


def report_marts() -> tuple[str, ...]:
    """Every mart the report reads, each once, in the order first read."""
    names = [*MODEL_MARTS, *(mart for spec in SECTIONS for mart in spec.marts)]
    return tuple(dict.fromkeys(names))


REPORT_MARTS = report_marts()
