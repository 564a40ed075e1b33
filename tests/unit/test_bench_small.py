"""The small bench end to end: scaled exports → Voronka's marts = the pandas baseline.

Runs `python -m bench.run --scale small` as `make bench SCALE=small` does (floor and PDFs
skipped to keep CI time down; no wall-time asserts) and checks the numbers it compares:
the history and the new month are delivered apart, the new month's build is incremental
and equals the full rebuild (as does its call log's alone), and the full rebuild equals
the pandas table.
"""

from __future__ import annotations

import csv
import json

import pytest

from bench import run
from bench.results import (
    BUILD,
    BUILD_CALLS,
    BUILD_CALLS_FULL,
    BUILD_HISTORY,
    BUILD_NEW,
    INGEST,
    INGEST_HISTORY,
    INGEST_NEW,
)


@pytest.fixture(scope="module")
def bench_root(tmp_path_factory):
    return tmp_path_factory.mktemp("bench")


@pytest.fixture(scope="module")
def small_bench(bench_root):
    results = bench_root / "results"
    code = run.main(
        ["--scale", "small", "--workdir", str(bench_root / "work"), "--results-dir", str(results),
         "--skip", "floor", "--skip", "report"]
    )  # fmt: skip
    (result_file,) = results.glob("small-*.json")
    return code, json.loads(result_file.read_text())


@pytest.fixture(scope="module")
def exports(small_bench, bench_root):
    return bench_root / "work" / "inbox"


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
    assert [build["dbt_invocations"] for build in result["dbt_builds"].values()] == [1] * 5
    assert ingest["rows"] == result["input"]["records"]


def test_results_carry_rows_time_and_peak_memory_per_stage(small_bench):
    _, result = small_bench
    stages = {row["stage"]: row for row in result["stages"]}
    assert {"voronka: ingest", "voronka: dbt build", "pandas baseline"} <= set(stages)
    for row in stages.values():
        assert row["ok"] and row["seconds"] > 0 and row["peak_rss_mb"] > 0
        # DuckDB's spill folder is watched during the builds, and only then.
        is_build = row["stage"] in (BUILD_HISTORY, BUILD_CALLS, BUILD_CALLS_FULL, BUILD_NEW, BUILD)
        assert (row["peak_spill_mb"] is not None) == is_build, row
    settings = result["machine"]["duckdb_settings"]
    assert settings["VORONKA_DUCKDB_MEMORY_LIMIT"].endswith("MB")
    assert int(settings["VORONKA_DUCKDB_THREADS"]) >= 1
    steps = [stages[INGEST_HISTORY], stages[INGEST_NEW]]
    assert stages[INGEST]["seconds"] == pytest.approx(sum(s["seconds"] for s in steps))
    assert stages[INGEST]["rows"] == sum(s["rows"] for s in steps)


def test_the_new_month_is_built_incrementally_and_equals_the_full_rebuild(small_bench):
    _, result = small_bench
    new = result["incremental"]
    assert (new["new_month"], new["history_months"]) == ("2026-10", 23)
    assert new["history_plan"].startswith("full rebuild"), new["history_plan"]
    assert new["incremental"] and new["plan"].startswith("incremental: cohort months"), new
    assert new["full_plan"].startswith("full rebuild"), new["full_plan"]
    assert new["equal_to_full"]["equal"], new["equal_to_full"]["differing"]
    assert new["equal_to_full"]["tables"] > 10
    targets = {t["target"]: t for t in result["targets"] if t["target"].startswith("one new month")}
    target = targets["one new month on top of 23 (its call logs and CRM export): ingest + build "
                     "≤ 25 % of the full run"]  # fmt: skip
    assert target["value"] == new["with_ingest_percent"] > 0


def test_the_new_months_calls_alone_are_built_incrementally_and_equal_the_full_rebuild(
    small_bench,
):
    """The other kind of month: its call log alone on top of the history (no CRM file: the
    tables of CRM data are kept), against that landing built whole; then the workdir went
    back to the history, so the month with its CRM export starts from the same history."""
    _, result = small_bench
    alone = result["calls_alone"]
    assert alone["new_month_files"] == {"pbx/Master-2026-10.csv": "loaded"}
    assert alone["incremental"] and "CRM tables as built" in alone["plan"], alone["plan"]
    assert alone["full_plan"].startswith("full rebuild"), alone["full_plan"]
    assert alone["equal_to_full"]["equal"], alone["equal_to_full"]["differing"]
    stages = {row["stage"]: row["seconds"] for row in result["stages"]}
    full_run = stages[INGEST_HISTORY] + stages["voronka: ingest: new month's calls alone"]
    assert alone["full_run_seconds"] == pytest.approx(full_run + stages[BUILD_CALLS_FULL], abs=0.05)
    targets = {t["target"]: t for t in result["targets"]}
    target = targets["one new month on top of 23 (its call logs alone): ingest + build ≤ 25 % "
                     "of the full run"]  # fmt: skip
    assert target["value"] == alone["with_ingest_percent"] > 0
    # The month with its CRM export started from the history alone: its ingest read its
    # call log again, and its plan recomputes the calls from the month before it.
    new = result["incremental"]
    assert "3 new file(s)" in new["plan"], new["plan"]


def test_the_new_month_is_its_own_delivery(small_bench, exports):
    _, result = small_bench
    new = result["incremental"]
    assert new["new_month_files"] == [
        "pbx/Master-2026-10.csv",
        "crm/deals_2026-11-01_0600.csv",
        "crm/history_2026-11-01_0600.csv",
    ]
    assert "crm/deals_2026-10-01_0000.csv" in new["history_files"]

    def starts(name: str) -> list[str]:
        with (exports / name).open(encoding="utf-8", newline="") as handle:
            return [row[9][:10] for row in csv.reader(handle) if len(row) == 17]

    october = starts("pbx/Master-2026-10.csv")
    assert october and all("2026-10-01" <= day <= "2026-10-31" for day in october)
    assert max(day for day in starts("pbx/Master.csv") if day[:2] == "20") < "2026-10-01"
