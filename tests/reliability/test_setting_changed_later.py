"""A manager alias added after the exports landed renames the manager in every month,
not only in the files that arrive after it. The build that runs before ingest has read
the file again starts over because the config changed; the build after it starts over
again, because the landed rows of a built file changed (`files.read_with`), although the
config is the same as the build before's. Expected counts are read off the rows written
here."""

from __future__ import annotations

import duckdb

from pipeline.config import load_config
from pipeline.incremental import plan_rebuild
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.reliability.tiny_project import built_project, deals

ALIAS = 'managers:\n  - {name: "Anna Smirnova", aliases: ["A. Smirnova"]}\nsources:\n'


def managers(config) -> dict[str, int]:
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        return dict(
            con.execute(
                "select segment, sum(entities) from marts.funnel_stage_monthly "
                "where view = 'cohort' and segment_type = 'manager' and stage_key = 'lead' "
                "group by segment having sum(entities) > 0"
            ).fetchall()
        )


def test_an_alias_added_later_renames_the_manager_in_the_landed_months(tmp_path) -> None:
    rows = deals(1, 12, owner="A. Smirnova") + deals(2, 8, owner="Anna Smirnova")
    config = built_project(tmp_path, "deals_2025-03-01_0600.csv", rows)
    assert managers(config) == {"A. Smirnova": 12, "Anna Smirnova": 8}

    path = tmp_path / "voronka.yaml"
    path.write_text(path.read_text(encoding="utf-8").replace("sources:\n", ALIAS), "utf-8")
    config = load_config(path)
    build_warehouse(config)  # before ingest: the config changed, the landed rows not yet
    assert managers(config) == {"A. Smirnova": 12, "Anna Smirnova": 8}

    [read] = ingest_inbox(config, settle_seconds=0).files
    assert read.status == "loaded"
    plan = plan_rebuild(config, config.warehouse_path)
    assert plan.describe() == "full rebuild: 1 file(s) read again with changed settings"
    build_warehouse(config)
    assert managers(config) == {"Anna Smirnova": len(rows)}
