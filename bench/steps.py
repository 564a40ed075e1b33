"""The measured steps (bench.run): each stage in its own process (bench.stage), timed, with
the peak RSS of its process tree; and Voronka's steps — the history ingested and built
(a full build); the new month's call logs alone ingested and built on top (incremental),
then that landing built whole, after which the workdir goes back to the history; the new
month (its call logs and CRM export) ingested and built on top (incremental), then a full
rebuild of all months on the same landing in a fresh warehouse.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
from pathlib import Path

from bench.measure import Measured, run_child
from bench.results import (
    BUILD,
    BUILD_CALLS,
    BUILD_CALLS_FULL,
    BUILD_HISTORY,
    BUILD_NEW,
    GB,
    INGEST,
    INGEST_CALLS,
    INGEST_HISTORY,
    INGEST_NEW,
    stage_row,
    sum_row,
)
from bench.workdir import (
    CALLS_ALONE_WAREHOUSE,
    DELIVERY,
    INCREMENTAL_WAREHOUSE,
    deliver,
    set_aside,
)
from pipeline.build_settings import spill_dir
from pipeline.config import load_config
from pipeline.paths import REPO_ROOT

STAGE_LIMIT_BYTES = 11 * GB  # the machine has 24 GB; no stage may pass ~12 (killed, reported)


class Stages:
    """Runs stages one after another, printing each, and keeps their rows (the results'
    `stages`) and the JSON line each printed last (its output)."""

    def __init__(self, workdir: Path, say) -> None:
        self.say = say
        # dbt's artifacts in the workdir: each build's run_results.json (per-model times) is
        # read by its stage, and the project's own target/ (Dagster's manifest) is left alone.
        self.env = {**os.environ, "PYTHONPATH": str(REPO_ROOT),
                    "DBT_TARGET_PATH": str(workdir / "dbt-target")}  # fmt: skip
        self.rows: list[dict] = []
        self.outputs: dict[str, dict] = {}
        self.spill = spill_dir(workdir / "warehouse.duckdb")

    def run(self, name: str, args_: list[str], rows_key: str = "rows", **kw) -> Measured:
        say, rows = self.say, self.rows
        say(f"… {name}")
        if args_[:2] == ["bench.stage", "build"]:
            kw["watch"] = self.spill  # DuckDB's spill folder during the build
        measured = run_child(args_, env=self.env, limit_bytes=STAGE_LIMIT_BYTES, **kw)
        if measured.returncode != 0 and not measured.killed_at_limit:
            say(measured.log)
        self.outputs[name] = measured.output
        rows.append(stage_row(name, measured, measured.output.get(rows_key)))
        if "prepare_seconds" in measured.output:
            out = measured.output
            say(f"  build file: {out['prepared_mb']:,} MB copied from the published warehouse "
                "(0: a first build) in "
                f"{out.get('copy_seconds', 0):.2f} s beside the plan and dbt's start; "
                f"ready in {out['prepare_seconds']:.2f} s; "
                f"publishing it: {out['publish_seconds']:.2f} s")  # fmt: skip
        if measured.output.get("out_of_memory_retry"):
            say("  DuckDB ran out of memory with models side by side: the models that failed "
                "or were skipped were built again one at a time (the model seconds are those "
                "of that retry)")  # fmt: skip
        spilled = rows[-1]["peak_spill_mb"]
        say(f"  {rows[-1]['seconds']:.2f} s, peak {rows[-1]['peak_rss_mb']:,} MB"
            + (f", spill folder peak {spilled:,} MB" if spilled is not None else ""))  # fmt: skip
        return measured


def run_voronka(
    stages: Stages,
    workdir: Path,
    config: Path,
    files: tuple[list[str], list[str]],
    budget_mb: int | None,
) -> dict[str, Measured] | None:
    """The history and the new month delivered, ingested and built one after the other,
    the incremental warehouse set aside, and the full rebuild: each step measured (None if
    Voronka failed)."""
    say = stages.say
    budget = ["--budget-mb", str(budget_mb)] if budget_mb else []
    ingest_args = ["bench.stage", "ingest", "--config", str(config), *budget]
    build_args = ["bench.stage", "build", "--config", str(config)]
    history_files, new_files = files
    delivery = workdir / DELIVERY
    steps = [
        (history_files, INGEST_HISTORY, BUILD_HISTORY),
        (new_files, INGEST_NEW, BUILD_NEW),
    ]
    measured = {}
    for names, ingest_name, build_name in steps:
        if ingest_name == INGEST_NEW:
            calls_alone = run_calls_alone(stages, workdir, config, new_files, ingest_args,
                                          build_args)  # fmt: skip
            if calls_alone is None:
                return None
            measured.update(calls_alone)
        deliver(workdir / "inbox", delivery, names)
        for name, args_ in ((ingest_name, ingest_args), (build_name, build_args)):
            measured[name] = stages.run(name, args_)
            if measured[name].returncode:
                say("Voronka failed; see the log above")
                return None
    new_build = stages.outputs[BUILD_NEW]
    say(f"  plan of the new month's build: {new_build.get('plan')}")
    if not new_build.get("incremental"):
        say("  the new month's build was NOT incremental")
    set_aside(workdir / "warehouse.duckdb", workdir / INCREMENTAL_WAREHOUSE)
    rows = stages.rows
    rows.append(
        sum_row(INGEST, [row for row in rows if row["stage"] in (INGEST_HISTORY, INGEST_NEW)])
    )
    measured[BUILD] = stages.run(BUILD, build_args)
    if measured[BUILD].returncode:
        say("Voronka failed; see the log above")
        return None
    return measured


# What a delivery changes in the workdir besides the delivered exports: copied before the
# calls-alone run, put back after. The exports already delivered are left where they are:
# a hard link to them or a copy would change their stat (the ctime), and the next ingest
# would hash every one of them again (pipeline/ingest/fingerprints.py), which a real inbox
# never makes it do.
DELIVERY_STATE = ("landing", "state", "warehouse.duckdb")


def run_calls_alone(
    stages: Stages,
    workdir: Path,
    config: Path,
    new_files: list[str],
    ingest_args: list[str],
    build_args: list[str],
) -> dict[str, Measured] | None:
    """The new month's call logs alone on top of the built history: ingested and built
    (incremental), the build set aside (CALLS_ALONE_WAREHOUSE), that landing built whole;
    then the workdir is put back as the history left it (the same paths: the build's
    fingerprint holds the landing path). None if Voronka failed."""
    calls = calls_sources(config)
    call_logs = [name for name in new_files if any(fnmatch.fnmatch(name, g) for g in calls)]
    saved = workdir / "history-saved"
    shutil.rmtree(saved, ignore_errors=True)
    delivered_before = save_state(workdir, saved)
    deliver(workdir / "inbox", workdir / DELIVERY, call_logs)
    measured = {}
    for name, args_ in ((INGEST_CALLS, ingest_args), (BUILD_CALLS, build_args),
                        (BUILD_CALLS_FULL, build_args)):  # fmt: skip
        if name == BUILD_CALLS_FULL:
            set_aside(workdir / "warehouse.duckdb", workdir / CALLS_ALONE_WAREHOUSE)
        measured[name] = stages.run(name, args_)
        if measured[name].returncode:
            stages.say("Voronka failed; see the log above")
            return None
    stages.say(f"  plan of the calls-alone build: {stages.outputs[BUILD_CALLS].get('plan')}")
    os.replace(workdir / "warehouse.duckdb", workdir / f"full-{CALLS_ALONE_WAREHOUSE}")
    restore_state(workdir, saved, delivered_before)
    return measured


def calls_sources(config: Path) -> list[str]:
    """The file globs of the config's call-log sources."""
    return [source.files for source in load_config(config).sources if source.kind == "calls"]


def save_state(workdir: Path, saved: Path) -> set[Path]:
    """Copies of what a delivery changes; the names of the exports delivered so far."""
    saved.mkdir(parents=True)
    for name in DELIVERY_STATE:
        source = workdir / name
        if source.is_dir():
            shutil.copytree(source, saved / name)
        elif source.exists():
            shutil.copy2(source, saved / name)
    return delivered(workdir)


def restore_state(workdir: Path, saved: Path, delivered_before: set[Path]) -> None:
    """The workdir as save_state found it: its copies put back, and the exports delivered
    since removed."""
    for name in DELIVERY_STATE:
        target = workdir / name
        if target.is_dir():
            shutil.rmtree(target)
        else:
            target.unlink(missing_ok=True)
        if (saved / name).exists():
            os.replace(saved / name, target)
    shutil.rmtree(saved)
    for path in delivered(workdir) - delivered_before:
        path.unlink()


def delivered(workdir: Path) -> set[Path]:
    return {path for path in (workdir / DELIVERY).rglob("*") if path.is_file()}
