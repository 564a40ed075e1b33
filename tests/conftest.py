"""Shared fixtures. The demo pipeline runs once per test process (each of `make test`'s
two workers) and zone (each dbt call costs ~9 s)."""

from __future__ import annotations

import io
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import pytest

from pipeline.config import Config
from tests.helpers import copy_demo_config

DBT_FOLDER = pytest.StashKey[Path]()


def pytest_configure(config: pytest.Config) -> None:
    """dbt's artifacts and logs of this test process go to a folder of its own
    (DBT_TARGET_PATH, DBT_LOG_PATH: every dbt the tests start inherits them), not to
    dbt_project/target: on two workers two dbt processes run at once, and dbt rewrites its
    manifest and partial-parse file in place. The Dagster tests' manifest still lands in
    dbt_project/target (pipeline.prepare). Each folder starts with the parse state the
    CLI's builds left (after `make demo`), as a site's Dagster builds do
    (pipeline.defs.dbt.seeded_target_path): dbt checks it before use, and parses the whole
    project where it does not fit (another model, other vars)."""
    from pipeline.warehouse import cli_target_dir, copy_parse_state

    worker = getattr(config, "workerinput", {}).get("workerid", "main")
    folder = Path(tempfile.mkdtemp(prefix=f"voronka-dbt-{worker}-"))
    config.stash[DBT_FOLDER] = folder
    copy_parse_state(cli_target_dir(), folder / "target")
    os.environ["DBT_TARGET_PATH"] = str(folder / "target")
    os.environ["DBT_LOG_PATH"] = str(folder / "logs")


# The modules whose shared fixture takes longest (tens of seconds): collected first. The
# suites run on two workers with `--no-loadscope-reorder` (Makefile): modules go to the
# workers in collection order, each whole, so the long ones start at once and the short
# ones fill the end. (pytest-xdist's default orders modules by their number of tests,
# and a module of two slow tests started last.)
LONG_MODULES = ("tests/e2e/test_dbt_unit_tests.py", "tests/unit/test_report_pdf.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {module: place for place, module in enumerate(LONG_MODULES)}
    items.sort(key=lambda item: rank.get(item.nodeid.split("::")[0], len(rank)))


def pytest_unconfigure(config: pytest.Config) -> None:
    folder = config.stash.get(DBT_FOLDER, None)
    if folder is not None:
        shutil.rmtree(folder, ignore_errors=True)


@dataclass
class DemoRun:
    config: Config
    expected_dir: Path
    build_log: list[str]
    report_month: str | None
    pdfs: list[Path]
    exit_codes: dict[str, int] = field(default_factory=dict)  # per CLI command run

    def query(self, sql: str, params: list | None = None) -> list[tuple]:
        with duckdb.connect(str(self.config.warehouse_path), read_only=True) as con:
            return con.execute(sql, params or []).fetchall()


@pytest.fixture(scope="session")
def demo_run(tmp_path_factory: pytest.TempPathFactory) -> DemoRun:
    from pipeline.demo import write_demo_exports
    from pipeline.ingest import ingest_inbox
    from pipeline.reporting import default_report_month, render_reports
    from pipeline.warehouse import build_warehouse

    config = copy_demo_config(tmp_path_factory.mktemp("demo"))
    expected_dir = config.inbox_dir.parent / "demo_expected"
    write_demo_exports(config.inbox_dir, expected_dir)
    ingest_inbox(config)
    log: list[str] = []
    build_warehouse(config, progress=log.append)
    month = default_report_month(config)
    pdfs = render_reports(config, month)
    return DemoRun(config, expected_dir, log, month, pdfs)


@pytest.fixture(scope="session")
def demo_in_zone(tmp_path_factory: pytest.TempPathFactory) -> Callable[[str], DemoRun]:
    """The demo with its exports written in another zone and voronka.yaml set to it,
    ingested and built as a user does it (`voronka ingest`, `voronka build`), once per
    zone and session. No reports (demo_run renders the demo's)."""
    runs: dict[str, DemoRun] = {}

    def run_in(zone: str) -> DemoRun:
        if zone not in runs:
            folder = tmp_path_factory.mktemp("demo-" + zone.replace("/", "-"))
            runs[zone] = _cli_demo_run(folder, zone)
        return runs[zone]

    return run_in


def _cli_demo_run(folder: Path, zone: str) -> DemoRun:
    from pipeline.cli import main
    from pipeline.demo import write_demo_exports

    config = copy_demo_config(folder, timezone=zone)
    expected_dir = config.inbox_dir.parent / "demo_expected"
    write_demo_exports(config.inbox_dir, expected_dir, timezone=zone)
    output = io.StringIO()
    codes = {}
    with redirect_stdout(output), redirect_stderr(output):
        for command in ("ingest", "build"):
            codes[command] = main([command, "--config", str(folder / "voronka.yaml")])
    return DemoRun(config, expected_dir, output.getvalue().splitlines(), None, [], codes)
