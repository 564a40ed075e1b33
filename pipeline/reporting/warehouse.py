"""Reads the marts a report needs from the DuckDB warehouse: read-only, in a `with` block.

Returns plain frozen rows, so the connection is closed before anything is rendered and
the rest of the reporting code never sees DuckDB. Tables that do not exist yet are
simply absent from `MartSnapshot.tables`; their report sections are omitted. Each mart
is read with the columns the report shows and only the rows of the months it shows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field, fields
from pathlib import Path

import duckdb

from pipeline.forecast import BacktestRow, ForecastRow  # shared with `voronka forecast`
from pipeline.months import add_months
from pipeline.planning import PlanRow  # marts.funnel_plan, shared with `voronka plan`

SCHEMA = "marts"

STAGE_MONTHLY_COLUMNS = (
    "funnel_id",
    "month",
    "view",
    "segment_type",
    "segment",
    "stage_order",
    "stage_key",
    "entities",
    "entities_next",
    "entities_implied",
    "entities_regressed",
    "conversion_to_next",
    "conversion_from_first",
    "dropoff_to_next",
    "conversion_ci_low",
    "conversion_ci_high",
    "is_mature",
    "share_open",
)


class ReportDataError(Exception):
    """The warehouse lacks what every report needs (not built yet, or wrong file)."""


@dataclass(frozen=True)
class StageMonthRow:
    """One row of marts.funnel_stage_monthly, as stored."""

    funnel_id: str
    month: dt.date
    view: str
    segment_type: str
    segment: str
    stage_order: int
    stage_key: str
    entities: int
    entities_next: int | None
    entities_implied: int | None
    entities_regressed: int | None
    conversion_to_next: float | None
    conversion_from_first: float | None
    dropoff_to_next: float | None
    conversion_ci_low: float | None
    conversion_ci_high: float | None
    is_mature: bool | None
    share_open: float | None


@dataclass(frozen=True)
class RevenueRow:
    """marts.revenue_monthly, segment total."""

    month: dt.date
    won_deals: int
    won_amount: float
    avg_deal: float | None  # NULL when no won deal of the month has an amount


@dataclass(frozen=True)
class SalesCycleRow:
    """marts.sales_cycle_monthly, segment total."""

    month: dt.date
    won_deals: int
    median_days: float | None
    p80_days: float | None


@dataclass(frozen=True)
class StageDurationRow:
    """marts.stage_durations, segment total."""

    month: dt.date
    stage_order: int
    stage_key: str
    converted: int | None
    median_days: float | None
    converted_timed: int | None = None  # converters with exact times: what median_days rests on


@dataclass(frozen=True)
class StageTrendRow:
    """marts.funnel_stage_trends, cohort view, segment total."""

    month: dt.date
    stage_order: int
    stage_key: str
    is_mature: bool | None
    entities: int | None
    conversion_to_next: float | None
    change_vs_last_year: float | None


@dataclass(frozen=True)
class ScorecardRow:
    """marts.manager_scorecard, mature pooled windows only."""

    month: dt.date
    manager: str | None
    stage_order: int
    stage_key: str
    window_months: int | None
    n: int | None
    rate: float | None
    shrunk_rate: float | None
    too_few: bool | None
    gap: float | None
    gap_significant: bool | None


@dataclass(frozen=True)
class BottleneckRow:
    """marts.funnel_bottleneck, mature pooled windows only."""

    month: dt.date
    stage_order: int
    stage_key: str
    best_manager: str | None
    best_rate: float | None
    team_rate: float | None
    extra_closed_sales: float | None
    is_bottleneck: bool | None


@dataclass(frozen=True)
class ChangeRow:
    """marts.funnel_changes, the latest judged month up to the report month."""

    month: dt.date
    segment_type: str
    segment: str
    stage_order: int
    stage_key: str
    n_recent: int | None
    rate_recent: float | None
    n_baseline: int | None
    rate_baseline: float | None
    change_pp: float | None
    contribution_pp: float | None
    q_value: float | None
    is_significant: bool
    too_few: bool | None  # fewer than 30 clients on a side: no verdict


@dataclass(frozen=True)
class LostReasonRow:
    """marts.lost_reasons, segment total, the report month."""

    stage_key: str
    reason: str
    deals: int


@dataclass(frozen=True)
class CallLeakRow:
    """marts.call_leaks, the report month (manager `all` is the team)."""

    manager: str
    missed_inbound: int
    not_called_back: int
    call_leads_never_in_crm: int

    @property
    def is_team(self) -> bool:
        return self.manager == "all"


@dataclass(frozen=True)
class QualityRow:
    """marts.data_quality (long format; month NULL for files that landed no rows)."""

    month: dt.date | None
    source: str
    metric: str
    detail: str
    value: float


@dataclass(frozen=True)
class DataFileRow:
    """marts.data_files: one input file, its sha256 and what became of it."""

    data_month: dt.date | None
    source: str
    path: str
    file_id: str
    status: str
    rows_total: int | None
    rows_accepted: int | None
    rows_rejected: int | None


@dataclass(frozen=True)
class UnmappedStageRow:
    """marts.unmapped_stages."""

    source: str
    crm_pipeline: str | None  # None: a source without pipelines
    stage: str
    deals: int
    first_seen_local: dt.datetime  # the first sighting in the business zone (its day printed)


@dataclass(frozen=True)
class FunnelMarts:
    """What one funnel's report reads beyond funnel_stage_monthly; empty when absent."""

    revenue: tuple[RevenueRow, ...] = ()
    sales_cycle: tuple[SalesCycleRow, ...] = ()
    durations: tuple[StageDurationRow, ...] = ()
    trends: tuple[StageTrendRow, ...] = ()
    scorecard: tuple[ScorecardRow, ...] = ()
    bottleneck: tuple[BottleneckRow, ...] = ()
    changes: tuple[ChangeRow, ...] = ()
    plan: tuple[PlanRow, ...] = ()
    forecast: tuple[ForecastRow, ...] = ()
    forecast_backtest: tuple[BacktestRow, ...] = ()
    lost_reasons: tuple[LostReasonRow, ...] = ()
    call_leaks: tuple[CallLeakRow, ...] = ()
    quality: tuple[QualityRow, ...] = ()
    unmapped_stages: tuple[UnmappedStageRow, ...] = ()
    files: tuple[DataFileRow, ...] = ()


