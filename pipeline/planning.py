"""`voronka plan`: the volume needed at every stage for N closed sales, from marts.funnel_plan.

The mart holds the volumes for the configured target; volumes scale linearly with the
target, so another target only rescales them here. A volume needed is a number of whole
prospects, so it is rounded up (`whole_prospects`), and a range too wide to plan on is
flagged (`range_too_wide`): the PDF's plan table and this command print both with these
same functions, so their numbers agree.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, fields, replace
from pathlib import Path

import duckdb

from pipeline.config import Config, Funnel
from pipeline.months import add_months
from pipeline.text_tables import english_numbers, text_table

# A range whose high end is more than this many times its low end is too wide to act on:
# planning on either end would be off by more than half (the pooled rates rest on few
# clients at some step, and the Wilson bounds of every step compound).
RANGE_RATIO_MAX = 2


def whole_prospects(value: float | None) -> int | None:
    """A volume needed as whole prospects: rounded up (40 closed sales at 91.7 % need 44
    in negotiation, not 43.6 rounded to 44 by luck or 3.3 rounded down to 3). Float noise
    of the division (40.000000000001) does not add one."""
    if value is None or math.isnan(value):
        return None
    return math.ceil(round(value, 6))


def range_too_wide(low: int | None, high: int | None) -> bool:
    """The printed range (whole prospects) spans more than RANGE_RATIO_MAX times."""
    return low is not None and high is not None and high > RANGE_RATIO_MAX * max(low, 1)


class PlanError(Exception):
    """The warehouse cannot answer this plan (not built, or no mature history)."""


@dataclass(frozen=True)
class PlanRow:
    """One row of marts.funnel_plan (one segment), as stored or rescaled to a target."""

    month: dt.date
    stage_order: int
    stage_key: str
    basis_from: dt.date | None
    basis_to: dt.date | None
    rate: float | None
    rate_low: float | None
    rate_high: float | None
    target: int | None
    volume: float | None
    volume_low: float | None
    volume_high: float | None

    @property
    def needed(self) -> int | None:
        """The volume needed, in whole prospects (rounded up)."""
        return whole_prospects(self.volume)

    @property
    def needed_low(self) -> int | None:
        return whole_prospects(self.volume_low)

    @property
    def needed_high(self) -> int | None:
        return whole_prospects(self.volume_high)

    @property
    def range_too_wide(self) -> bool:
        """A step's printed range too wide to plan on (the last stage has no range)."""
        return self.rate is not None and range_too_wide(self.needed_low, self.needed_high)


PLAN_COLUMNS = tuple(field.name for field in fields(PlanRow))


@dataclass(frozen=True)
class Plan:
    funnel_id: str
    month: dt.date
    segment_type: str
    segment: str
    target: int
    basis_from: dt.date
    basis_to: dt.date
    rows: list[PlanRow]


