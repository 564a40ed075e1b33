"""Row checks → accepted rows and `rejected_rows`. One reject row per rejected record:
the first failing check (in the order given) names the column, what was expected and why."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

ROW = "_row"  # 1-based record number in the file (header not counted)
RAW = "_raw"  # the record as read
REJECT_COLUMNS = ("row_number", "column", "expected", "raw", "reason")
REJECT_SCHEMA = pl.Schema(
    {
        "row_number": pl.Int64,
        "column": pl.String,
        "expected": pl.String,
        "raw": pl.String,
        "reason": pl.String,
    }
)


@dataclass(frozen=True)
class Check:
    column: str  # the column as the file names it
    expected: str
    problem: pl.Expr  # String: null when the row passes, else the reason


def no_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def split_rejects(frame: pl.DataFrame, checks: list[Check]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evaluate checks in order; rows failing any go to rejects (first failure wins)."""
    if not checks or frame.height == 0:
        return frame, no_rejects()
    problems = [check.problem.alias(f"_problem_{i}") for i, check in enumerate(checks)]
    flagged = frame.with_columns(problems)
    names = [f"_problem_{i}" for i in range(len(checks))]
    column = expected = pl.lit(None, dtype=pl.String)
    for name, check in reversed(list(zip(names, checks, strict=True))):
        column = pl.when(pl.col(name).is_not_null()).then(pl.lit(check.column)).otherwise(column)
        expected = (
            pl.when(pl.col(name).is_not_null()).then(pl.lit(check.expected)).otherwise(expected)
        )
    flagged = flagged.with_columns(
        _reason=pl.coalesce(names), _column=column, _expected=expected
    ).drop(names)
    bad = pl.col("_reason").is_not_null()
    rejects = flagged.filter(bad).select(
        row_number=pl.col(ROW).cast(pl.Int64),
        column=pl.col("_column"),
        expected=pl.col("_expected"),
        raw=pl.col(RAW),
        reason=pl.col("_reason"),
    )
    accepted = flagged.filter(~bad).drop("_reason", "_column", "_expected")
    return accepted, rejects


def required(column: str, label: str) -> pl.Expr:
    """A problem where a required value is empty."""
    value = pl.col(column).str.strip_chars()
    return pl.when(value.is_null() | (value == "")).then(pl.lit(f"{label} is empty"))
