"""Building the DuckDB warehouse with dbt, safely.

dbt is the only writer of the warehouse file. It builds into a second file next to the
published one (a copy of it, made in the background while the build plans and dbt
starts); that file replaces the published one only when every model and data test passed,
so a failed build leaves the previous warehouse (and reports) as they were.
dbt unit tests do not run here: they check the models' SQL on fixed rows with their own
vars, whatever voronka.yaml says, and run in `make test` (tests/e2e/test_dbt_unit_tests.py).

DuckDB's memory_limit, threads, spill folder and kept memory, and dbt's threads, come from
the machine (pipeline/build_settings.py, docs/performance.md "Memory, threads and the
spill folder"), through environment variables the profile reads. dbt's child starts
without transparent huge pages (pipeline/processes.py).

The same models also build on Spark (the profile's `spark` output, docs/scaling.md): the
target is an argument or VORONKA_DBT_TARGET, DuckDB by default. A local Spark session
keeps its tables as parquet in a folder beside the DuckDB file, published the same way.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from pathlib import Path

from pipeline.build_file import (
    BUILD_FOLDER_ENV,
    BackgroundCopy,
    BuildFileError,
    copying_path,
    failed_path,
)
from pipeline.build_settings import duckdb_resources, plan_settings
from pipeline.built_state import build_fingerprint, is_up_to_date, ledger_digest
from pipeline.config import Config
from pipeline.dbt_child import RETRY_NOTICE
from pipeline.funnel_tables import write_config_tables
from pipeline.incremental import RebuildPlan, plan_rebuild
from pipeline.io import ensure_landing, read_ledger, replaced_whole
from pipeline.paths import DBT_PROJECT_DIR
from pipeline.processes import die_with_parent, without_huge_pages

DBT_PATH_ENV = "VORONKA_DBT_PATH"
LANDING_ENV = "VORONKA_LANDING_PATH"  # read by dbt_project/macros/landing.sql
DBT_TARGET_ENV = "VORONKA_DBT_TARGET"
SPARK_WAREHOUSE_ENV = "VORONKA_SPARK_WAREHOUSE"
DUCKDB = "duckdb"
SPARK = "spark"
TARGETS = (DUCKDB, SPARK)
UP_TO_DATE = (
    "up to date: the published warehouse was built from every loaded file and the file ledger "
    "as they are, with these models, tests and config; nothing to build"
)


class BuildError(Exception):
    """dbt failed; the message carries dbt's own summary of what failed."""


@dataclass(frozen=True)
class BuildResult:
    warehouse: Path
    log_tail: list[str]


def dbt_vars(config: Config) -> dict[str, str]:
    """The values dbt models take from voronka.yaml (defaults live in dbt_project.yml).
    Nothing that differs between two sites of one business: dbt parses the whole project
    again when a var changes, and its parse state is shared by every site's builds on
    the machine (dbt_project/target; the landing folder and the build file reach dbt
    through the environment, dbt_environment)."""
    return {"timezone": config.timezone}


def build_command(plan: RebuildPlan, select: list[str] | None = None) -> list[str]:
    """`dbt build` as production runs it: models and data tests, not unit tests, with the
    rebuild plan's flags (RebuildPlan.dbt_args). Cautious indirect selection: a partial
    selection (`--select`, a subset in the UI) runs only the tests whose parents are all
    selected, and the models a plan leaves out (`--exclude`) take only the tests whose
    parents are all left out with them."""
    # A selection that matches nothing is an error, not dbt's warning and a build that
    # built nothing reported done.
    selection = (
        ["--select", *select, "--warn-error-options", '{"error": ["NoNodesForSelectionCriteria"]}']
        if select
        else []
    )
    return [
        "build",
        *selection,
        "--exclude-resource-type",
        "unit_test",
        *plan.dbt_args(),
        "--indirect-selection",
        "cautious",
    ]


def build_args(
    config: Config, plan: RebuildPlan, target: str | None = None, select: list[str] | None = None
) -> list[str]:
    """Everything after `dbt` of a production build, except where the project is (the
    runner adds it): the one argument list of `voronka build`/`run` (build_warehouse) and
    of the Dagster dbt asset (DbtCliResource)."""
    return dbt_args(config, build_command(plan, select), target)


def dbt_args(config: Config, args: list[str], target: str | None = None) -> list[str]:
    """A dbt command's arguments with the target and the vars from voronka.yaml."""
    return [*args, "--target", dbt_target(target), "--vars", json.dumps(dbt_vars(config))]


