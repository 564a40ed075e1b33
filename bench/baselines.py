"""The baselines Voronka is measured against (bench.run): the read floor — DuckDB's and
polars' read_csv of every raw file (bench.stage floor-duckdb, floor-polars) — and the
pandas script an analyst would write (bench/pandas_baseline.py), whose cohort table is
checked against the marts.
"""

from __future__ import annotations

from pathlib import Path

from bench.checks import compare_with_pandas
from bench.results import PANDAS
from bench.steps import Stages


def run_floors(stages: Stages, workdir: Path) -> dict[str, float | None]:
    """Each floor's seconds (None if it failed)."""
    inbox = workdir / "inbox"
    floors = {}
    scratch = workdir / "floor.duckdb"
    m = stages.run("floor: duckdb read_csv", ["bench.stage", "floor-duckdb", "--inbox",
                                              str(inbox), "--scratch", str(scratch)])  # fmt: skip
    floors["duckdb"] = m.seconds if m.returncode == 0 else None
    m = stages.run("floor: polars read_csv", ["bench.stage", "floor-polars", "--inbox", str(inbox)])
    floors["polars"] = m.seconds if m.returncode == 0 else None
    return floors


def run_pandas(stages: Stages, workdir: Path, config: Path, raw_rows: int) -> dict | None:
    """The pandas baseline on every raw file, and its cohort table against the warehouse's
    (None if it failed)."""
    out = workdir / "pandas_cohorts.csv"
    m = stages.run(PANDAS, ["bench.pandas_baseline", "--config", str(config),
                            "--inbox", str(workdir / "inbox"), "--out", str(out)])  # fmt: skip
    row = stages.rows[-1]
    row["rows"] = raw_rows
    row["rows_per_s"] = round(raw_rows / m.seconds) if m.seconds else None
    if m.returncode != 0:
        return None
    return compare_with_pandas(workdir / "warehouse.duckdb", out)
