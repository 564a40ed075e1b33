"""The Dagster dbt asset builds the target the CLI would (VORONKA_DBT_TARGET, DuckDB by
default) into that target's build copy, published on success, with the CLI's dbt
arguments and boundary variables for the same rebuild plan (pipeline.warehouse.build_args,
RebuildPlan.dbt_env); on Spark the report step
fails naming where the marts are, instead of reading a DuckDB file Spark never updated.

dbt itself is replaced by a stand-in that records what it was asked and writes a marker
where the build would go: what is tested is the wiring, not dbt (see tests/spark)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from pipeline.build_file import BUILD_FOLDER_ENV, in_build_folder
from pipeline.incremental import BOUNDARY_ENV
from pipeline.prepare import prepare_dbt_manifest
from pipeline.warehouse import (
    DBT_PATH_ENV,
    DBT_TARGET_ENV,
    SPARK_WAREHOUSE_ENV,
    build_location,
    spark_warehouse_dir,
)
from tests.helpers import copy_demo_config

PARTITION = "2026-10-01"
CALLS: list[dict] = []  # what the stand-in dbt saw (module level: resources are copied)


@pytest.fixture(scope="module")
def defs_module():
    prepare_dbt_manifest()  # before pipeline.defs is imported
    import pipeline.defs as defs

    return defs


@pytest.fixture
def instance(tmp_path):
    import dagster as dg

    (tmp_path / "dagster").mkdir()
    with dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as inst:
        yield inst


def stand_in_dbt():
    from dagster_dbt import DbtCliResource

    from pipeline.defs.dbt import dbt_project
    from pipeline.warehouse import dbt_executable

    class StandInDbt(DbtCliResource):
        def cli(self, args, **kwargs):
            duckdb_file = os.environ.get(DBT_PATH_ENV) and in_build_folder(os.environ[DBT_PATH_ENV])
            spark_folder = os.environ.get(SPARK_WAREHOUSE_ENV)
            boundaries = {name: os.environ.get(name) for name in BOUNDARY_ENV.values()}
            CALLS.append(
                {"args": list(args), "duckdb": duckdb_file, "spark": spark_folder,
                 "boundaries": boundaries, "target_path": kwargs.get("target_path")}
            )  # fmt: skip
            if args[args.index("--target") + 1] == "spark":
                (Path(spark_folder) / "marts.db").mkdir(parents=True)
                (Path(spark_folder) / "marts.db" / "built").write_text("spark")
            else:
                Path(duckdb_file).write_text("duckdb")
            return self

        def stream(self):
            return iter(())

    return StandInDbt(project_dir=dbt_project, dbt_executable=dbt_executable())


def run(defs_module, tmp_path, instance, group: str, raise_on_error: bool = True):
    import dagster as dg

    config = copy_demo_config(tmp_path / "site")
    defs = defs_module.build_definitions(config.base_dir / "voronka.yaml")
    graph = defs.resolve_asset_graph()
    selection = {
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).group_name == group
    }
    job = defs.resolve_job_def("monthly_funnel_report").get_subset(
        asset_selection=selection, asset_check_selection=set()
    )
    CALLS.clear()
    result = job.execute_in_process(
        partition_key=PARTITION,
        instance=instance,
        resources={"dbt": stand_in_dbt()},
        raise_on_error=raise_on_error,
    )
    assert isinstance(result, dg.ExecuteInProcessResult)
    return config, result


def test_build_location_is_the_copy_of_the_chosen_target(tmp_path):
    config = copy_demo_config(tmp_path)
    with build_location(config, "duckdb") as duckdb:
        assert (duckdb.env, duckdb.published) == (DBT_PATH_ENV, config.warehouse_path)
        assert duckdb.path != config.warehouse_path
        duckdb.path.write_text("new")
    assert config.warehouse_path.read_text() == "new"
    with build_location(config, "spark") as spark:
        assert (spark.env, spark.published) == (SPARK_WAREHOUSE_ENV, spark_warehouse_dir(config))
        assert spark.path.is_dir() and not any(spark.path.iterdir())
        (spark.path / "t").write_text("new")
    assert (spark_warehouse_dir(config) / "t").read_text() == "new"


def test_the_dbt_asset_builds_duckdb_by_default(defs_module, tmp_path, instance, monkeypatch):
    monkeypatch.delenv(DBT_TARGET_ENV, raising=False)
    config, result = run(defs_module, tmp_path, instance, "marts")
    assert result.success
    [call] = CALLS
    assert call["args"][call["args"].index("--target") + 1] == "duckdb"
    assert call["duckdb"].endswith(".build.duckdb") and call["spark"] is None
    # One artifacts folder for the site's builds (dbt parses partially from one to the next).
    assert call["target_path"] == config.state_dir / "dbt-duckdb" / "target"
    assert config.warehouse_path.read_text() == "duckdb"  # the copy was published
    assert not spark_warehouse_dir(config).exists()


def test_the_dbt_asset_builds_spark_when_chosen(defs_module, tmp_path, instance, monkeypatch):
    monkeypatch.setenv(DBT_TARGET_ENV, "spark")
    config, result = run(defs_module, tmp_path, instance, "marts")
    assert result.success
    [call] = CALLS
    assert call["args"][call["args"].index("--target") + 1] == "spark"
    assert call["spark"] == str(spark_warehouse_dir(config).with_name("spark-warehouse.build"))
    assert (spark_warehouse_dir(config) / "marts.db" / "built").read_text() == "spark"
    assert not config.warehouse_path.exists()  # the DuckDB file is not touched
    assert os.environ.get(SPARK_WAREHOUSE_ENV) is None  # set only for the build
    # The CLI's Spark artifacts folder (pipeline.warehouse.spark_artifacts_env).
    assert str(call["target_path"]) == str(config.state_dir / "dbt-spark" / "target")


def test_the_report_step_fails_clearly_on_spark(defs_module, tmp_path, instance, monkeypatch):
    monkeypatch.setenv(DBT_TARGET_ENV, "spark")
    config, result = run(defs_module, tmp_path, instance, "reports", raise_on_error=False)
    assert not result.success
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    assert failure.step_key == "reports__monthly_pdf"
    message = failure.event_specific_data.error.message
    assert "built on Spark" in message and str(config.warehouse_path) in message
    assert f"{spark_warehouse_dir(config) / 'marts.db'}/<mart>/" in message
    assert not config.reports_dir.exists()  # nothing rendered


def test_the_cli_and_the_dagster_asset_give_dbt_the_same_arguments_for_one_plan(
    defs_module, tmp_path, instance, monkeypatch
):
    import datetime as dt
    import subprocess

    from pipeline import warehouse
    from pipeline.defs import dbt as dbt_defs
    from pipeline.incremental import RebuildPlan

    monkeypatch.delenv(DBT_TARGET_ENV, raising=False)
    plan = RebuildPlan(
        full=False,
        reason="one new call month",
        fingerprint="f" * 16,
        rebuild_from={"doors": dt.date(2026, 9, 1)},
        links_rebuild_from={"doors": dt.date(2026, 8, 1)},
        calls_rebuild_from=dt.date(2026, 9, 1),
    )
    monkeypatch.setattr(warehouse, "rebuild_plan", lambda *args: plan)
    monkeypatch.setattr(dbt_defs, "rebuild_plan", lambda *args: plan)

    config, result = run(defs_module, tmp_path, instance, "marts")
    assert result.success
    [dagster_call] = CALLS

    commands, environments = [], []

    class StandInProcess:
        def __init__(self, command, env, **kwargs):
            commands.append(command)
            environments.append({name: env.get(name) for name in BOUNDARY_ENV.values()})
            (Path(env[BUILD_FOLDER_ENV]) / env[DBT_PATH_ENV]).write_text("cli")
            self.stdout = iter(["Done. PASS=1"])

        def wait(self):
            return 0

    monkeypatch.setattr(subprocess, "Popen", StandInProcess)
    warehouse.build_warehouse(config)
    [command] = commands
    project = str(warehouse.DBT_PROJECT_DIR)
    assert command[-4:] == ["--project-dir", project, "--profiles-dir", project]
    cli_args = command[1:-4]  # without the executable and where the project is
    assert dagster_call["args"] == cli_args == warehouse.build_args(config, plan, "duckdb")
    # The boundaries, in the environment (not --vars, so dbt can parse partially).
    assert dagster_call["boundaries"] == environments[0] == plan.dbt_env()
    assert json.loads(plan.dbt_env()["VORONKA_LINKS_REBUILD_FROM"]) == {"doors": "2026-08-01"}
    assert "--indirect-selection" in cli_args and "unit_test" in cli_args


def test_the_dbt_runner_skips_only_dagster_dbts_in_process_adapter():
    from dagster_dbt import DbtCliResource

    from pipeline.defs.dbt import VoronkaDbtCli, dbt_resource

    # The method it replaces must exist in the installed dagster-dbt, or the skip is a no-op.
    assert callable(getattr(DbtCliResource, "_initialize_dbt_core_adapter", None))
    resource = dbt_resource()
    assert isinstance(resource, VoronkaDbtCli)
    assert resource._initialize_dbt_core_adapter(["build"]) is None


def test_the_dbt_runner_knows_dbts_version_without_starting_dbt(monkeypatch):
    import re
    import subprocess

    from dagster_dbt.core import resource as dagster_dbt_resource

    from pipeline.defs.dbt import dbt_resource

    # What `dbt --version` says, asked the way dagster-dbt asks it (a separate count).
    said = subprocess.check_output([dbt_resource().dbt_executable, "--version"]).decode()
    expected = re.search(r"(\d+\.\d+\.\d+)", said).group(1)

    def no_child(*args, **kwargs):
        raise AssertionError(f"a child process was started: {args}")

    monkeypatch.setattr(dagster_dbt_resource, "check_output", no_child)
    # The property it replaces must exist in the installed dagster-dbt.
    assert "_cli_version" in vars(dagster_dbt_resource.DbtCliResource)
    assert str(dbt_resource()._cli_version) == expected


def test_dbts_output_is_read_while_dbt_writes_it():
    import subprocess
    import sys

    from pipeline.defs.dbt import DrainedPipe

    # Four times what a pipe holds (64 KiB on Linux): a child writing it blocks until read.
    lines, width = 4096, 63
    child = subprocess.Popen(
        [sys.executable, "-c", f"import sys\nfor i in range({lines}): print('x' * {width})"],
        stdout=subprocess.PIPE,
    )
    pipe = DrainedPipe(child.stdout)
    assert child.wait(timeout=60) == 0  # ended before anyone read a line
    assert not pipe.closed
    with pipe:
        read = list(pipe)
    assert len(read) == lines and {len(line) for line in read} == {width + 1}
    assert pipe.closed and list(pipe) == []


def test_a_sites_first_duckdb_build_starts_from_the_clis_parse_state(
    defs_module, tmp_path, monkeypatch
):
    """seeded_target_path: a site without a parse state of its own gets the CLI's; one it
    has is kept; Spark builds are not seeded."""
    from pipeline.defs.dbt import seeded_target_path
    from pipeline.warehouse import PARSE_STATE

    cli_target = tmp_path / "cli-target"
    cli_target.mkdir()
    (cli_target / PARSE_STATE).write_bytes(b"the CLI's")
    monkeypatch.setenv("DBT_TARGET_PATH", str(cli_target))
    config = copy_demo_config(tmp_path / "site")
    folder = seeded_target_path(config, "duckdb")
    assert (folder / PARSE_STATE).read_bytes() == b"the CLI's"
    (folder / PARSE_STATE).write_bytes(b"the site's")
    assert (seeded_target_path(config, "duckdb") / PARSE_STATE).read_bytes() == b"the site's"
    assert not (seeded_target_path(config, "spark") / PARSE_STATE).exists()


def test_a_run_without_a_new_crm_file_materializes_the_models_it_left_out_as_kept(
    defs_module, tmp_path, instance, monkeypatch
):
    import datetime as dt

    from pipeline.defs import dbt as dbt_defs
    from pipeline.incremental import CRM_AND_CONFIG_TAG, RebuildPlan

    monkeypatch.delenv(DBT_TARGET_ENV, raising=False)
    months = {"doors": dt.date(2026, 10, 1)}
    plan = RebuildPlan(False, "1 new file(s)", "f" * 16, months, months, months,
                       dt.date(2026, 9, 1), (), crm_unchanged=True)  # fmt: skip
    monkeypatch.setattr(dbt_defs, "rebuild_plan", lambda *args: plan)

    _, result = run(defs_module, tmp_path, instance, "marts")
    assert result.success
    [call] = CALLS
    at = call["args"].index("--exclude", call["args"].index("unit_test"))
    assert call["args"][at : at + 2] == ["--exclude", f"tag:{CRM_AND_CONFIG_TAG}"]
    # The stand-in dbt built nothing; the marts of CRM data alone are materialized as kept.
    kept = {
        event.asset_key.to_user_string(): event.materialization.metadata["build"].value
        for event in result.get_asset_materialization_events()
    }
    assert kept == {"marts/unmapped_stages": dbt_defs.LEFT_OUT}