def dbt_target(target: str | None = None) -> str:
    """The profile output to build: the argument, else $VORONKA_DBT_TARGET, else DuckDB."""
    chosen = target or os.environ.get(DBT_TARGET_ENV) or DUCKDB
    if chosen not in TARGETS:
        raise ValueError(f"unknown dbt target {chosen!r}; choose one of: {', '.join(TARGETS)}")
    return chosen


def spark_warehouse_dir(config: Config) -> Path:
    """Where a local Spark session keeps the warehouse tables (parquet), beside the DuckDB file."""
    return config.warehouse_path.with_name("spark-warehouse")


# dbt's parse state in a target folder: dbt parses only the files changed since it.
PARSE_STATE = "partial_parse.msgpack"


def copy_parse_state(source_dir: Path, target_dir: Path) -> None:
    """dbt's parse state in `source_dir`, if there is one, into `target_dir` (replaced
    whole). dbt checks a parse state before use, and parses the whole project where it
    does not fit (other models, other vars, another dbt)."""
    source = source_dir / PARSE_STATE
    if source.is_file():
        with replaced_whole(target_dir / PARSE_STATE) as copy:
            shutil.copyfile(source, copy)


def cli_target_dir() -> Path:
    """dbt's target folder of the CLI's DuckDB builds (its artifacts and parse state):
    DBT_TARGET_PATH if set, else dbt_project/target."""
    return DBT_PROJECT_DIR / os.environ.get("DBT_TARGET_PATH", "target")


# dbt, with a build that ran out of memory retried one model at a time (pipeline.dbt_child)
DBT_EXECUTABLE = "voronka-dbt"


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / DBT_EXECUTABLE
    return str(beside_python) if beside_python.exists() else DBT_EXECUTABLE


def dbt_command(config: Config, args: list[str], target: str | None = None) -> list[str]:
    return [
        dbt_executable(),
        *dbt_args(config, args, target),
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
    ]


@dataclass(frozen=True)
class BuildFile:
    """The file one DuckDB build writes (`path`), and its copy from the published file
    running in the background (`copy`; None for a first build)."""

    path: Path
    copy: BackgroundCopy | None = None

    @property
    def starts_from(self) -> Path:
        """The file whose recorded state the build starts from: the published file while
        it is copied into the build file, else the build file itself."""
        return self.copy.source if self.copy else self.path


@contextmanager
def build_copy(warehouse: Path) -> Iterator[BuildFile]:
    """Yield the file to build in; it replaces the published warehouse only if the block
    succeeds, so a failed build leaves the published file as it was.

    The build file starts as a copy of the published file (clone_or_copy: a copy-on-write
    clone where the file system makes them, else a byte copy), so the rebuild plan
    (pipeline/incremental.py) starts from the last build's state and recomputes what the
    deliveries since it changed: a new month recomputes that month's changes, not two
    months'. The copy runs in the background while the block plans and starts dbt, which
    waits for it (pipeline/build_file.py); the plan reads the published file meanwhile
    (the same state)."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    build = build_file_path(warehouse)
    for leftover in (*_build_files(build), *_retired_generation(warehouse)):
        leftover.unlink(missing_ok=True)
    copy = None
    if warehouse.exists():
        if wal_path(warehouse).exists():  # small; in place before the file DuckDB opens
            clone_or_copy(wal_path(warehouse), wal_path(build))
        copy = BackgroundCopy(clone_or_copy, warehouse, build)
    try:
        yield BuildFile(build, copy)
        if copy:
            copy.wait()
    except BaseException:
        if copy:
            with suppress(BuildFileError):  # the block's own error is the one to raise
                copy.wait()
        for leftover in _build_files(build):
            leftover.unlink(missing_ok=True)
        raise
    _publish(build, warehouse)


def build_file_path(warehouse: Path) -> Path:
    """The file a build of `warehouse` writes before it is published."""
    return warehouse.with_name(f"{warehouse.stem}.build{warehouse.suffix}")


def _build_files(build: Path) -> tuple[Path, ...]:
    """The build file and what its build and copy write beside it."""
    return build, wal_path(build), copying_path(build), failed_path(build)


def _retired_generation(warehouse: Path) -> tuple[Path, ...]:
    """The generation before the published file, which earlier versions kept beside it for
    the next build to write (`warehouse.previous.duckdb`): no longer read, so removed."""
    previous = warehouse.with_name(f"{warehouse.stem}.previous{warehouse.suffix}")
    return previous, wal_path(previous)


def _publish(build: Path, warehouse: Path) -> None:
    """Swap the build in: one rename, so readers see the old file or the new, never
    neither (a reader that opened the old file keeps reading it)."""
    wal_path(warehouse).unlink(missing_ok=True)
    os.replace(build, warehouse)
    if wal_path(build).exists():
        os.replace(wal_path(build), wal_path(warehouse))


@contextmanager
def build_copy_dir(published: Path) -> Iterator[Path]:
    """Yield an empty folder to build a Spark warehouse in; it replaces `published` only if
    the block succeeds. Empty, not a copy: every model is rebuilt from landing on each run,
    and a local session's catalog forgets the old tables anyway."""
    build = published.with_name(f"{published.name}.build")
    retired = published.with_name(f"{published.name}.old")
    shutil.rmtree(build, ignore_errors=True)
    build.mkdir(parents=True)
    try:
        yield build
    except BaseException:
        shutil.rmtree(build, ignore_errors=True)
        raise
    shutil.rmtree(retired, ignore_errors=True)
    if published.exists():
        os.replace(published, retired)
    os.replace(build, published)
    shutil.rmtree(retired, ignore_errors=True)


