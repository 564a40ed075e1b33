"""Issue 14 item 10: any landing table may have no files. A CRM source that maps no
extra columns leaves `crm_deal_attributes` without a single part; the first build passed
and every later (incremental) build failed on DuckDB's `read_parquet([])`."""

from __future__ import annotations

import duckdb

from pipeline import io
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.reliability.tiny_project import deals, put_deals, write_project


def test_a_second_build_succeeds_when_a_landing_table_has_no_files(tmp_path) -> None:
    config = write_project(tmp_path)
    put_deals(config, "deals_2025-03-01_0600.csv", deals(1, 20) + deals(2, 20))
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    assert io.table_parts(config.landing_dir, "crm_deal_attributes") == []

    put_deals(config, "deals_2025-04-01_0600.csv", deals(1, 20) + deals(2, 20) + deals(3, 20))
    ingest_inbox(config, settle_seconds=0)
    progress: list[str] = []
    build_warehouse(config, progress=progress.append)

    assert io.table_parts(config.landing_dir, "crm_deal_attributes") == []
    assert any(line.startswith("incremental:") for line in progress), progress
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        [(deals_built,)] = con.execute(
            "select count(distinct entity_id) from marts.funnel_entities"
        ).fetchall()
    assert deals_built == 60
