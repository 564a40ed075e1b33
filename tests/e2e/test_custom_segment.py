"""An analyst adds a segment type in voronka.yaml alone; it appears in the marts."""

from __future__ import annotations

import duckdb

from pipeline.config import load_config
from tests.helpers import copy_demo_config


def test_new_segment_type_in_config_appears_in_funnel_stage_monthly(tmp_path):
    from pipeline.demo import write_demo_exports
    from pipeline.ingest import ingest_inbox
    from pipeline.warehouse import build_warehouse

    config = copy_demo_config(tmp_path)
    config_file = config.base_dir / "voronka.yaml"
    text = config_file.read_text(encoding="utf-8")
    declared = "    segments: [manager, lead_source]\n    plan: {target: 3"
    assert declared in text
    config_file.write_text(
        text.replace(
            declared,
            "    segments: [manager, lead_source, {type: deal_kind, column: deal_name}]\n"
            "    plan: {target: 3",
        ),
        encoding="utf-8",
    )
    config = load_config(config_file)
    write_demo_exports(config.inbox_dir, tmp_path / "expected")
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        segments = con.execute(
            """
            select segment, sum(entities)
            from marts.funnel_stage_monthly
            where funnel_id = 'key_accounts' and segment_type = 'deal_kind'
              and view = 'cohort' and stage_order = 1
            group by segment
            """
        ).fetchall()
        (total,) = con.execute(
            """
            select sum(entities) from marts.funnel_stage_monthly
            where funnel_id = 'key_accounts' and segment_type = 'total'
              and view = 'cohort' and stage_order = 1
            """
        ).fetchone()
    assert len(segments) >= 2, segments
    assert sum(count for _, count in segments) == total, "every entity lands in one segment"
