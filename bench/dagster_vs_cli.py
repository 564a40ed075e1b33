"""`python -m bench.dagster_vs_cli`: one month through `voronka run` and through Dagster's
monthly job, wall times printed: the demo's, or a site's exports (`--config` and
`--exports`: e.g. the full-scale bench's `<workdir>/voronka.yaml` and `<workdir>/inbox`).

Each run starts from its own fresh inbox (the demo exports written, or the given exports
hard-linked, before the clock starts) and runs in its own process, one after the other:
`voronka run --month M`, then
`dagster job execute` of `monthly_funnel_report` for the partition M with the executor of
each `--executors` value (VORONKA_DAGSTER_EXECUTOR). Dagster runs in a fresh instance with
the project's instance settings. Data lives under --workdir, never under data/.

Besides the wall time, each run's CPU time (user + system, the process and every child it
waited for: dbt, the report renderers) is printed: on a machine shared with other work the
wall times stretch with the load, the CPU times much less.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

from pipeline.paths import REPO_ROOT


def fresh_site(workdir: Path, name: str, config: Path, exports: Path | None) -> Path:
    """`config` copied into workdir/name (its data folders beside it), its inbox holding
    the demo exports (`exports` None) or hard links to the files under `exports`."""
    from pipeline.config import load_config
    from pipeline.demo import write_demo_exports

    site = workdir / name
    shutil.rmtree(site, ignore_errors=True)
    site.mkdir(parents=True)
    shutil.copy(config, site / "voronka.yaml")
    inbox = load_config(site / "voronka.yaml").inbox_dir
    if exports is None:
        write_demo_exports(inbox, site / "expected")
    for path in sorted(exports.rglob("*.csv") if exports else []):
        target = inbox / path.relative_to(exports)
        target.parent.mkdir(parents=True, exist_ok=True)
        os.link(path, target)
    return site / "voronka.yaml"


def children_cpu() -> float:
    used = resource.getrusage(resource.RUSAGE_CHILDREN)
    return used.ru_utime + used.ru_stime


def timed(command: list[str], env: dict[str, str], log: Path) -> tuple[float, float]:
    """Wall and CPU seconds of one command (CPU: its own and its waited-for children's)."""
    started, cpu = time.monotonic(), children_cpu()
    with log.open("w", encoding="utf-8") as out:
        code = subprocess.run(
            command, cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT
        ).returncode
    wall, cpu = time.monotonic() - started, children_cpu() - cpu
    if code != 0:
        sys.exit(f"{' '.join(command[:4])} … exited {code}; see {log}")
    return wall, cpu


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.dagster_vs_cli")
    parser.add_argument("--month", default="2026-10", help="the month to report, YYYY-MM")
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/voronka-bench/dagster"))
    parser.add_argument("--executors", default="in_process,multiprocess")
    parser.add_argument("--config", type=Path, default=REPO_ROOT / "voronka.yaml")
    parser.add_argument(
        "--exports", type=Path, default=None, help="a folder of exports (default: the demo's)"
    )
    args = parser.parse_args(argv)

    from pipeline.defs.instance import write_instance_settings
    from pipeline.prepare import prepare_dbt_manifest

    prepare_dbt_manifest()
    bin_dir = Path(sys.executable).parent
    env = {
        **os.environ,
        "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }
    args.workdir.mkdir(parents=True, exist_ok=True)
    load_before = " ".join(f"{load:.2f}" for load in os.getloadavg())
    walls: dict[str, tuple[float, float]] = {}

    config = fresh_site(args.workdir, "cli", args.config, args.exports)
    command = [sys.executable, "-m", "pipeline.cli", "run", "--config", str(config)]
    walls["voronka run"] = timed([*command, "--month", args.month], env, args.workdir / "cli.log")

    for executor in args.executors.split(","):
        config = fresh_site(args.workdir, f"dagster-{executor}", args.config, args.exports)
        home = config.parent / "dagster_home"
        write_instance_settings(home)
        run_env = {
            **env,
            "DAGSTER_HOME": str(home),
            "VORONKA_CONFIG": str(config),
            "VORONKA_DAGSTER_EXECUTOR": executor,
        }
        command = [str(bin_dir / "dagster"), "job", "execute", "-m", "pipeline.definitions"]
        command += ["-j", "monthly_funnel_report"]
        command += ["--tags", json.dumps({"dagster/partition": f"{args.month}-01"})]
        walls[f"dagster monthly_funnel_report ({executor})"] = timed(
            command, run_env, args.workdir / f"dagster-{executor}.log"
        )

    cli_wall, cli_cpu = walls["voronka run"]
    data = f"exports of {args.exports}" if args.exports else "demo data"
    print(f"month {args.month}, {data}; load average before: {load_before}")
    print(f"{'':<50} {'wall':>9}  {'×':>5}  {'CPU':>9}  {'×':>5}")
    for name, (wall, cpu) in walls.items():
        ratios = f"{wall / cli_wall:5.2f}  {cpu:7.1f} s  {cpu / cli_cpu:5.2f}"
        print(f"{name:<50} {wall:7.1f} s  {ratios}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
