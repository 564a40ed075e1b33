"""One bench stage, run in its own process by bench.run (so its memory is its own).

    python -m bench.stage ingest|build|report|floor-duckdb|floor-polars --config F [...]

Each prints one JSON line last: what it processed (rows, files, PDFs, dbt invocations).
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from contextlib import contextmanager
from pathlib import Path

from pipeline.config import load_config


def stage_ingest(config_path: Path, budget_mb: int | None) -> dict:
    from pipeline import ingest

    config = load_config(config_path)
    kwargs = {"settle_seconds": 0}
    if budget_mb is not None and "memory_budget_mb" in ingest.ingest_inbox.__code__.co_varnames:
        kwargs["memory_budget_mb"] = budget_mb
    summary = ingest.ingest_inbox(config, **kwargs)
    return {
        "rows": summary.rows_total,
        "rows_accepted": summary.rows_accepted,
        "rows_rejected": summary.rows_rejected,
        "files": {f.path: f.status for f in summary.files},
    }


def stage_build(config_path: Path) -> dict:
    """One `build_warehouse`: the dbt invocations, the rebuild plan it printed (a full
    rebuild or the incremental months), and, when DBT_TARGET_PATH is set, each model's
    time from dbt's run_results.json."""
    from pipeline import warehouse
    from pipeline.dbt_child import RETRY_NOTICE

    config = load_config(config_path)
    invocations: list[list[str]] = []
    original = warehouse.run_dbt

    def counted(config, args, target_file, progress=None, **kwargs):
        invocations.append(list(args))
        return original(config, args, target_file, progress, **kwargs)

    warehouse.run_dbt = counted
    prepared: dict = {}
    original_copy = warehouse.build_copy

    @contextmanager
    def timed_copy(published: Path):
        """What the build costs besides dbt: its build file (before dbt starts; the MB it
        copied in the background, 0 for a first build, and the copy's seconds) and
        publishing it."""
        started = time.perf_counter()
        with original_copy(published) as build:
            prepared["prepare_seconds"] = round(time.perf_counter() - started, 2)
            copied = build.copy is not None
            prepared["prepared_mb"] = round(published.stat().st_size / 2**20) if copied else 0
            yield build
            published_at = time.perf_counter()
        prepared["publish_seconds"] = round(time.perf_counter() - published_at, 2)
        prepared["copy_seconds"] = round(build.copy.seconds, 2) if copied else 0.0

    warehouse.build_copy = timed_copy
    progress: list[str] = []
    warehouse.build_warehouse(config, progress=progress.append)
    import duckdb

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        rows = con.execute("select count(*) from marts.funnel_entities").fetchone()[0]
        monthly = con.execute("select count(*) from marts.funnel_stage_monthly").fetchone()[0]
    plan = next(
        (line for line in progress if line.startswith(("full rebuild:", "incremental:"))), None
    )
    return {"dbt_invocations": len(invocations), "dbt_args": invocations, "rows": rows,
            "funnel_stage_monthly_rows": monthly, "plan": plan,
            "incremental": bool(plan and plan.startswith("incremental:")),
            "out_of_memory_retry": any(RETRY_NOTICE in line for line in progress),
            **prepared, **node_seconds()}  # fmt: skip


def node_seconds() -> dict:
    """Per-model seconds of the last dbt run (slowest first) and the tests' total, from
    run_results.json under $DBT_TARGET_PATH (nothing when it is not set)."""
    target = os.environ.get("DBT_TARGET_PATH")
    path = Path(target) / "run_results.json" if target else None
    if path is None or not path.exists():
        return {}
    run = json.loads(path.read_text())
    models, tests = {}, 0.0
    for result in run["results"]:
        kind, _, name = result["unique_id"].partition(".")
        if kind == "model":
            models[name.split(".", 1)[-1]] = round(result["execution_time"], 2)
        elif kind in ("test", "unit_test"):
            tests += result["execution_time"]
    ordered = dict(sorted(models.items(), key=lambda item: -item[1]))
    return {"model_seconds": ordered, "test_seconds": round(tests, 2),
            "dbt_elapsed_s": round(run["elapsed_time"], 2)}  # fmt: skip


