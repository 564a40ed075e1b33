"""dbt assets: one `dbt build` per run, into a copy of the warehouse swapped in on success."""

import json
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipeline.defs.resources import VoronkaConfig
from pipeline.paths import DBT_PROJECT_DIR
from pipeline.warehouse import DBT_PATH_ENV, build_copy, dbt_executable, dbt_vars, prepare_landing

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()


class VoronkaDbtTranslator(DagsterDbtTranslator):
    """All dbt → Dagster mapping: keys are <schema>/<name>, groups are the dbt layers."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
        if node["resource_type"] == "source":
            return spec.replace_attributes(key=dg.AssetKey([node["source_name"], node["name"]]))
        layer = node["fqn"][1] if len(node["fqn"]) > 2 else "marts"
        return spec.replace_attributes(key=dg.AssetKey([layer, node["name"]]), group_name=layer)


def dbt_resource() -> DbtCliResource:
    return DbtCliResource(project_dir=dbt_project, dbt_executable=dbt_executable())


@contextmanager
def _environment(name: str, value: str) -> Iterator[None]:
    previous = os.environ.get(name)
    os.environ[name] = value
    try:
        yield
    finally:
        if previous is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = previous


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=VoronkaDbtTranslator(),
    pool="voronka_writer",
)
def voronka_dbt_assets(
    context: dg.AssetExecutionContext, dbt: DbtCliResource, voronka: VoronkaConfig
):
    config = voronka.load()
    prepare_landing(config)
    with (
        build_copy(config.warehouse_path) as build_file,
        _environment(DBT_PATH_ENV, str(build_file)),
    ):
        yield from dbt.cli(
            ["build", "--vars", json.dumps(dbt_vars(config))], context=context
        ).stream()