@dataclass(frozen=True)
class Cutoff:
    cutoff_at: dt.datetime
    cutoff_local: dt.datetime
    last_complete_month: dt.date


@dataclass(frozen=True)
class MartSnapshot:
    tables: frozenset[str]
    cutoff: Cutoff
    # funnel_id → the funnel's rows up to and including the report month, sorted.
    stage_rows: dict[str, tuple[StageMonthRow, ...]]
    # funnel_id → the other marts' rows the report shows.
    funnel_marts: dict[str, FunnelMarts] = field(default_factory=dict)


def _connect(path: Path) -> duckdb.DuckDBPyConnection:
    if not path.is_file():
        raise ReportDataError(f"{path}: warehouse not found; build it first (`voronka build`)")
    return duckdb.connect(str(path), read_only=True)


def _tables(con: duckdb.DuckDBPyConnection) -> frozenset[str]:
    rows = con.execute(
        "select table_name from information_schema.tables where table_schema = ?", [SCHEMA]
    ).fetchall()
    return frozenset(name for (name,) in rows)


def _require(tables: frozenset[str], name: str, path: Path) -> None:
    if name not in tables:
        raise ReportDataError(
            f"{path}: table {SCHEMA}.{name} is missing; build the marts first (`voronka build`)"
        )


def _read_cutoff(con: duckdb.DuckDBPyConnection, path: Path) -> Cutoff:
    rows = con.execute(
        f"select cutoff_at, cutoff_local, last_complete_month from {SCHEMA}.data_cutoff"
    ).fetchall()
    if len(rows) != 1:
        raise ReportDataError(f"{path}: {SCHEMA}.data_cutoff must hold one row, has {len(rows)}")
    cutoff_at, cutoff_local, last_complete_month = rows[0]
    return Cutoff(cutoff_at, cutoff_local, last_complete_month)