def stage_report(config_path: Path) -> dict:
    from pipeline.reporting import default_report_month, render_reports

    config = load_config(config_path)
    month = default_report_month(config)
    per_pdf = {}
    for funnel in config.funnels:
        for locale in config.locales:
            started = time.perf_counter()
            paths = render_reports(config, month, funnels=[funnel.id], locales=[locale])
            per_pdf[paths[0].name] = round(time.perf_counter() - started, 3)
    return {
        "month": month,
        "rows": len(per_pdf),
        "pdf_seconds": per_pdf,
        "pdf_median_s": round(statistics.median(per_pdf.values()), 3),
        "pdf_max_s": round(max(per_pdf.values()), 3),
    }


def _raw_files(inbox: Path) -> list[tuple[Path, dict]]:
    """The exports with how each is spelled (the floor reads them as plainly as it can)."""
    files = []
    for path in sorted((inbox / "pbx").glob("Master*.csv")):
        files.append((path, {"header": False, "delimiter": ",", "encoding": "utf-8"}))
    for path in sorted((inbox / "crm").glob("*.csv")):
        files.append((path, {"header": True, "delimiter": ";", "encoding": "cp1251"}))
    return files


def stage_floor_duckdb(inbox: Path, scratch: Path) -> dict:
    """DuckDB's read_csv of every raw file into a table (on disk, all columns as text).

    cp1251 is not among DuckDB's built-in encodings (an extension download, offline
    here): those files are read as latin-1, the same single-byte decode work."""
    import duckdb

    scratch.unlink(missing_ok=True)
    rows = 0
    with duckdb.connect(str(scratch)) as con:
        con.execute("set memory_limit = '6GB'; set preserve_insertion_order = false")
        for index, (path, spec) in enumerate(_raw_files(inbox)):
            encoding = "latin-1" if spec["encoding"] == "cp1251" else "utf-8"
            con.execute(
                f"create table t{index} as select * from read_csv(?, header = {spec['header']}, "
                f"delim = ?, quote = '\"', escape = '\"', all_varchar = true, "
                f"null_padding = true, ignore_errors = true, encoding = '{encoding}')",
                [str(path), spec["delimiter"]],
            )
            rows += con.execute(f"select count(*) from t{index}").fetchone()[0]
    scratch.unlink(missing_ok=True)
    return {"rows": rows}


def stage_floor_polars(inbox: Path) -> dict:
    """polars read_csv of every raw file (all columns as text). polars decodes only
    UTF-8: cp1251 files are read with `utf8-lossy`, the same parse work (text garbled)."""
    import polars as pl

    rows = 0
    for path, spec in _raw_files(inbox):
        frame = pl.read_csv(
            path,
            has_header=spec["header"],
            separator=spec["delimiter"],
            infer_schema=False,
            truncate_ragged_lines=True,
            encoding="utf8" if spec["encoding"] == "utf-8" else "utf8-lossy",
        )
        rows += frame.height
        del frame
    return {"rows": rows}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("stage")
    parser.add_argument("--config", type=Path)
    parser.add_argument("--inbox", type=Path)
    parser.add_argument("--scratch", type=Path)
    parser.add_argument("--budget-mb", type=int)
    args = parser.parse_args()
    if args.stage == "ingest":
        result = stage_ingest(args.config, args.budget_mb)
    elif args.stage == "build":
        result = stage_build(args.config)
    elif args.stage == "report":
        result = stage_report(args.config)
    elif args.stage == "floor-duckdb":
        result = stage_floor_duckdb(args.inbox, args.scratch)
    elif args.stage == "floor-polars":
        result = stage_floor_polars(args.inbox)
    else:
        raise SystemExit(f"unknown stage {args.stage!r}")
    print(json.dumps(result, ensure_ascii=False, default=str))


if __name__ == "__main__":
    main()
