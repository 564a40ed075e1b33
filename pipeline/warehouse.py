"""Building the DuckDB warehouse with dbt, safely.

dbt is the only writer of the warehouse file. It builds into a copy next to the
published file; the copy replaces the published file only when every model and test
passed, so a failed build leaves the previous warehouse (and reports) as they were.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from pipeline.config import Config
from pipeline.funnel_tables import write_config_tables
from pipeline.io import ensure_landing
from pipeline.paths import DBT_PROJECT_DIR

DBT_PATH_ENV = "VORONKA_DBT_PATH"


class BuildError(Exception):
    """dbt failed; the message carries dbt's own summary of what failed."""


@dataclass(frozen=True)
class BuildResult:
    warehouse: Path
    log_tail: list[str]


def dbt_vars(config: Config) -> dict[str, str]:
    """The values dbt models take from voronka.yaml (defaults live in dbt_project.yml)."""
    return {"landing_path": config.landing_dir.as_posix(), "timezone": config.timezone}


def dbt_executable() -> str:
    beside_python = Path(sys.executable).parent / "dbt"
    return str(beside_python) if beside_python.exists() else "dbt"


def dbt_command(config: Config, args: list[str]) -> list[str]:
    return [
        dbt_executable(),
        *args,
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--profiles-dir",
        str(DBT_PROJECT_DIR),
        "--vars",
        json.dumps(dbt_vars(config)),
    ]


@contextmanager
def build_copy(warehouse: Path) -> Iterator[Path]:
    """Yield a working copy of the warehouse; publish it only if the block succeeds."""
    warehouse.parent.mkdir(parents=True, exist_ok=True)
    build = warehouse.with_name(f"{warehouse.stem}.build{warehouse.suffix}")
    for leftover in (build, _wal(build)):
        leftover.unlink(missing_ok=True)
    if warehouse.exists():
        shutil.copy2(warehouse, build)
        if _wal(warehouse).exists():
            shutil.copy2(_wal(warehouse), _wal(build))
    try:
        yield build
    except BaseException:
        for leftover in (build, _wal(build)):
            leftover.unlink(missing_ok=True)
        raise
    _wal(warehouse).unlink(missing_ok=True)
    os.replace(build, warehouse)
    if _wal(build).exists():
        os.replace(_wal(build), _wal(warehouse))


def _wal(path: Path) -> Path:
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
) -> list[str]:
    """Run one dbt command against target_file; stream its lines; raise BuildError on failure."""
    env = {**os.environ, DBT_PATH_ENV: str(target_file), "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    process = subprocess.Popen(
        dbt_command(config, args),
        cwd=DBT_PROJECT_DIR,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
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
) -> BuildResult:
    """`dbt build` (models and tests) into a copy, then publish it."""
    prepare_landing(config)
    args = ["build", *(["--select", *select] if select else [])]
    with build_copy(config.warehouse_path) as build_file:
        lines = run_dbt(config, args, build_file, progress)
    return BuildResult(warehouse=config.warehouse_path, log_tail=lines[-5:])


def _is_progress_line(line: str) -> bool:
    return any(word in line for word in (" OK ", " PASS ", " FAIL ", " ERROR ", " WARN ", "Done."))


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