def read_stage_time_coverage(path: Path) -> dict[str, tuple[int, int]]:
    """Per funnel: (conversions, conversions with exact times), over every month — how
    much of the stage timing the data supports (marts.stage_durations, segment total)."""
    with _connect(path) as con:
        _require(_tables(con), "stage_durations", path)
        rows = con.execute(
            f"""
            select funnel_id, coalesce(sum(converted), 0), coalesce(sum(converted_timed), 0)
            from {SCHEMA}.stage_durations
            where segment_type = 'total'
            group by funnel_id
            order by funnel_id
            """
        ).fetchall()
    return {funnel_id: (int(converted), int(timed)) for funnel_id, converted, timed in rows}


def read_last_complete_month(path: Path) -> dt.date:
    with _connect(path) as con:
        _require(_tables(con), "data_cutoff", path)
        return _read_cutoff(con, path).last_complete_month


# mart → (FunnelMarts field, row class, filter, parameters from the report month M).
# The filters pick the months the report shows: M and the two it compares with, the
# 12 trend months, the plan for M + 1, the forecast for M + 1 or, when M is the cutoff's
# own month (a report of the month in progress), for M (and the forecast's backtest), the
# latest mature manager window, the latest month with clients funnel_changes judged (≤ M).
_FUNNEL_MARTS: tuple[tuple[str, str, type, str, object], ...] = (
    (
        "revenue_monthly",
        "revenue",
        RevenueRow,
        "segment_type = 'total' and month between ? and ?",
        lambda m: [add_months(m, -12), m],
    ),
    (
        "sales_cycle_monthly",
        "sales_cycle",
        SalesCycleRow,
        "segment_type = 'total' and month between ? and ?",
        lambda m: [add_months(m, -12), m],
    ),
    (
        "stage_durations",
        "durations",
        StageDurationRow,
        "segment_type = 'total' and month <= ?",
        lambda m: [m],
    ),
    (
        "funnel_stage_trends",
        "trends",
        StageTrendRow,
        "view = 'cohort' and segment_type = 'total' and month between ? and ?",
        lambda m: [add_months(m, -11), m],
    ),
    (
        "manager_scorecard",
        "scorecard",
        ScorecardRow,
        "month = (select max(month) from {schema}.manager_scorecard as latest"
        " where latest.funnel_id = t.funnel_id and latest.is_mature and latest.month <= ?)",
        lambda m: [m],
    ),
    (
        "funnel_bottleneck",
        "bottleneck",
        BottleneckRow,
        "is_mature and month <= ?",
        lambda m: [m],
    ),
    (
        "funnel_changes",
        "changes",
        ChangeRow,
        "month = (select max(month) from {schema}.funnel_changes as latest"
        " where latest.funnel_id = t.funnel_id and latest.month <= ? and latest.n_recent > 0)",
        lambda m: [m],
    ),
    (
        "funnel_plan",
        "plan",
        PlanRow,
        "segment_type = 'total' and month = ?",
        lambda m: [add_months(m, 1)],
    ),
    (
        "funnel_forecast",
        "forecast",
        ForecastRow,
        "segment_type = 'total' and forecast_month between ? and ?",
        lambda m: [m, add_months(m, 1)],
    ),
    ("funnel_forecast_backtest", "forecast_backtest", BacktestRow, "true", lambda m: []),
    (
        "lost_reasons",
        "lost_reasons",
        LostReasonRow,
        "segment_type = 'total' and month = ?",
        lambda m: [m],
    ),
    ("call_leaks", "call_leaks", CallLeakRow, "month = ?", lambda m: [m]),
)