def default_plan_month(warehouse: Path) -> str:
    """The month after the last complete month: the one being worked on now."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        (last_complete,) = con.execute(
            "select last_complete_month from marts.data_cutoff"
        ).fetchone()
    following = add_months(last_complete, 1)
    return following.strftime("%Y-%m")


def read_plan(
    warehouse: Path,
    funnel_id: str,
    month: str,
    target: int,
    segment_type: str = "total",
    segment: str = "all",
) -> Plan:
    if not warehouse.exists():
        raise PlanError(
            f"{warehouse}: no warehouse yet; run `voronka run` (or `voronka build`) first"
        )
    first_day = dt.date.fromisoformat(f"{month}-01")
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            f"""
            select {", ".join(PLAN_COLUMNS)}
            from marts.funnel_plan
            where funnel_id = ? and month = ? and segment_type = ? and segment = ?
            order by stage_order
            """,
            [funnel_id, first_day, segment_type, segment],
        ).fetchall()
    if not rows:
        raise PlanError(
            f"no plan for funnel {funnel_id!r}, {month}, {segment_type}={segment!r}: "
            "the warehouse has no mature cohort before that month for it"
        )
    stored = [PlanRow(*row) for row in rows]
    configured_target = stored[0].target
    scale = target / configured_target if configured_target else math.nan
    return Plan(
        funnel_id=funnel_id,
        month=first_day,
        segment_type=segment_type,
        segment=segment,
        target=target,
        basis_from=stored[0].basis_from,
        basis_to=stored[0].basis_to,
        rows=[
            replace(
                row,
                volume=_scaled(row.volume, scale),
                volume_low=_scaled(row.volume_low, scale),
                volume_high=_scaled(row.volume_high, scale),
            )
            for row in stored
        ],
    )


def _scaled(value: float | None, scale: float) -> float | None:
    return None if value is None or math.isnan(scale) else value * scale


def render_plan(plan: Plan, funnel: Funnel, locale: str) -> str:
    names = {stage.key: stage.name.get(locale) for stage in funnel.stages}
    header = (
        f"Plan for {funnel.name.get(locale)} ({plan.funnel_id}), {plan.month:%Y-%m}: "
        f"{plan.target} closed sales"
        + ("" if plan.segment_type == "total" else f" — {plan.segment_type} {plan.segment}")
    )
    basis = f"Rates pooled over the mature cohorts {plan.basis_from:%Y-%m} … {plan.basis_to:%Y-%m}."
    table = [("stage", "conversion to next (95 % range)", "needed", "range")]
    too_wide = False
    for row in plan.rows:
        rate = (
            ""
            if row.rate is None
            else f"{_pct(row.rate)} ({_pct(row.rate_low)}–{_pct(row.rate_high)})"
        )
        wide = row.range_too_wide
        too_wide |= wide
        table.append(
            (
                names.get(row.stage_key, row.stage_key),
                rate,
                _count(row.needed),
                _range(row) + (" (too wide)" if wide else ""),
            )
        )
    lines = text_table(table, ("<", "<", ">", ">"))
    note = "Needed volumes are rounded up; the range uses the rates' interval bounds."
    if too_wide:
        note += (
            f"\nA range marked too wide has its high end more than {RANGE_RATIO_MAX} times its"
            " low end: too uncertain to plan on (few clients behind some rate); plan on the"
            " needed volume and collect more months of history."
        )
    return "\n".join([header, basis, "", *lines, "", note])


def _pct(value: float | None) -> str:
    return english_numbers().percent(value)


def _count(value: int | None) -> str:
    return english_numbers().number(value)


def _range(row: PlanRow) -> str:
    if row.rate is None or row.volume_low is None or row.volume_high is None:
        return "—"  # the last stage: the target itself, no range (as the PDF prints it)
    return f"{_count(row.needed_low)}–{_count(row.needed_high)}"


def plan_for(config: Config, funnel_id: str, target: int, month: str | None, by: str | None) -> str:
    funnel = config.funnel(funnel_id)  # ConfigError (exit 2) for an unknown id
    warehouse = config.warehouse_path
    if not warehouse.exists():
        raise PlanError(
            f"{warehouse}: no warehouse yet; run `voronka run` (or `voronka build`) first"
        )
    month = month or default_plan_month(warehouse)
    locale = config.locales[0]
    if by is None:
        return render_plan(read_plan(warehouse, funnel_id, month, target), funnel, locale)
    with duckdb.connect(str(warehouse), read_only=True) as con:
        segments = [
            row[0]
            for row in con.execute(
                "select distinct segment from marts.funnel_plan "
                "where funnel_id = ? and segment_type = ? and month = ? order by 1",
                [funnel_id, by, dt.date.fromisoformat(f"{month}-01")],
            ).fetchall()
        ]
    if not segments:
        raise PlanError(f"no {by!r} segments planned for {funnel_id!r} in {month}")
    return "\n\n".join(
        render_plan(read_plan(warehouse, funnel_id, month, target, by, segment), funnel, locale)
        for segment in segments
    )
