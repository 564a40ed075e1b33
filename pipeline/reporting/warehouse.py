"""Reads the marts a report needs from the DuckDB warehouse: read-only, in a `with` block.

Returns plain frozen rows, so the connection is closed before anything is rendered and
the rest of the reporting code never sees DuckDB. Tables that do not exist yet are
simply absent from `MartSnapshot.tables`; their report sections are omitted.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import duckdb

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


def read_last_complete_month(path: Path) -> dt.date:
    with _connect(path) as con:
        _require(_tables(con), "data_cutoff", path)
        return _read_cutoff(con, path).last_complete_month


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
    by_funnel: dict[str, list[StageMonthRow]] = {funnel_id: [] for funnel_id in funnel_ids}
    for row in rows:
        by_funnel[row[0]].append(StageMonthRow(*row))
    return MartSnapshot(
        tables=tables,
        cutoff=cutoff,
        stage_rows={key: tuple(value) for key, value in by_funnel.items()},
    )
