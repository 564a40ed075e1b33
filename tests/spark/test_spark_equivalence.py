"""The same marts on DuckDB and on Spark: one seeded demo data set, built once with each
dbt target through the pipeline's own build_warehouse, compared row by row.

Rows are matched after sorting on every column; floats agree to 1e-9 (absolute or
relative, whichever is looser: sums of large amounts may differ in the last bits when
Spark adds in another order); timestamps are compared as naive UTC (Spark's parquet
marks them as UTC instants, DuckDB keeps naive UTC). Needs PySpark (`uv sync --extra
spark`) and Java 17; run with `make test-spark`. The Spark build takes minutes.
"""

from __future__ import annotations

import importlib.util
import math
import os
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipeline.config import Config, load_config
from pipeline.paths import DBT_PROJECT_DIR
from tests.helpers import copy_demo_config

pytestmark = pytest.mark.spark

MARTS = sorted(path.stem for path in (DBT_PROJECT_DIR / "models" / "marts").glob("*.sql"))
TOLERANCE = 1e-9


def _missing_spark() -> str | None:
    for module, extra in (("pyspark", "pyspark"), ("dbt.adapters.spark", "dbt-spark")):
        try:
            found = importlib.util.find_spec(module) is not None
        except ModuleNotFoundError:
            found = False
        if not found:
            return f"{extra} is not installed (uv sync --extra dev --extra spark)"
    if shutil.which("java") is None and not os.environ.get("JAVA_HOME"):
        return "Spark needs Java 17 (no `java` on PATH and no JAVA_HOME)"
    return None


@dataclass
class Builds:
    config: Config
    spark_dir: Path
    seconds: dict[str, float]


# The demo config, changed so that every branch the marts have is exercised: each reach
# policy, and CRM stage names that map to no stage in some months (unmapped_stages).
CONFIG_CHANGES = {
    "valid_from: 2025-07-01}": "valid_from: 2025-09-01}",
    "reach: implied\n    window_days: 120": "reach: strict\n    window_days: 120",
    "reach: implied\n    window_days: 180": "reach: any\n    window_days: 180",
}


def equivalence_config(folder: Path) -> Config:
    copy_demo_config(folder)
    path = folder / "voronka.yaml"
    text = path.read_text()
    for old, new in CONFIG_CHANGES.items():
        assert text.count(old) == 1, f"the demo config changed: {old!r} is not in it once"
        text = text.replace(old, new)
    path.write_text(text)
    return load_config(path)


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory) -> Builds:
    reason = _missing_spark()
    if reason:
        pytest.skip(reason)
    from pipeline.demo import write_demo_exports
    from pipeline.ingest import ingest_inbox
    from pipeline.warehouse import build_warehouse

    config = equivalence_config(tmp_path_factory.mktemp("equivalence"))
    write_demo_exports(config.inbox_dir, config.inbox_dir.parent / "demo_expected")
    ingest_inbox(config)
    seconds = {}
    started = time.monotonic()
    build_warehouse(config, target="duckdb")
    seconds["duckdb"] = time.monotonic() - started
    started = time.monotonic()
    spark = build_warehouse(config, target="spark")
    seconds["spark"] = time.monotonic() - started
    print(f"\ndbt build seconds: {seconds}")
    return Builds(config, spark.warehouse, seconds)


def _columns(con: duckdb.DuckDBPyConnection, relation: str) -> list[tuple[str, str]]:
    described = con.execute(f"describe select * from {relation}").fetchall()
    return [(row[0], row[1]) for row in described]


def _normalized_select(columns: list[tuple[str, str]], relation: str) -> str:
    """Every column, with UTC instants as naive UTC timestamps; sorted on every column."""
    exprs = [
        f"timezone('UTC', {name}) as {name}" if kind == "TIMESTAMP WITH TIME ZONE" else name
        for name, kind in columns
    ]
    order = ", ".join(str(i + 1) for i in range(len(columns)))
    return f"select {', '.join(exprs)} from {relation} order by {order}"


def _normalized_types(columns: list[tuple[str, str]]) -> list[tuple[str, str]]:
    return [
        (name, "TIMESTAMP" if kind == "TIMESTAMP WITH TIME ZONE" else kind)
        for name, kind in columns
    ]


def _same(left: object, right: object) -> bool:
    if isinstance(left, float) or isinstance(right, float):
        if left is None or right is None:
            return left is right
        return math.isclose(left, right, rel_tol=TOLERANCE, abs_tol=TOLERANCE)
    return left == right


def mart_rows(builds: Builds, mart: str) -> tuple[list, list, list, list]:
    """(DuckDB columns, DuckDB rows, Spark columns, Spark rows) of one mart."""
    parts = builds.spark_dir / "marts.db" / mart
    assert parts.is_dir(), f"Spark built no table for {mart} under {builds.spark_dir}"
    with duckdb.connect() as con:
        con.execute("set TimeZone = 'UTC'")
        con.execute(f"attach '{builds.config.warehouse_path}' as duck (read_only)")
        duck = f"duck.marts.{mart}"
        duck_columns = _columns(con, duck)
        # Incremental marts are partitioned by month on Spark (macros/incremental.sql): the
        # month is a folder name there, read back as a column, and put in DuckDB's order.
        names = ", ".join(name for name, _ in duck_columns)
        spark = (
            f"(select {names} from read_parquet('{parts}/**/*.parquet', "
            "hive_partitioning = true, hive_types_autocast = true))"
        )
        spark_columns = _columns(con, spark)
        duck_rows = con.execute(_normalized_select(duck_columns, duck)).fetchall()
        spark_rows = con.execute(_normalized_select(spark_columns, spark)).fetchall()
    return duck_columns, duck_rows, spark_columns, spark_rows


def test_spark_builds_every_mart(builds):
    built = sorted(path.name for path in (builds.spark_dir / "marts.db").iterdir())
    assert built == MARTS


@pytest.mark.parametrize("mart", MARTS)
def test_mart_is_the_same_on_duckdb_and_spark(builds, mart):
    duck_columns, duck_rows, spark_columns, spark_rows = mart_rows(builds, mart)
    assert _normalized_types(spark_columns) == _normalized_types(duck_columns)
    assert duck_rows, f"{mart} is empty on the demo data: nothing would be compared"
    assert len(spark_rows) == len(duck_rows)
    names = [name for name, _ in duck_columns]
    differences = [
        (names[i], duck_row[: len(names)], duck_value, spark_value)
        for duck_row, spark_row in zip(duck_rows, spark_rows, strict=True)
        for i, (duck_value, spark_value) in enumerate(zip(duck_row, spark_row, strict=True))
        if not _same(duck_value, spark_value)
    ]
    assert not differences, (
        f"{len(differences)} values differ in {mart}; first: column {differences[0][0]}, "
        f"DuckDB {differences[0][2]!r} vs Spark {differences[0][3]!r} in row {differences[0][1]}"
    )
