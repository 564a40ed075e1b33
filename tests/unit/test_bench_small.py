"""The small bench end to end: scaled exports → Voronka's marts = the pandas baseline.

Runs `python -m bench.run --scale small` as `make bench SCALE=small` does (floor and PDFs
skipped to keep CI time down; no wall-time asserts) and checks the numbers it compares.
"""

from __future__ import annotations

import json

import pytest

from bench import run


@pytest.fixture(scope="module")
def small_bench(tmp_path_factory):
    root = tmp_path_factory.mktemp("bench")
    results = root / "results"
    code = run.main(
        ["--scale", "small", "--workdir", str(root / "work"), "--results-dir", str(results),
         "--skip", "floor", "--skip", "report"]
    )  # fmt: skip
    (result_file,) = results.glob("small-*.json")
    return code, json.loads(result_file.read_text())


def test_voronka_cohort_table_equals_the_pandas_baseline(small_bench):
    code, result = small_bench
    check = result["pandas_check"]
    assert check["equal"], check["first_differences"]
    assert check["rows_voronka"] == check["rows_pandas"] > 0
    assert check["entities_voronka"] > 10_000
    assert code == 0


def test_every_record_is_landed_or_rejected_and_dbt_runs_once(small_bench):
    _, result = small_bench
    ingest = result["ingest"]
    assert ingest["rows"] == ingest["rows_accepted"] + ingest["rows_rejected"]
    assert ingest["rows_rejected"] > 0  # the deliberately broken rows
    assert result["dbt"]["dbt_invocations"] == 1


def test_results_carry_rows_time_and_peak_memory_per_stage(small_bench):
    _, result = small_bench
    stages = {row["stage"]: row for row in result["stages"]}
    assert {"voronka: ingest", "voronka: dbt build", "pandas baseline"} <= set(stages)
    for row in stages.values():
        assert row["ok"] and row["seconds"] > 0 and row["peak_rss_mb"] > 0
