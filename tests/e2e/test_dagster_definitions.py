"""The Dagster wiring: definitions load, and the asset graph materializes in-process."""

from __future__ import annotations

import pytest

from pipeline.prepare import prepare_dbt_manifest
from tests.helpers import copy_demo_config


@pytest.fixture(scope="module")
def definitions_module():
    prepare_dbt_manifest()  # the manifest must exist before the Dagster module is imported
    import pipeline.defs as defs

    return defs


def test_definitions_load_with_groups_by_layer(definitions_module):
    from pipeline.paths import REPO_ROOT

    defs = definitions_module.build_definitions(REPO_ROOT / "voronka.yaml")
    graph = defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"ingest", "config", "staging", "intermediate", "marts", "reports"} <= groups
    job = defs.resolve_job_def("monthly_funnel_report")
    assert job.partitions_def is not None
    assert defs.resolve_schedule_def("monthly_funnel_report_schedule") is not None


def test_asset_graph_materializes_a_month_in_process(definitions_module, tmp_path):
    import dagster as dg

    from pipeline.demo import write_demo_exports

    config = copy_demo_config(tmp_path)
    write_demo_exports(config.inbox_dir, tmp_path / "expected")
    defs = definitions_module.build_definitions(tmp_path / "voronka.yaml")
    assets = list(defs.assets or [])
    result = dg.materialize(
        assets,
        resources=defs.resources,
        partition_key="2026-10-01",
        selection=dg.AssetSelection.all(),
    )
    assert result.success
    reports = sorted(path.name for path in (config.reports_dir / "2026-10").iterdir())
    assert "voronka_doors_2026-10_ru.pdf" in reports
    assert len(reports) == 6
