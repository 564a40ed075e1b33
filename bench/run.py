"""`python -m bench.run --scale small|medium|full`: the benchmark (`make bench SCALE=…`).

1. Exports at the scale, written by the demo's process streamed to disk (bench.generate;
   reused when the workdir already holds the same scale and seed) into <workdir>/inbox.
2. Each stage in its own process, timed, with the peak RSS of its process tree:
   floor (DuckDB and polars read_csv of the same raw files); Voronka in two deliveries
   into its own inbox (<workdir>/delivery): the history (every file but the last month's)
   ingested and built (a full build); the last month's calls log alone ingested and built
   on top (incremental), then that landing built whole, and the workdir put back as the
   history left it; then the last month's files (its calls log and the final CRM export)
   ingested and built on top (an incremental build, checked from the plan it prints); then
   a full rebuild of all months on the same landing in a fresh
   warehouse ("voronka: dbt build", the figure the ratios use; "voronka: ingest" is the
   two ingest steps together); reports (per PDF); and the pandas baseline
   (bench/pandas_baseline.py: raw files → cohort table).
3. The checks: each incremental build's marts equal its full rebuild's, row for row; and
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
import sys
from pathlib import Path

from bench.baselines import run_floors, run_pandas
from bench.checks import compare_marts
from bench.results import BUILD, REPORTS, assemble, ingest_to_marts
from bench.scales import SCALES
from bench.steps import Stages, run_voronka
from bench.summary import print_summary
from bench.workdir import (
    CALLS_ALONE_WAREHOUSE,
    INCREMENTAL_WAREHOUSE,
    bench_config,
    clean_outputs,
    deliveries,
    prepare,
)

RESULTS_DIR = Path(__file__).parent / "results"


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
    raw_rows = sum(manifest["rows"].values())
    raw_bytes = sum(manifest["bytes"].values())
    say(f"{len(manifest['files'])} files, {raw_rows:,} records, {raw_bytes / 1024**2:,.0f} MB; "
        f"{manifest['calls']:,} calls, {manifest['deals']:,} deals")  # fmt: skip

    stages = Stages(workdir, say)
    floors = run_floors(stages, workdir) if "floor" not in args.skip else {}
    files = deliveries(manifest)
    measured = run_voronka(stages, workdir, config, files, args.budget_mb)
    if measured is None:
        return 1
    equal_to_full = compare_marts(workdir / INCREMENTAL_WAREHOUSE, workdir / "warehouse.duckdb")
    calls_alone_equal = compare_marts(
        workdir / CALLS_ALONE_WAREHOUSE, workdir / f"full-{CALLS_ALONE_WAREHOUSE}"
    )
    if "report" not in args.skip:
        stages.run(REPORTS, ["bench.stage", "report", "--config", str(config)])
    comparison = None
    if "pandas" not in args.skip:
        comparison = run_pandas(stages, workdir, config, raw_rows)
    result = assemble(args.scale, manifest, rows=stages.rows, outputs=stages.outputs,
                      measured=measured, floors=floors, files=files,
                      equal_to_full=equal_to_full, comparison=comparison,
                      calls_alone_equal=calls_alone_equal)  # fmt: skip
    print_summary(result, floors, ingest_to_marts(stages.rows, measured[BUILD]), say)

    args.results_dir.mkdir(parents=True, exist_ok=True)
    stamp = dt.datetime.now().strftime("%Y%m%dT%H%M%S")
    target = args.results_dir / f"{args.scale}-{stamp}.json"
    target.write_text(json.dumps(result, ensure_ascii=False, indent=1, default=str))
    say(f"results: {target}")
    if comparison is not None and not comparison["equal"]:
        return 3
    if not result["incremental"]["incremental"] or not equal_to_full["equal"]:
        return 4
    if not result["calls_alone"]["incremental"] or not calls_alone_equal["equal"]:
        return 4
    return 0


if __name__ == "__main__":
    sys.exit(main())
