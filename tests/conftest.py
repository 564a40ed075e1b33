"""Shared fixtures. The demo pipeline runs once per session (each dbt call costs ~9 s)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import duckdb
import pytest

from pipeline.config import Config
from tests.helpers import copy_demo_config


@dataclass
class DemoRun:
    config: Config
    expected_dir: Path
    build_log: list[str]
    report_month: str
    pdfs: list[Path]

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
