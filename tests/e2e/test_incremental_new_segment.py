"""A segment value first seen in new data (a new manager, a new lead source) made every
incremental build fail from then on: funnel_stage_monthly kept the months before the
boundary, which had no rows of the new segment, and the data test that every segment
spans every month failed; the published warehouse stayed as it was, run after run. The
new segment now gets its earlier months (of no entities), and the build equals a full
rebuild."""

from __future__ import annotations

import shutil

from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.e2e.test_incremental import table_rows
from tests.reliability.tiny_project import deals, put_deals, write_project


def test_a_manager_first_seen_in_a_new_export_builds_incrementally(tmp_path) -> None:
    config = write_project(tmp_path)
    history = deals(1, 20) + deals(2, 20) + deals(3, 20)
    put_deals(config, "deals_2025-04-01_0600.csv", history)
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)

    put_deals(config, "deals_2025-05-01_0600.csv", history + deals(4, 10, owner="Petr Petrov"))
    ingest_inbox(config, settle_seconds=0)
    progress: list[str] = []
    build_warehouse(config, progress=progress.append)
    assert any(line.startswith("incremental:") for line in progress), progress

    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(config.warehouse_path, incremental)
    config.warehouse_path.unlink()
    build_warehouse(config)
    built, full = table_rows(incremental), table_rows(config.warehouse_path)
    monthly = "marts.funnel_stage_monthly"
    assert [row for row in full[monthly] if "Petr Petrov" in row]  # the segment is there
    assert built[monthly] == full[monthly]
