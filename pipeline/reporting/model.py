"""The report model of one funnel and month: plain frozen values, no I/O, no wording.

The model is the same in every locale: it holds stage keys and values as the marts have
them; the templates word them (`t`: labels, `w`: pipeline/reporting/words.Words).

`ReportModel` is what the renderer and the mail digests read. Its sections are built by
the section registry (pipeline/reporting/registry.py) from `ReportInputs`: the marts
read once (pipeline/reporting/warehouse.py) and the funnel's views every section shares.
Every string of the finished model is capped at TEXT_MAX characters (`capped`): text from
exports (a manager, a lost reason, a stage or file name) may be any length, and one
10,000-character word costs WeasyPrint minutes and breaks the page.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from dataclasses import dataclass, field

from pipeline.config import Funnel
from pipeline.reporting.stages import FunnelSnapshot, StageIndex
from pipeline.reporting.warehouse import FunnelMarts

# The longest text a report prints as one value: longer values end in an ellipsis. Real
# names, reasons and file paths fit; a table cell of 120 characters wraps in a few lines.
TEXT_MAX = 120
ELLIPSIS = "…"


@dataclass(frozen=True)
class ReportInputs:
    """What every section builder reads: the funnel, the report month, the marts read
    once for it, and the views of the funnel the report is built around."""

    funnel: Funnel
    month: dt.date
    tables: frozenset[str]  # the marts the warehouse has
    stages: StageIndex  # funnel_stage_monthly, up to the report month
    marts: FunnelMarts
    mature: dt.date | None  # the latest mature cohort month
    period: FunnelSnapshot | None
    cohort: FunnelSnapshot | None  # the mature cohort, its weakest step judged
    cohort_open: FunnelSnapshot | None  # the report month's cohort, still open
    # The report month is the data cutoff's own (or later): not over, its figures to date.
    in_progress: bool = False


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
    stage: str | None  # the stage key
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
    # page 1: the sections the data does not give yet, each as a labels key (`left_out_…`)
    left_out: tuple[str, ...] = ()
    notices: tuple[Notice, ...] = ()  # page 1: what the data cannot support, amendments
    currency: str | None = None  # ISO 4217 of the sums (config `currency`)
    demo_phone_key: bool = False  # phones hashed with the demo key or none: the appendix warns

    @property
    def notice_keys(self) -> tuple[str, ...]:
        return tuple(notice.key for notice in self.notices)


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
