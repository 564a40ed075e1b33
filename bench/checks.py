"""The bench's two checks (bench.run): the incremental build's marts equal the full
rebuild's, row for row; and marts.funnel_stage_monthly (view cohort, segment total) equals
the pandas baseline's table (entities and entities_next).
"""

from __future__ import annotations

import math
from pathlib import Path

import duckdb
import polars as pl


def significant(column: str, digits: int = 10) -> str:
    """SQL: a double rounded to `digits` significant digits (sums of doubles differ in
    their last bits with the order DuckDB's threads add them in)."""
    scale = f"{digits - 1} - cast(floor(log10(abs({column}))) as integer)"
    exact = f"{column} = 0 or not isfinite({column})"
    return f"case when {exact} then {column} else round({column}, {scale}) end"


def close_rows(a: list[tuple], b: list[tuple]) -> bool:
    """The same rows, doubles equal to 1e-9 relative: two builds' sums of doubles differ in
    their last bits, and rounding alone puts a value that lies on a rounding boundary
    (25.953464415) on either side of it. Rows pair up in order of their other fields."""
    if len(a) != len(b):
        return False

    def order(row: tuple) -> tuple:
        return tuple(f"{v:.6g}" if isinstance(v, float) else repr(v) for v in row)

    def close(x: object, y: object) -> bool:
        if isinstance(x, float) and isinstance(y, float):
            return math.isclose(x, y, rel_tol=1e-9, abs_tol=1e-12) or (x != x and y != y)
        return x == y

    pairs = zip(sorted(a, key=order), sorted(b, key=order), strict=True)
    return all(len(x) == len(y) and all(map(close, x, y)) for x, y in pairs)


def compare_marts(built: Path, rebuilt: Path) -> dict:
    """Every mart of the incremental build vs the full rebuild, row for row (doubles to
    10 significant digits, as tests/e2e/test_incremental.py compares them)."""
    differing: dict[str, object] = {}
    with duckdb.connect() as con:
        con.execute(f"attach '{_quoted(built)}' as incremental (read_only)")
        con.execute(f"attach '{_quoted(rebuilt)}' as rebuilt (read_only)")
        tables = [row[0] for row in con.execute(
            "select table_name from duckdb_tables() where database_name = 'rebuilt' "
            "and schema_name = 'marts' order by 1").fetchall()]  # fmt: skip
        for table in tables:
            columns = con.execute(
                "select column_name, data_type from duckdb_columns() where database_name = "
                "'rebuilt' and schema_name = 'marts' and table_name = ? order by column_index",
                [table],
            ).fetchall()
            select = ", ".join(
                significant(f'"{name}"') if kind == "DOUBLE" else f'"{name}"'
                for name, kind in columns
            )

            def only_in(a: str, b: str, table=table, select=select) -> list[tuple]:
                return con.execute(
                    f'select {select} from {a}.marts."{table}" '
                    f'except all select {select} from {b}.marts."{table}"'
                ).fetchall()

            try:
                missing = only_in("rebuilt", "incremental")
                extra = only_in("incremental", "rebuilt")
            except duckdb.Error as error:
                differing[table] = str(error).splitlines()[0]
                continue
            if not close_rows(missing, extra):
                differing[table] = {
                    "rows_only_in_full": len(missing),
                    "rows_only_in_incremental": len(extra),
                }
    return {"equal": not differing and bool(tables), "tables": len(tables), "differing": differing}


def _quoted(path: Path) -> str:
    return str(path).replace("'", "''")


def compare_with_pandas(warehouse: Path, pandas_csv: Path) -> dict:
    """marts.funnel_stage_monthly (cohort, total) vs the pandas table, row for row."""
    with duckdb.connect(str(warehouse), read_only=True) as con:
        cursor = con.execute(
            "select funnel_id, month, stage_order, entities, entities_next "
            "from marts.funnel_stage_monthly where view = 'cohort' and segment_type = 'total'"
        )
        names = [column[0] for column in cursor.description]
        marts = pl.DataFrame(cursor.fetchall(), schema=names, orient="row")
    theirs = pl.read_csv(pandas_csv, try_parse_dates=True).select(
        "funnel_id", "month", "stage_order", "entities", "entities_next"
    )
    key = ["funnel_id", "month", "stage_order"]
    marts = marts.with_columns(pl.col("stage_order").cast(pl.Int64), pl.col("month").cast(pl.Date))
    theirs = theirs.with_columns(
        pl.col("stage_order").cast(pl.Int64), pl.col("month").cast(pl.Date)
    )
    joined = marts.join(theirs, on=key, how="full", suffix="_pandas", coalesce=True)
    differs = joined.filter(
        pl.col("entities").ne_missing(pl.col("entities_pandas"))
        | pl.col("entities_next").ne_missing(pl.col("entities_next_pandas"))
    )
    return {
        "equal": differs.height == 0,
        "rows_voronka": marts.height,
        "rows_pandas": theirs.height,
        "rows_differing": differs.height,
        "entities_voronka": int(marts["entities"].sum()),
        "entities_pandas": int(theirs["entities"].sum()),
        "first_differences": differs.head(10).to_dicts(),
    }
