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
    # Where the row fails (Boolean; null passes), when `problem` is a message made on every
    # row it is evaluated on: it is then made only for the failing rows (None: `problem`
    # is null exactly where the row passes, and cheap to evaluate on every row).
    fails: pl.Expr | None = None

    def failing(self) -> pl.Expr:
        return self.problem.is_not_null() if self.fails is None else self.fails.fill_null(False)

    def reason(self) -> pl.Expr:
        return self.problem if self.fails is None else pl.when(self.fails).then(self.problem)


def no_rejects() -> pl.DataFrame:
    return pl.DataFrame(schema=REJECT_SCHEMA)


def split_rejects(frame: pl.DataFrame, checks: list[Check]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Evaluate checks in order; rows failing any go to rejects (first failure wins). The
    reasons are made for the failing rows only, and a frame with none comes back as it is."""
    if not checks or frame.height == 0:
        return frame, no_rejects()
    bad_rows = frame.select(pl.any_horizontal(check.failing() for check in checks)).to_series()
    if not bad_rows.any():
        return frame, no_rejects()
    problems = [check.reason().alias(f"_problem_{i}") for i, check in enumerate(checks)]
    flagged_at = bad_rows.arg_true()
    flagged = frame[flagged_at].with_columns(problems)
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
    passed = flagged["_reason"].is_null()  # a message that came out null: no reason
    if passed.any():
        bad_rows = bad_rows.scatter(flagged_at.filter(passed), False)
    rejects = flagged.filter(~passed).select(
        row_number=pl.col(ROW).cast(pl.Int64),
        column=pl.col("_column"),
        expected=pl.col("_expected"),
        raw=pl.col(RAW),
        reason=pl.col("_reason"),
    )
    return frame.filter(~bad_rows), rejects


def required(column: str, label: str) -> pl.Expr:
    """A problem where a required value is empty."""
    value = pl.col(column)  # null, or nothing but whitespace (what strip_chars removes)
    return pl.when(value.is_null() | ~value.str.contains(r"\S")).then(pl.lit(f"{label} is empty"))
