"""The funnel's two views of the month (period, cohort) and the glossary that ends the report."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.reporting.model import ReportInputs
from pipeline.reporting.stages import FunnelSnapshot

# The definitions the glossary prints (label keys def_<key>, def_<key>_text), in order.
GLOSSARY = (
    "clients",
    "cohort",
    "period",
    "window",
    "maturity",
    "wilson",
    "shrinkage",
    "weakest",
    "bottleneck",
    "what_changed",
    "plan",
    "forecast",
    "changes",
)


@dataclass(frozen=True)
class CohortViews:
    mature: FunnelSnapshot | None  # the latest mature cohort, its weakest step judged
    open: FunnelSnapshot | None  # the report month's cohort while its window is open


def build_period(inputs: ReportInputs) -> FunnelSnapshot | None:
    return inputs.period


def build_cohort(inputs: ReportInputs) -> CohortViews:
    return CohortViews(mature=inputs.cohort, open=inputs.cohort_open)


def build_glossary(inputs: ReportInputs) -> tuple[str, ...]:
    return GLOSSARY