# Marts read whole, the same for every funnel: (mart, row class).
_GLOBAL_MARTS = (
    ("data_quality", QualityRow),
    ("unmapped_stages", UnmappedStageRow),
    ("data_files", DataFileRow),
)
# Every mart read_marts reads (the section registry must name no other).
MARTS_READ = (
    "data_cutoff",
    "funnel_stage_monthly",
    *(table for table, *_ in _FUNNEL_MARTS),
    *(table for table, _ in _GLOBAL_MARTS),
)


def _columns(row_class: type) -> list[str]:
    return [item.name for item in fields(row_class)]


def _order(row_class: type) -> str:
    names = _columns(row_class)
    return ", ".join(name for name in ("month", "stage_order", "manager") if name in names) or "1"


def _read_funnel_marts(
    con: duckdb.DuckDBPyConnection, tables: frozenset[str], funnel_ids: list[str], month: dt.date
) -> dict[str, FunnelMarts]:
    found: dict[str, dict[str, list]] = {funnel_id: {} for funnel_id in funnel_ids}
    for table, attribute, row_class, where, parameters in _FUNNEL_MARTS:
        if table not in tables:
            continue
        columns = _columns(row_class)
        rows = con.execute(
            f"""
            select t.funnel_id, {", ".join("t." + name for name in columns)}
            from {SCHEMA}.{table} as t
            where t.funnel_id in (select unnest(?::varchar[]))
              and ({where.format(schema=SCHEMA)})
            order by t.funnel_id, {_order(row_class)}, {", ".join(columns)}
            """,
            [funnel_ids, *parameters(month)],
        ).fetchall()
        for funnel_id, *values in rows:
            found[funnel_id].setdefault(attribute, []).append(row_class(*values))
    quality, unmapped, files = (
        _read_global(con, tables, table, row_class) for table, row_class in _GLOBAL_MARTS
    )
    return {
        funnel_id: FunnelMarts(
            **{name: tuple(rows) for name, rows in by_attribute.items()},
            quality=quality,
            unmapped_stages=unmapped,
            files=files,
        )
        for funnel_id, by_attribute in found.items()
    }


def _read_global(
    con: duckdb.DuckDBPyConnection, tables: frozenset[str], table: str, row_class: type
) -> tuple:
    if table not in tables:
        return ()
    columns = ", ".join(_columns(row_class))
    rows = con.execute(
        f"select {columns} from {SCHEMA}.{table} order by {columns} nulls first"
    ).fetchall()
    return tuple(row_class(*row) for row in rows)


def read_marts(path: Path, funnel_ids: Iterable[str], month: dt.date) -> MartSnapshot:
    """Everything the reports of `month` need for these funnels, read in one session."""
    funnel_ids = sorted(set(funnel_ids))
    columns = ", ".join(STAGE_MONTHLY_COLUMNS)
    with _connect(path) as con:
        tables = _tables(con)
        _require(tables, "data_cutoff", path)
        _require(tables, "funnel_stage_monthly", path)
        cutoff = _read_cutoff(con, path)
        rows = con.execute(
            f"""
            select {columns}
            from {SCHEMA}.funnel_stage_monthly
            where funnel_id in (select unnest(?::varchar[])) and month <= ?
            order by funnel_id, month, view, segment_type, segment, stage_order
            """,
            [funnel_ids, month],
        ).fetchall()
        funnel_marts = _read_funnel_marts(con, tables, funnel_ids, month)
    by_funnel: dict[str, list[StageMonthRow]] = {funnel_id: [] for funnel_id in funnel_ids}
    for row in rows:
        by_funnel[row[0]].append(StageMonthRow(*row))
    return MartSnapshot(
        tables=tables,
        cutoff=cutoff,
        stage_rows={key: tuple(value) for key, value in by_funnel.items()},
        funnel_marts=funnel_marts,
    )
