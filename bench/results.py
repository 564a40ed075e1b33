"""The bench's results (bench.run): the stages' names and rows, the machine, the targets
met or missed, and the JSON written to bench/results/<scale>-<timestamp>.json.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
from pathlib import Path

import duckdb
import polars as pl
import psutil

from bench.measure import Measured
from pipeline.build_settings import TEMP_DIR_ENV, duckdb_resources

GB = 1024**3
TARGETS = {
    "normalize_vs_floor_max": 6.0,
    "pandas_vs_ingest_to_marts_min": 3.0,
    "peak_rss_max_bytes": 4 * GB,
    "dbt_invocations": 1,
    "pdf_median_max_s": 3.0,
    "new_month_vs_full_build_max_percent": 25.0,
}
INGEST_HISTORY = "voronka: ingest: history"
BUILD_HISTORY = "voronka: dbt build: history (full)"
INGEST_NEW = "voronka: ingest: new month"
BUILD_NEW = "voronka: dbt build: new month (incremental)"
# The new month's call logs alone on top of the history (no CRM export), then all of that
# landing built whole: the other kind of month (bench.steps.run_calls_alone).
INGEST_CALLS = "voronka: ingest: new month's calls alone"
BUILD_CALLS = "voronka: dbt build: new month's calls alone (incremental)"
BUILD_CALLS_FULL = "voronka: dbt build: history + new month's calls (full)"
INGEST = "voronka: ingest"  # the two ingest steps together (every file, like the floor)
BUILD = "voronka: dbt build"  # all months on the same landing, fresh warehouse
REPORTS = "voronka: reports (all)"
PANDAS = "pandas baseline"


def machine() -> dict:
    return {
        "cpus": os.cpu_count(),
        "memory_gb": round(psutil.virtual_memory().total / GB, 1),
        "platform": platform.platform(),
        "python": platform.python_version(),
        "cpu": _cpu_model(),
        "polars": pl.__version__,
        "duckdb": duckdb.__version__,
        # The DuckDB settings a build takes from this machine (pipeline/warehouse.py).
        "duckdb_settings": {
            name: value
            for name, value in duckdb_resources(Path("warehouse.duckdb")).items()
            if name != TEMP_DIR_ENV
        },
    }


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def stage_row(name: str, measured: Measured, rows: int | None) -> dict:
    seconds = round(measured.seconds, 2)
    return {
        "stage": name,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": round(rows / measured.seconds) if rows and measured.seconds else None,
        "peak_rss_mb": round(measured.peak_rss_bytes / 1024**2),
        "peak_spill_mb": (
            round(measured.peak_watched_bytes / 1024**2)
            if measured.peak_watched_bytes is not None
            else None
        ),
        "ok": measured.returncode == 0,
        "killed_at_memory_limit": measured.killed_at_limit,
    }


def sum_row(name: str, parts: list[dict]) -> dict:
    """A stage row that is the sum of others (seconds, rows; the highest peak)."""
    seconds = round(sum(row["seconds"] for row in parts), 2)
    rows = sum(row["rows"] or 0 for row in parts)
    return {
        "stage": name,
        "rows": rows,
        "seconds": seconds,
        "rows_per_s": round(rows / seconds) if rows and seconds else None,
        "peak_rss_mb": max(row["peak_rss_mb"] for row in parts),
        "peak_spill_mb": None,
        "ok": all(row["ok"] for row in parts),
        "killed_at_memory_limit": any(row["killed_at_memory_limit"] for row in parts),
        "sum_of": [row["stage"] for row in parts],
    }


def evaluate(result: dict) -> list[dict]:
    """Each target: the figure, the limit, met or by how much it is missed."""
    s = {row["stage"]: row for row in result["stages"]}
    checks = []

    def add(name, value, limit, met, unit="", at_least=False):
        checks.append(target_check(name, value, limit, met, unit, at_least))

    floor = result["floor_seconds"]
    ingest = s[INGEST]["seconds"]
    ratio = round(ingest / floor, 2) if floor else None
    add("normalize ≤ 6× the read floor", ratio, 6.0, ratio is not None and ratio <= 6.0, "×")
    pandas = s.get(PANDAS)
    to_marts = ingest + s[BUILD]["seconds"]
    if pandas and pandas["ok"]:
        speedup = round(pandas["seconds"] / to_marts, 2)
        add("ingest→marts ≥ 3× faster than pandas", speedup, 3.0, speedup >= 3.0, "×", True)
    elif pandas:
        checks.append({"target": "ingest→marts ≥ 3× faster than pandas", "value": "pandas "
                       + ("ran out of the memory limit" if pandas["killed_at_memory_limit"]
                          else "failed"), "limit": 3.0, "met": True, "missed_by": None,
                       "unit": ""})  # fmt: skip
    voronka = [row for name, row in s.items() if name.startswith("voronka")]
    peak = max(row["peak_rss_mb"] for row in voronka)
    add("peak RSS ≤ 4 GB (every Voronka step)", peak, 4096, peak <= 4096, "MB")
    builds = result.get("dbt_builds") or {BUILD: result["dbt"]}
    invocations = max(build.get("dbt_invocations") or 0 for build in builds.values())
    add("one dbt invocation per run", invocations, 1, invocations == 1)
    median = result["report"].get("pdf_median_s")
    add("PDF ≤ 3 s median", median, 3.0, median is not None and median <= 3.0, "s")
    # The wording: the new month's ingest and build against the full run's (ingest →
    # marts); the build-only share stays in the results ("percent") and the summary.
    for key, what in (("incremental", "its call logs and CRM export"),
                      ("calls_alone", "its call logs alone")):  # fmt: skip
        if result.get(key):
            add_new_month(checks, result[key], what)
    return checks


def target_check(name, value, limit, met, unit="", at_least=False) -> dict:
    """One target: its figure, its limit, met or by how much it is missed."""
    if met or not value:
        miss = None
    elif at_least:
        miss = f"{limit / value:.1f}× short of it"
    else:
        miss = f"{value / limit:.2f}× the limit"
    return {"target": name, "value": value, "limit": limit, "met": bool(met),
            "missed_by": miss, "unit": unit}  # fmt: skip


def add_new_month(checks: list[dict], new_month: dict, what: str) -> None:
    """The target for one kind of new month: met, missed, or failed by its checks."""
    name = (f"one new month on top of {new_month['history_months']} ({what}): ingest + build "
            "≤ 25 % of the full run")  # fmt: skip
    percent = new_month["with_ingest_percent"]
    check = target_check(name, percent, 25.0, percent is not None and percent <= 25.0, "%")
    if not new_month["incremental"]:
        check.update(met=False, missed_by=f"the build was not incremental ({new_month['plan']})")
    elif not new_month["equal_to_full"]["equal"]:
        differing = ", ".join(new_month["equal_to_full"]["differing"]) or "no marts"
        check.update(met=False, missed_by="the incremental build differs from the full "
                     f"rebuild: {differing}")  # fmt: skip
    checks.append(check)


def new_month_share(
    outputs: dict[str, dict],
    measured: dict[str, Measured],
    build_name: str,
    ingest_name: str,
    full_name: str,
    full_run: float,
) -> dict:
    """A new month's incremental build and ingest, as shares of the full build and of the
    full run (`full_run` seconds: its ingest and full build)."""
    build, ingest = measured[build_name].seconds, measured[ingest_name].seconds
    full = measured[full_name].seconds
    return {
        "plan": outputs[build_name].get("plan"),
        "full_plan": outputs[full_name].get("plan"),
        "incremental": bool(outputs[build_name].get("incremental")),
        "build_seconds": round(build, 2),
        "full_build_seconds": round(full, 2),
        "percent": round(100 * build / full, 1) if full else None,
        "ingest_seconds": round(ingest, 2),
        "with_ingest_percent": round(100 * (ingest + build) / full_run, 1),
    }


def ingest_to_marts(rows: list[dict], build: Measured) -> float:
    """Seconds from the exports to the marts: both ingest steps and the full rebuild."""
    return next(row for row in rows if row["stage"] == INGEST)["seconds"] + build.seconds


def assemble(
    scale: str,
    manifest: dict,
    *,
    rows: list[dict],
    outputs: dict[str, dict],
    measured: dict[str, Measured],
    floors: dict[str, float | None],
    files: tuple[list[str], list[str]],
    equal_to_full: dict,
    comparison: dict | None,
    calls_alone_equal: dict | None = None,
) -> dict:
    """The run's results (the JSON written), with each target met or missed; sets the rows
    of the build stages."""
    raw_rows = sum(manifest["rows"].values())
    # rows of the Voronka stages: the records read (ingest); for a dbt build, the landed
    # rows it takes in (the new month's for the incremental build, all for a full one).
    by_name = {row["stage"]: row for row in rows}
    ingest_steps = {name: outputs[name] for name in (INGEST_HISTORY, INGEST_NEW)}
    ingest_out = {
        key: sum(step.get(key) or 0 for step in ingest_steps.values())
        for key in ("rows", "rows_accepted", "rows_rejected")
    }
    ingest_out["files"] = {k: v for step in ingest_steps.values() for k, v in step["files"].items()}
    history_rows = outputs[INGEST_HISTORY].get("rows_accepted") or 0
    calls_rows = outputs.get(INGEST_CALLS, {}).get("rows_accepted") or 0
    for name, landed in ((BUILD_HISTORY, history_rows),
                         (BUILD_CALLS, calls_rows),
                         (BUILD_CALLS_FULL, history_rows + calls_rows),
                         (BUILD_NEW, outputs[INGEST_NEW].get("rows_accepted")),
                         (BUILD, ingest_out["rows_accepted"])):  # fmt: skip
        if name not in by_name:
            continue
        row = by_name[name]
        row["rows"] = landed
        row["rows_per_s"] = round(landed / row["seconds"]) if landed and row["seconds"] else None
    build = measured[BUILD]
    to_marts = ingest_to_marts(rows, build)
    valid_floors = [v for v in floors.values() if v]
    history_files, new_files = files
    incremental = {
        "new_month": manifest["new_month"],
        "history_months": manifest["spec"]["months"] - 1,
        "history_files": history_files,
        "new_month_files": new_files,
        "history_plan": outputs[BUILD_HISTORY].get("plan"),
        **new_month_share(outputs, measured, BUILD_NEW, INGEST_NEW, BUILD, to_marts),
        "equal_to_full": equal_to_full,
    }
    calls_alone = None
    if BUILD_CALLS in measured:
        # Its full run: the history's ingest and its own, and its landing built whole.
        full_run = (measured[INGEST_HISTORY].seconds + measured[INGEST_CALLS].seconds
                    + measured[BUILD_CALLS_FULL].seconds)  # fmt: skip
        calls_alone = {
            "new_month": manifest["new_month"],
            "history_months": manifest["spec"]["months"] - 1,
            "new_month_files": outputs[INGEST_CALLS]["files"],
            **new_month_share(
                outputs, measured, BUILD_CALLS, INGEST_CALLS, BUILD_CALLS_FULL, full_run
            ),
            "full_run_seconds": round(full_run, 2),
            "equal_to_full": calls_alone_equal,
        }
    result = {
        "scale": scale,
        "spec": manifest["spec"],
        "when": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "machine": machine(),
        "input": {
            "files": manifest["rows"],
            "bytes": manifest["bytes"],
            "records": raw_rows,
            "calls": manifest["calls"],
            "deals": manifest["deals"],
            "generate_seconds": manifest["seconds"],
        },
        "stages": rows,
        "floor_seconds": round(min(valid_floors), 2) if valid_floors else None,
        "floors": {k: round(v, 2) if v else v for k, v in floors.items()},
        "ingest_to_marts_seconds": round(to_marts, 2),
        "end_to_end_seconds": round(to_marts + by_name.get(REPORTS, {"seconds": 0})["seconds"], 2),
        "dbt": outputs.get(BUILD, {}),
        "dbt_builds": {
            name: outputs[name]
            for name in (BUILD_HISTORY, BUILD_CALLS, BUILD_CALLS_FULL, BUILD_NEW, BUILD)
            if name in outputs
        },
        "report": outputs.get(REPORTS, {}),
        "ingest": ingest_out,
        "ingest_steps": ingest_steps,
        "incremental": incremental,
        "calls_alone": calls_alone,
        "pandas_check": comparison,
    }
    result["targets"] = evaluate(result)
    return result