# Linux's FICLONE ioctl: the copy shares the file's blocks until either is written
# (copy-on-write: btrfs, XFS with reflink, bcachefs, ZFS 2.2+), so it costs no time or space.
_FICLONE = 0x40049409


def clone_or_copy(source: Path, target: Path) -> None:
    """`target` as a copy of `source`: a copy-on-write clone where the file system makes
    them (free at any size), else a byte copy (shutil.copy2)."""
    try:
        with source.open("rb") as src, target.open("wb") as dst:
            fcntl.ioctl(dst.fileno(), _FICLONE, src.fileno())
    except OSError:  # ext4, tmpfs, another file system, another OS: copy the bytes
        shutil.copy2(source, target)
        return
    shutil.copystat(source, target)


def wal_path(path: Path) -> Path:
    """DuckDB's write-ahead log of the database file `path`."""
    return path.with_name(path.name + ".wal")


def prepare_landing(config: Config) -> None:
    """Everything dbt reads must exist: landing tables (possibly empty) and config tables."""
    ensure_landing(config.landing_dir)
    write_config_tables(config)


def run_dbt(
    config: Config,
    args: list[str],
    target_file: Path,
    progress: Callable[[str], None] | None = None,
    target: str | None = None,
    environment: dict[str, str] | None = None,
) -> list[str]:
    """Run one dbt command against target_file (the DuckDB file, or the Spark warehouse
    folder); stream its lines; raise BuildError on failure."""
    env = dbt_process_environment(config, dbt_target(target), target_file, environment)
    with without_huge_pages():
        process = subprocess.Popen(
            dbt_command(config, args, target),
            cwd=DBT_PROJECT_DIR,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            preexec_fn=die_with_parent(),  # a killed `voronka run` must not leave dbt running
        )
    lines: list[str] = []
    assert process.stdout is not None
    for line in process.stdout:
        line = line.rstrip()
        lines.append(line)
        if progress and _is_progress_line(line):
            progress(line)
    if process.wait() != 0:
        raise BuildError(_failure_summary(lines))
    return lines


def build_warehouse(
    config: Config,
    select: list[str] | None = None,
    progress: Callable[[str], None] | None = None,
    target: str | None = None,
) -> BuildResult:
    """`dbt build` (models and data tests) into the build file (build_copy), then publish
    it. The arguments are build_args', as the Dagster asset's are. A whole build (no
    `select`) with nothing to build (nothing_to_build) runs no dbt."""
    chosen = dbt_target(target)
    prepare_landing(config)
    if nothing_to_build(config, chosen, whole=select is None):
        if progress:
            progress(UP_TO_DATE)
        return BuildResult(warehouse=config.warehouse_path, log_tail=[UP_TO_DATE])
    with build_location(config, chosen) as location:
        plan = rebuild_plan(config, chosen, location.starts_from)
        if progress:
            progress(plan.describe())
        lines = run_dbt(
            config,
            build_command(plan, select),
            location.path,
            progress,
            target=chosen,
            environment={
                **plan.dbt_env(),
                **(spark_artifacts_env(config) if chosen == SPARK else {}),
            },
        )
    return BuildResult(warehouse=location.published, log_tail=lines[-5:])


def nothing_to_build(config: Config, target: str, *, whole: bool) -> bool:
    """True for a whole build (every model, no selection) of a DuckDB warehouse whose
    published file is up to date (is_up_to_date): it would write the same tables and pass
    the same tests again. The rule of build_warehouse and the Dagster dbt asset alike; run
    after prepare_landing (the config tables count)."""
    return whole and target == DUCKDB and is_up_to_date(config, config.warehouse_path)


