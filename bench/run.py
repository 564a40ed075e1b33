"""`python -m bench.run --scale small|medium|full`: the benchmark (`make bench SCALE=…`).

1. Exports at the scale, written by the demo's process streamed to disk (bench.generate;
   reused when the workdir already holds the same scale and seed) into <workdir>/inbox.
2. Each stage in its own process, timed, with the peak RSS of its process tree:
   floor (DuckDB and polars read_csv of the same raw files); Voronka in two deliveries
   into its own inbox (<workdir>/delivery): the history (every file but the last month's)
   ingested and built (a full build), then the last month's files (its calls log and the
   final CRM export) ingested and built on top (an incremental build, checked from the
   plan it prints); then a full rebuild of all months on the same landing in a fresh
   warehouse ("voronka: dbt build", the figure the ratios use; "voronka: ingest" is the
   two ingest steps together); reports (per PDF); and the pandas baseline
   (bench/pandas_baseline.py: raw files → cohort table).
3. The checks: the incremental build's marts equal the full rebuild's, row for row; and
   marts.funnel_stage_monthly (view cohort, segment total) equals the pandas table row for
   row (entities and entities_next).
4. A table on stdout, ratios to the floor and to pandas, the incremental build as a share
   of the full build, targets met or missed by how much, and
   bench/results/<scale>-<timestamp>.json.

Data lives under --workdir (default /tmp/voronka-bench/<scale>), never under data/.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import math
import os
import platform
import shutil
import sys
from dataclasses import asdict
from pathlib import Path

import duckdb
import polars as pl
import psutil
import yaml

from bench.generate import MANIFEST, generate
from bench.measure import Measured, run_child
from bench.scales import SCALES
from pipeline.paths import REPO_ROOT
from pipeline.warehouse import TEMP_DIR_ENV, duckdb_resources, spill_dir

RESULTS_DIR = Path(__file__).parent / "results"
GB = 1024**3
STAGE_LIMIT_BYTES = 11 * GB  # the machine has 24 GB; no stage may pass ~12 (killed, reported)
TARGETS = {
    "normalize_vs_floor_max": 6.0,
    "pandas_vs_ingest_to_marts_min": 3.0,
    "peak_rss_max_bytes": 4 * GB,
    "dbt_invocations": 1,
    "pdf_median_max_s": 3.0,
    "new_month_vs_full_build_max_percent": 25.0,
}
DELIVERY = "delivery"  # Voronka's inbox: the exports arrive there in two deliveries
INCREMENTAL_WAREHOUSE = "warehouse-incremental.duckdb"  # the incremental build, kept aside
INGEST_HISTORY = "voronka: ingest: history"
BUILD_HISTORY = "voronka: dbt build: history (full)"
INGEST_NEW = "voronka: ingest: new month"
BUILD_NEW = "voronka: dbt build: new month (incremental)"
INGEST = "voronka: ingest"  # the two ingest steps together (every file, like the floor)
BUILD = "voronka: dbt build"  # all months on the same landing, fresh warehouse


def bench_config(workdir: Path, manifest: dict) -> Path:
    """The demo's voronka.yaml with paths in the workdir and the scale's managers."""
    config = yaml.safe_load((REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8"))
    config["paths"] = {
        "inbox": DELIVERY,
        "landing": "landing",
        "warehouse": "warehouse.duckdb",
        "reports": "reports",
    }
    if "delivery" in config:
        config["delivery"]["failures_dir"] = "failures"
    if manifest["spec"].get("managers"):
        config["managers"] = [
            {"name": m["name"], "aliases": [*m["aliases"], f"ext:{m['extension']}"]}
            for m in manifest["managers"]
        ]
    path = workdir / "voronka.yaml"
    path.write_text(yaml.safe_dump(config, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def prepare(scale: str, workdir: Path, regenerate: bool, say) -> dict:
    inbox = workdir / "inbox"
    manifest_path = inbox / MANIFEST
    spec = asdict(SCALES[scale])
    if not regenerate and manifest_path.exists():
        manifest = json.loads(manifest_path.read_text())
        if manifest["spec"] == spec and manifest.get("new_month_files"):
            say(f"reusing the {scale} exports in {inbox} (written in {manifest['seconds']} s)")
            return manifest
    shutil.rmtree(inbox, ignore_errors=True)
    say(f"writing the {scale} exports to {inbox} …")
    return generate(scale, inbox)


def clean_outputs(workdir: Path) -> None:
    built = ("warehouse.duckdb", INCREMENTAL_WAREHOUSE)
    for name in ("landing", "reports", "failures", DELIVERY, "dbt-target", *built,
                 *(f"{name}.wal" for name in built)):  # fmt: skip
        target = workdir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)


def deliveries(manifest: dict) -> tuple[list[str], list[str]]:
    """The history delivery (every file but the new month's) and the new month's files."""
    new = list(manifest["new_month_files"])
    return [name for name in manifest["files"] if name not in new], new


def deliver(exports: Path, inbox: Path, names: list[str]) -> None:
    """Put exports into Voronka's inbox (hard links: no copy of gigabytes)."""
    for name in names:
        target = inbox / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.unlink(missing_ok=True)
        try:
            os.link(exports / name, target)
        except OSError:
            shutil.copy2(exports / name, target)


def set_aside(warehouse: Path, to: Path) -> None:
    """Move a built warehouse (and its WAL) aside, so the next build starts fresh."""
    os.replace(warehouse, to)
    wal = warehouse.with_name(warehouse.name + ".wal")
    if wal.exists():
        os.replace(wal, to.with_name(to.name + ".wal"))


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


def compare(warehouse: Path, pandas_csv: Path) -> dict:
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


def stage_label(row: dict) -> str:
    """The stage's name as printed: the summed ingest and the full rebuild say what they are
    (results of earlier runs had one ingest, not a sum)."""
    if row["stage"] == INGEST and row.get("sum_of"):
        return f"{INGEST} (history + new month)"
    if row["stage"] == BUILD:
        return f"{BUILD} (all months, fresh warehouse)"
    return row["stage"]


def render_table(rows: list[dict]) -> str:
    head = (
        f"{'stage':<58}{'rows':>13}{'seconds':>10}{'rows/s':>13}{'peak RSS MB':>13}{'spill MB':>10}"
    )
    lines = [head, "-" * len(head)]
    for row in rows:
        rate = f"{row['rows_per_s']:,}" if row["rows_per_s"] else "-"
        count = f"{row['rows']:,}" if row["rows"] is not None else "-"
        flag = (
            ""
            if row["ok"]
            else ("  KILLED (memory)" if row["killed_at_memory_limit"] else "  FAILED")
        )
        lines.append(
            f"{stage_label(row):<58}{count:>13}{row['seconds']:>10.2f}{rate:>13}"
            f"{row['peak_rss_mb']:>13,}{spill_mb(row):>10}{flag}"
        )
    return "\n".join(lines)


def spill_mb(row: dict) -> str:
    """The peak size of DuckDB's spill folder during a build stage ("-" for other stages)."""
    spilled = row.get("peak_spill_mb")
    return f"{spilled:,}" if spilled is not None else "-"


def evaluate(result: dict) -> list[dict]:
    """Each target: the figure, the limit, met or by how much it is missed."""
    s = {row["stage"]: row for row in result["stages"]}
    checks = []

    def add(name, value, limit, met, unit="", at_least=False):
        if met or not value:
            miss = None
        elif at_least:
            miss = f"{limit / value:.1f}× short of it"
        else:
            miss = f"{value / limit:.2f}× the limit"
        checks.append({"target": name, "value": value, "limit": limit, "met": bool(met),
                       "missed_by": miss, "unit": unit})  # fmt: skip

    floor = result["floor_seconds"]
    ingest = s[INGEST]["seconds"]
    ratio = round(ingest / floor, 2) if floor else None
    add("normalize ≤ 6× the read floor", ratio, 6.0, ratio is not None and ratio <= 6.0, "×")
    pandas = s.get("pandas baseline")
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
    new_month = result["incremental"]
    name = f"one new month on top of {new_month['history_months']} ≤ 25 % of the full build"
    percent = new_month["percent"]
    if not new_month["incremental"]:
        checks.append({"target": name, "value": percent, "limit": 25.0, "met": False,
                       "missed_by": f"the build was not incremental ({new_month['plan']})",
                       "unit": "%"})  # fmt: skip
    elif not new_month["equal_to_full"]["equal"]:
        differing = ", ".join(new_month["equal_to_full"]["differing"]) or "no marts"
        checks.append({"target": name, "value": percent, "limit": 25.0, "met": False,
                       "missed_by": f"the incremental build differs from the full rebuild: "
                       f"{differing}", "unit": "%"})  # fmt: skip
    else:
        add(name, percent, 25.0, percent is not None and percent <= 25.0, "%")
    return checks


def incremental_lines(result: dict, slowest: int = 8) -> list[str]:
    """The new month on top of the history: the plan, the share of the full build, the
    check against the full rebuild, and the incremental build's slowest models."""
    new = result["incremental"]
    equal = new["equal_to_full"]
    lines = [
        f"new month {new['new_month']} on top of {new['history_months']}: {new['plan']}",
        f"incremental dbt build {new['build_seconds']:.2f} s = {new['percent']} % of the full "
        f"build ({new['full_build_seconds']:.2f} s); with the new month's ingest "
        f"{new['with_ingest_percent']} % of ingest → marts",
        "incremental marts vs full rebuild: "
        + (f"EQUAL ({equal['tables']} tables)" if equal["equal"]
           else f"DIFFER in {', '.join(equal['differing']) or 'no tables'}"),
    ]  # fmt: skip
    builds = result.get("dbt_builds") or {}
    incremental, full = builds.get(BUILD_NEW, {}), builds.get(BUILD, {})
    if incremental.get("model_seconds"):
        lines.append(
            f"slowest models, incremental vs full build (s; tests {incremental['test_seconds']} "
            f"vs {full.get('test_seconds')}, dbt elapsed {incremental['dbt_elapsed_s']} vs "
            f"{full.get('dbt_elapsed_s')}):"
        )
        full_models = full.get("model_seconds", {})
        for model, seconds in list(incremental["model_seconds"].items())[:slowest]:
            lines.append(f"  {model:<40}{seconds:>8.2f}{full_models.get(model, 0):>8.2f}")
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Voronka benchmark")
    parser.add_argument("--scale", choices=sorted(SCALES), default="small")
    parser.add_argument("--workdir", type=Path)
    parser.add_argument("--regenerate", action="store_true")
    parser.add_argument("--budget-mb", type=int, default=None, help="ingest memory budget")
    parser.add_argument("--skip", action="append", default=[],
                        help="floor, pandas or report (repeatable)")  # fmt: skip
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)
    args = parser.parse_args(argv)
    workdir = (args.workdir or Path("/tmp/voronka-bench") / args.scale).resolve()
    workdir.mkdir(parents=True, exist_ok=True)

    def say(message: str) -> None:
        print(message, flush=True)

    manifest = prepare(args.scale, workdir, args.regenerate, say)
    config = bench_config(workdir, manifest)
    clean_outputs(workdir)
    inbox = workdir / "inbox"
    raw_rows = sum(manifest["rows"].values())
    raw_bytes = sum(manifest["bytes"].values())
    say(f"{len(manifest['files'])} files, {raw_rows:,} records, {raw_bytes / 1024**2:,.0f} MB; "
        f"{manifest['calls']:,} calls, {manifest['deals']:,} deals")  # fmt: skip

    # dbt's artifacts in the workdir: each build's run_results.json (per-model times) is read
    # by its stage, and the project's own target/ (Dagster's manifest) is left alone.
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT),
           "DBT_TARGET_PATH": str(workdir / "dbt-target")}  # fmt: skip
    rows, outputs = [], {}
    spill = spill_dir(workdir / "warehouse.duckdb")

    def stage(name: str, args_: list[str], rows_key: str = "rows", **kw) -> Measured:
        say(f"… {name}")
        if args_[:2] == ["bench.stage", "build"]:
            kw["watch"] = spill  # DuckDB's spill folder during the build
        measured = run_child(args_, env=env, limit_bytes=STAGE_LIMIT_BYTES, **kw)
        if measured.returncode != 0 and not measured.killed_at_limit:
            say(measured.log)
        outputs[name] = measured.output
        rows.append(stage_row(name, measured, measured.output.get(rows_key)))
        if "prepare_seconds" in measured.output:
            out = measured.output
            say(f"  working copy of the warehouse ({out['prepared_mb']:,} MB): "
                f"{out['prepare_seconds']:.2f} s; "
                f"publishing it: {out['publish_seconds']:.2f} s")  # fmt: skip
        spilled = rows[-1]["peak_spill_mb"]
        say(f"  {rows[-1]['seconds']:.2f} s, peak {rows[-1]['peak_rss_mb']:,} MB"
            + (f", spill folder peak {spilled:,} MB" if spilled is not None else ""))  # fmt: skip
        return measured

    floors = {}
    if "floor" not in args.skip:
        scratch = workdir / "floor.duckdb"
        m = stage("floor: duckdb read_csv", ["bench.stage", "floor-duckdb", "--inbox", str(inbox),
                                              "--scratch", str(scratch)])  # fmt: skip
        floors["duckdb"] = m.seconds if m.returncode == 0 else None
        m = stage("floor: polars read_csv", ["bench.stage", "floor-polars", "--inbox", str(inbox)])
        floors["polars"] = m.seconds if m.returncode == 0 else None
    budget = ["--budget-mb", str(args.budget_mb)] if args.budget_mb else []
    ingest_args = ["bench.stage", "ingest", "--config", str(config), *budget]
    build_args = ["bench.stage", "build", "--config", str(config)]
    history_files, new_files = deliveries(manifest)
    delivery = workdir / DELIVERY
    steps = [
        (history_files, INGEST_HISTORY, BUILD_HISTORY),
        (new_files, INGEST_NEW, BUILD_NEW),
    ]
    measured = {}
    for files, ingest_name, build_name in steps:
        deliver(inbox, delivery, files)
        for name, args_ in ((ingest_name, ingest_args), (build_name, build_args)):
            measured[name] = stage(name, args_)
            if measured[name].returncode:
                say("Voronka failed; see the log above")
                return 1
    say(f"  plan of the new month's build: {outputs[BUILD_NEW].get('plan')}")
    if not outputs[BUILD_NEW].get("incremental"):
        say("  the new month's build was NOT incremental")
    warehouse = workdir / "warehouse.duckdb"
    set_aside(warehouse, workdir / INCREMENTAL_WAREHOUSE)
    rows.append(
        sum_row(INGEST, [row for row in rows if row["stage"] in (INGEST_HISTORY, INGEST_NEW)])
    )
    build = stage(BUILD, build_args)
    if build.returncode:
        say("Voronka failed; see the log above")
        return 1
    equal_to_full = compare_marts(workdir / INCREMENTAL_WAREHOUSE, warehouse)
    if "report" not in args.skip:
        stage("voronka: reports (all)", ["bench.stage", "report", "--config", str(config)])
    comparison = None
    if "pandas" not in args.skip:
        out = workdir / "pandas_cohorts.csv"
        m = stage("pandas baseline", ["bench.pandas_baseline", "--config", str(config),
                                      "--inbox", str(inbox), "--out", str(out)],
                  )  # fmt: skip
        rows[-1]["rows"] = raw_rows
        rows[-1]["rows_per_s"] = round(raw_rows / m.seconds) if m.seconds else None
        if m.returncode == 0:
            comparison = compare(warehouse, out)
    # rows of the Voronka stages: the records read (ingest); for a dbt build, the landed
    # rows it takes in (the new month's for the incremental build, all for a full one).
    by_name = {row["stage"]: row for row in rows}
    ingest_steps = {name: outputs[name] for name in (INGEST_HISTORY, INGEST_NEW)}
    ingest_out = {
        key: sum(step.get(key) or 0 for step in ingest_steps.values())
        for key in ("rows", "rows_accepted", "rows_rejected")
    }
    ingest_out["files"] = {k: v for step in ingest_steps.values() for k, v in step["files"].items()}
    for name, landed in ((BUILD_HISTORY, outputs[INGEST_HISTORY].get("rows_accepted")),
                         (BUILD_NEW, outputs[INGEST_NEW].get("rows_accepted")),
                         (BUILD, ingest_out["rows_accepted"])):  # fmt: skip
        row = by_name[name]
        row["rows"] = landed
        row["rows_per_s"] = round(landed / row["seconds"]) if landed and row["seconds"] else None
    ingest_seconds = by_name[INGEST]["seconds"]
    ingest_to_marts = ingest_seconds + build.seconds
    valid_floors = [v for v in floors.values() if v]
    new_build, new_ingest = measured[BUILD_NEW].seconds, measured[INGEST_NEW].seconds
    incremental = {
        "new_month": manifest["new_month"],
        "history_months": manifest["spec"]["months"] - 1,
        "history_files": history_files,
        "new_month_files": new_files,
        "plan": outputs[BUILD_NEW].get("plan"),
        "history_plan": outputs[BUILD_HISTORY].get("plan"),
        "full_plan": outputs[BUILD].get("plan"),
        "incremental": bool(outputs[BUILD_NEW].get("incremental")),
        "build_seconds": round(new_build, 2),
        "full_build_seconds": round(build.seconds, 2),
        "percent": round(100 * new_build / build.seconds, 1) if build.seconds else None,
        "ingest_seconds": round(new_ingest, 2),
        "with_ingest_percent": round(100 * (new_ingest + new_build) / ingest_to_marts, 1),
        "equal_to_full": equal_to_full,
    }
    result = {
        "scale": args.scale,
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
        "ingest_to_marts_seconds": round(ingest_to_marts, 2),
        "end_to_end_seconds": round(
            ingest_to_marts + by_name.get("voronka: reports (all)", {"seconds": 0})["seconds"], 2
        ),
        "dbt": outputs.get(BUILD, {}),
        "dbt_builds": {name: outputs[name] for name in (BUILD_HISTORY, BUILD_NEW, BUILD)},
        "report": outputs.get("voronka: reports (all)", {}),
        "ingest": ingest_out,
        "ingest_steps": ingest_steps,
        "incremental": incremental,
        "pandas_check": comparison,
    }
    result["targets"] = evaluate(result)

    say("")
    say(render_table(rows))
    say(f"{'end to end (ingest → marts → PDFs)':<71}{result['end_to_end_seconds']:>10.2f} s")
    if result["floor_seconds"]:
        say(f"normalize / floor: {ingest_seconds / result['floor_seconds']:.2f}×  "
            f"(floor = {min(floors, key=lambda k: floors[k] or 1e9)} "
            f"{result['floor_seconds']:.2f} s)")  # fmt: skip
    pandas_row = by_name.get("pandas baseline")
    if pandas_row and pandas_row["ok"]:
        say(f"pandas / (ingest + dbt): {pandas_row['seconds'] / ingest_to_marts:.2f}×")
    if result["report"]:
        report = result["report"]
        say(f"PDF median {report['pdf_median_s']} s, max {report['pdf_max_s']} s")
    for line in incremental_lines(result):
        say(line)
    if comparison:
        verdict = (
            "EQUAL" if comparison["equal"] else f"DIFFER in {comparison['rows_differing']} rows"
        )
        say(
            f"cohort table (total) Voronka vs pandas: {verdict} "
            f"({comparison['rows_voronka']} rows, {comparison['entities_voronka']:,} entities)"
        )
    say("targets:")
    for check in result["targets"]:
        mark = "met " if check["met"] else "MISS"
        detail = f" — {check['missed_by']}" if check["missed_by"] else ""
        say(f"  [{mark}] {check['target']}: {check['value']} {check['unit']}{detail}")

    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = args.results_dir / f"{args.scale}-{stamp}.json"
    target.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    say(f"results: {target}")
    if comparison is not None and not comparison["equal"]:
        return 3
    if not incremental["incremental"] or not equal_to_full["equal"]:
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
