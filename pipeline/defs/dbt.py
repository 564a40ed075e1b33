"""dbt assets: one `dbt build` per run, into a second warehouse file swapped in on success.

The build's arguments are the CLI's, from one function (pipeline.warehouse.build_args):
models and data tests, not dbt unit tests (they run in `make test`, with their own vars).
DbtCliResource runs them so that dagster-dbt turns dbt's events into asset events.

The target is chosen as the CLI chooses it (pipeline.warehouse.dbt_target:
VORONKA_DBT_TARGET, DuckDB by default): DuckDB builds into the generation before the
published file (pipeline.warehouse.build_copy), Spark into
a fresh warehouse folder beside it (pipeline.warehouse.build_location, shared with
build_warehouse).

Not partitioned: no model reads a month window. A build recomputes what changed since the
previous build (pipeline/incremental.py: the months from a boundary on, or everything),
whichever month a run reports, so the dbt assets' status is the warehouse's, and a
backfill of any range is one build. The reports are the monthly assets.
dbt tests become asset checks (dagster-dbt's default); a failing test fails the build,
the copy is thrown away, and nothing downstream — the report — runs.
"""

import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from pipeline.defs.ingest import WRITER_POOL
from pipeline.defs.resources import VoronkaConfig
from pipeline.locks import logged_warehouse_lock
from pipeline.paths import DBT_PROJECT_DIR
from pipeline.warehouse import (
    build_args,
    build_location,
    dbt_executable,
    dbt_target,
    prepare_landing,
    rebuild_plan,
)

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


class VoronkaDbtCli(DbtCliResource):
    """dagster-dbt's runner (dbt's events become asset events) without the dbt adapter it
    opens in Dagster's own process before each invocation: ~12 s here, used only to fetch
    row counts and column metadata, which Voronka does not ask for. dbt itself runs as a
    child process either way. (A private method of the pinned dagster-dbt: when it
    changes, tests/e2e/test_dagster_targets.py fails.)"""

    def _initialize_dbt_core_adapter(self, args):
        return None


def dbt_resource() -> DbtCliResource:
    return VoronkaDbtCli(project_dir=dbt_project, dbt_executable=dbt_executable())


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    previous = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in previous.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def voronka_dbt_assets() -> dg.AssetsDefinition:
    @dbt_assets(
        manifest=dbt_project.manifest_path,
        project=dbt_project,
        dagster_dbt_translator=VoronkaDbtTranslator(),
        pool=WRITER_POOL,
    )
    def voronka_dbt_assets(
        context: dg.AssetExecutionContext, dbt: DbtCliResource, voronka: VoronkaConfig
    ):
        config = voronka.load()
        target = dbt_target()
        with logged_warehouse_lock(config, context.log.info):
            prepare_landing(config)
            with (
                build_location(config, target) as location,
                _environment(location.environment),
            ):
                # Which months to recompute, from what changed since the build the copy
                # starts from (pipeline/incremental.py): the CLI's plan, the CLI's arguments.
                # (dagster-dbt gives each invocation its own target path, so a Spark build's
                # artifacts never replace the manifest Dagster reads.)
                plan = rebuild_plan(config, target, location.path)
                context.log.info(f"dbt target: {target}; {plan.describe()}")
                with _environment(plan.dbt_env()):  # the boundaries, as the CLI passes them
                    yield from dbt.cli(build_args(config, plan, target), context=context).stream()

    return voronka_dbt_assets