def rebuild_plan(config: Config, target: str, starts_from: Path) -> RebuildPlan:
    """Which months this build recomputes (pipeline/incremental.py), from the state recorded
    in `starts_from` (BuildLocation). A Spark build starts from an empty folder, so it is
    always whole."""
    if target == SPARK:
        return RebuildPlan(
            True,
            "a Spark build starts empty",
            build_fingerprint(config),
            ledger_digest=ledger_digest(read_ledger(config.landing_dir)),
        )
    return plan_rebuild(config, starts_from, plan_settings(starts_from))


@dataclass(frozen=True)
class BuildLocation:
    """Where one build writes: `path` (a DuckDB file, or a Spark warehouse folder) replaces
    `published` when the build succeeds. dbt finds `path` in the environment variable `env`
    (`environment`: that and DuckDB's resources). `starts_from`: the file whose recorded
    state the build starts from, for the rebuild plan (BuildFile)."""

    target: str
    path: Path
    published: Path
    starts_from: Path

    @property
    def env(self) -> str:
        return location_env(self.target)


def location_env(target: str) -> str:
    """The environment variable the profile reads the build location from."""
    return SPARK_WAREHOUSE_ENV if target == SPARK else DBT_PATH_ENV


def dbt_environment(config: Config | None, target: str, path: Path) -> dict[str, str]:
    """What dbt reads from the environment for a build at `path` (the CLI's and the
    Dagster asset's): the location (location_environment) and the landing folder."""
    landing = {LANDING_ENV: config.landing_dir.as_posix()} if config else {}
    return {**location_environment(target, path), **landing}


def dbt_process_environment(
    config: Config | None, target: str, path: Path, environment: dict[str, str] | None = None
) -> dict[str, str]:
    """The whole environment of a dbt process building at `path`: this process's, then
    `environment`, then what dbt reads for the build (dbt_environment); no usage stats."""
    return {
        **os.environ,
        **(environment or {}),
        **dbt_environment(config, target, path),
        "DBT_SEND_ANONYMOUS_USAGE_STATS": "false",
    }


def location_environment(target: str, path: Path) -> dict[str, str]:
    """What the profile reads for a build at `path`: for Spark the warehouse folder; for
    DuckDB the file's name apart from its folder (which only the profile's plugin reads,
    pipeline/build_file_plugin.py), and its memory, threads and spill folder
    (duckdb_resources). No site's path is in what dbt parses, so every site's builds on
    the machine share dbt's parse state (dbt_project/target)."""
    if target == SPARK:
        return {SPARK_WAREHOUSE_ENV: str(path)}
    return {DBT_PATH_ENV: path.name, BUILD_FOLDER_ENV: str(path.parent), **duckdb_resources(path)}


@contextmanager
def build_location(config: Config, target: str | None = None) -> Iterator[BuildLocation]:
    """The build copy for the target (build_copy / build_copy_dir), published if the block
    succeeds. Shared by build_warehouse and the Dagster dbt asset."""
    chosen = dbt_target(target)
    if chosen == SPARK:
        published = spark_warehouse_dir(config)
        with build_copy_dir(published) as folder:
            yield BuildLocation(chosen, folder, published, folder)
    else:
        with build_copy(config.warehouse_path) as file:
            yield BuildLocation(chosen, file.path, config.warehouse_path, file.starts_from)


def spark_artifacts_env(config: Config) -> dict[str, str]:
    """dbt's artifacts of a Spark build stay apart from the DuckDB builds' (and from the
    manifest Dagster reads in dbt_project/target). In the environment, not the arguments,
    as dagster-dbt sets them for its own invocations: the arguments stay build_args'."""
    artifacts = config.state_dir / "dbt-spark"
    return {"DBT_TARGET_PATH": str(artifacts / "target"), "DBT_LOG_PATH": str(artifacts / "logs")}


def _is_progress_line(line: str) -> bool:
    words = (" OK ", " PASS ", " FAIL ", " ERROR ", " WARN ", "Done.", RETRY_NOTICE)
    return any(word in line for word in words)


def _failure_summary(lines: list[str]) -> str:
    start = next(
        (
            i
            for i, line in enumerate(lines)
            if "Completed with" in line or "Encountered an error" in line
        ),
        max(len(lines) - 25, 0),
    )
    return "dbt build failed; the published warehouse was left as it was.\n" + "\n".join(
        lines[start:]
    )
