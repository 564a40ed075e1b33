"""Ingest as Dagster steps: a plan step, load steps (one for every new inbox file under the
default in-process executor, one per file under any other), and one finish step (the only
writer) after them. The phases land exactly what `ingest_inbox` lands; a second run loads
nothing; identical new files are read once; a file that fails does not stop the others,
and the finish step records every file before failing the run.

Only the landing assets are materialized (no dbt build), in process (`execute_in_process`
runs the steps of either executor's job in this process; one real run, through
`execute_job`, chooses the multiprocess executor's in-process mode in its run config).
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import polars as pl
import pytest

from pipeline import io
from pipeline.config import Config
from pipeline.ingest import (
    IngestError,
    finish_ingest,
    ingest_inbox,
    load_file,
    plan_ingest,
)
from pipeline.prepare import prepare_dbt_manifest
from pipeline.schemas import LANDING_TABLES
from tests.helpers import copy_demo_config
from tests.unit._fixtures_ingest import DEALS_HEADER, deals_csv, make_config, put

PARTITION = "2026-10-01"
LOAD_STEP = "ingest_inbox.load_inbox_files"
EXECUTORS = ("in_process", "multiprocess")
FINISH_STEP = "ingest_inbox.finish_inbox"
DEAL_1_ROW = "1;P;A;Смирнова А.;100;01.03.2025 10:00;89161234567;Москва"


# --- helpers ---------------------------------------------------------------------------


def ledger_rows(config: Config) -> list[dict]:
    """The ledger without its clock column, in order."""
    return io.read_ledger(config.landing_dir).drop("received_at").to_dicts()


def landed(config: Config) -> dict[str, list[str]]:
    """Every landing table's rows (any part layout), as sorted JSON lines."""
    tables = {}
    for table in LANDING_TABLES:
        if table == "files":
            continue
        parts = sorted((config.landing_dir / table).rglob("part-*.parquet"))
        rows = [row for part in parts for row in pl.read_parquet(part).to_dicts()]
        tables[table] = sorted(json.dumps(row, default=str, sort_keys=True) for row in rows)
    return tables


def no_staging_left(config: Config) -> bool:
    staging = config.landing_dir / ".staging"
    return not staging.exists() or not any(staging.rglob("*"))


def demo_site(root: Path, inbox: Path) -> Config:
    config = copy_demo_config(root)
    shutil.copytree(inbox, config.inbox_dir, copy_function=shutil.copy2)  # same bytes, mtimes
    return config


def run_landing(
    config: Config, instance, raise_on_error: bool = True, executor: str = "in_process"
):
    """The inbox job, landing assets and their checks only (what the inbox sensor's run
    starts with; the source-coverage check is not part of that job), as the definitions for
    `executor` build it."""
    from pipeline.defs import build_definitions
    from pipeline.defs.schedules import SOURCE_COVERAGE_CHECK

    defs = build_definitions(config.base_dir / "voronka.yaml", executor=executor)
    graph = defs.resolve_asset_graph()
    selection = {
        key
        for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and graph.get(key).group_name == "ingest"
    }
    checks = {check for key in selection for check in graph.get(key).check_keys} - {
        SOURCE_COVERAGE_CHECK
    }
    job = defs.resolve_job_def("inbox_refresh").get_subset(
        asset_selection=selection, asset_check_selection=checks
    )
    return job.execute_in_process(
        partition_key=PARTITION, instance=instance, raise_on_error=raise_on_error
    )


def steps(result, event_type: str) -> list[str]:
    return [e.step_key for e in result.all_events if e.event_type_value == event_type]


def files_metadata(result) -> dict:
    import dagster as dg

    [event] = [
        e
        for e in result.all_events
        if e.event_type_value == "ASSET_MATERIALIZATION"
        and e.event_specific_data.materialization.asset_key == dg.AssetKey(["landing", "files"])
    ]
    return {k: v.value for k, v in event.event_specific_data.materialization.metadata.items()}


# --- fixtures --------------------------------------------------------------------------


@pytest.fixture(scope="module")
def demo_inbox(tmp_path_factory) -> Path:
    from pipeline.demo import write_demo_exports

    base = tmp_path_factory.mktemp("ingest_steps")
    write_demo_exports(base / "inbox", base / "expected")
    return base / "inbox"


@pytest.fixture(scope="module")
def reference(tmp_path_factory, demo_inbox) -> Config:
    """The demo inbox through `ingest_inbox`, in one process: what every other way must land."""
    config = demo_site(tmp_path_factory.mktemp("reference"), demo_inbox)
    ingest_inbox(config, settle_seconds=0)
    return config


@pytest.fixture(scope="module")
def instance(tmp_path_factory):
    import dagster as dg

    from pipeline.defs.instance import instance_settings

    prepare_dbt_manifest()  # before pipeline.defs is imported
    home = tmp_path_factory.mktemp("dagster_home")
    with dg.instance_for_test(temp_dir=str(home), overrides=instance_settings(home)) as inst:
        yield inst


# --- the phases ------------------------------------------------------------------------


def test_the_phases_land_what_ingest_inbox_lands(tmp_path, demo_inbox, reference):
    config = demo_site(tmp_path / "phases", demo_inbox)
    plan = plan_ingest(config, settle_seconds=0)
    assert not (config.landing_dir).exists()  # planning writes nothing
    # Loads in any order and in other "processes" (attempts); the finish restores the order.
    results = [load_file(config, p, attempt=f"step{i}") for i, p in enumerate(plan.to_load)]
    summary = finish_ingest(config, plan, list(reversed(results)))

    assert ledger_rows(config) == ledger_rows(reference)
    assert landed(config) == landed(reference)
    assert [f.status for f in summary.files] == [r["status"] for r in ledger_rows(reference)]
    assert no_staging_left(config)


def test_the_streamed_path_stages_and_lands_the_same_rows(tmp_path, demo_inbox, reference):
    config = demo_site(tmp_path / "streamed", demo_inbox)
    plan = plan_ingest(config, settle_seconds=0, stream_min_bytes=0)
    assert any(p.streamed for p in plan.to_load)
    results = [load_file(config, p, memory_budget_mb=0) for p in plan.to_load]
    finish_ingest(config, plan, results)
    assert landed(config) == landed(reference)
    assert no_staging_left(config)


def test_a_crash_between_phases_is_repaired_by_the_next_run(tmp_path, demo_inbox, reference):
    config = demo_site(tmp_path / "crash", demo_inbox)
    plan = plan_ingest(config, settle_seconds=0)
    for planned in plan.to_load:
        load_file(config, planned)  # staged; then the process dies before finishing
    assert io.read_ledger(config.landing_dir).height == 0
    ingest_inbox(config, settle_seconds=0)
    assert ledger_rows(config) == ledger_rows(reference)
    assert landed(config) == landed(reference)
    assert no_staging_left(config)


def test_a_file_recorded_by_another_run_since_the_plan_is_left_alone(tmp_path, demo_inbox):
    config = demo_site(tmp_path / "race", demo_inbox)
    plans = [plan_ingest(config, settle_seconds=0) for _ in range(2)]  # two runs, same inbox
    loads = [
        [load_file(config, p, attempt=f"run{n}") for p in plan.to_load]
        for n, plan in enumerate(plans)
    ]
    first = finish_ingest(config, plans[0], loads[0])
    before = (ledger_rows(config), landed(config))
    second = finish_ingest(config, plans[1], loads[1])
    assert second.files == []  # every file already recorded by the first run
    assert (ledger_rows(config), landed(config)) == before
    assert len(first.files) == len(plans[0].items)
    assert no_staging_left(config)


def test_two_identical_new_files_are_read_once_one_loaded_one_duplicate(tmp_path):
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1_ROW))
    put(config, "crm/deals_2025-03-01_copy.csv", deals_csv(DEAL_1_ROW))
    plan = plan_ingest(config, settle_seconds=0)
    [to_load] = plan.to_load
    assert to_load.path == "crm/deals_2025-03-01.csv"
    assert plan.items[1].copy_of == "crm/deals_2025-03-01.csv"
    summary = finish_ingest(config, plan, [load_file(config, to_load)])
    assert [(f.path, f.status) for f in summary.files] == [
        ("crm/deals_2025-03-01.csv", "loaded"),
        ("crm/deals_2025-03-01_copy.csv", "duplicate"),
    ]
    assert "same bytes as crm/deals_2025-03-01.csv" in summary.files[1].message


def test_an_identical_copy_of_a_failed_file_fails_with_it(tmp_path):
    config = make_config(tmp_path)
    bad = deals_csv(DEAL_1_ROW, header=DEALS_HEADER.replace("Этап", "Стадия"))
    put(config, "crm/deals_a.csv", bad)
    put(config, "crm/deals_b.csv", bad)
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0)
    assert [(f.path, f.status) for f in error.value.summary.files] == [
        ("crm/deals_a.csv", "failed"),
        ("crm/deals_b.csv", "failed"),
    ]
    assert "same bytes as crm/deals_a.csv" in error.value.summary.files[1].message


def test_a_file_changed_after_the_plan_is_left_for_a_later_run(tmp_path):
    config = make_config(tmp_path)
    path = put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1_ROW))
    plan = plan_ingest(config, settle_seconds=0)
    path.write_bytes(path.read_bytes() + "2;P;A;x;1;02.03.2025 11:30;;Тула\r\n".encode())
    [result] = [load_file(config, p) for p in plan.to_load]
    assert result.status == "incomplete"
    summary = finish_ingest(config, plan, [result])
    assert summary.by_status("incomplete") and io.read_ledger(config.landing_dir).height == 0
    [again] = ingest_inbox(config, settle_seconds=0).files
    assert (again.status, again.rows_total) == ("loaded", 2)


def test_a_loaded_file_whose_staged_parts_are_gone_is_failed_not_lost(tmp_path):
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1_ROW))
    plan = plan_ingest(config, settle_seconds=0)
    [result] = [load_file(config, p) for p in plan.to_load]
    shutil.rmtree(config.landing_dir / result.staged)
    with pytest.raises(IngestError, match="staged parts are gone"):
        finish_ingest(config, plan, [result])
    [again] = ingest_inbox(config, settle_seconds=0).files  # `failed` is read again
    assert again.status == "loaded"


# --- the Dagster steps -----------------------------------------------------------------


@pytest.mark.parametrize("executor", EXECUTORS)
def test_the_job_lands_what_ingest_inbox_lands_in_a_load_step_per_file_or_one_for_all(
    tmp_path, demo_inbox, reference, instance, executor
):
    config = demo_site(tmp_path / "dagster", demo_inbox)
    expected_loads = {p.file_id for p in plan_ingest(config, settle_seconds=0).to_load}
    assert len(expected_loads) == 6  # 7 demo files, one an identical copy

    result = run_landing(config, instance, executor=executor)
    loads = [key for key in steps(result, "STEP_SUCCESS") if key.startswith(LOAD_STEP)]
    if executor == "in_process":  # steps one after another: one step loads every file
        assert loads == [f"{LOAD_STEP}[all]"]
    else:
        assert sorted(loads) == sorted(f"{LOAD_STEP}[{file_id}]" for file_id in expected_loads)
    assert FINISH_STEP in steps(result, "STEP_SUCCESS")
    assert ledger_rows(config) == ledger_rows(reference)
    assert landed(config) == landed(reference)
    assert no_staging_left(config)
    reference_ledger = io.read_ledger(reference.landing_dir)
    assert files_metadata(result) == {
        "files": 7,
        "rows_total": reference_ledger["rows_total"].sum(),
        "rows_accepted": reference_ledger["rows_accepted"].sum(),
        "rows_rejected": reference_ledger["rows_rejected"].sum(),
    }

    again = run_landing(config, instance, executor=executor)
    assert not [key for key in steps(again, "STEP_START") if key.startswith(LOAD_STEP)]
    assert files_metadata(again)["files"] == 0
    assert ledger_rows(config) == ledger_rows(reference)
    assert landed(config) == landed(reference)


@pytest.mark.parametrize(
    ("executor", "execution", "together"),
    [
        ("in_process", None, True),
        ("in_process", {"config": {"retries": {"enabled": {}}}}, True),
        ("multiprocess", None, False),
        ("multiprocess", {"config": {"multiprocess": {"max_concurrent": 2}}}, False),
        ("multiprocess", {"config": {"in_process": {}}}, True),
        ("other", {"config": {"in_process": {}}}, False),  # e.g. Docker, Kubernetes
    ],
)
def test_one_step_loads_every_file_when_the_runs_steps_run_one_after_another(
    executor, execution, together
):
    import dagster as dg

    from pipeline.defs import EXECUTORS as NAMED
    from pipeline.defs.ingest import loads_together

    @dg.executor(name="other")
    def other(_):
        raise NotImplementedError

    run_config = {} if execution is None else {"execution": execution}
    assert loads_together(NAMED.get(executor, other), run_config) is together


def multiprocess_inbox_job():
    """The inbox job of the code location as deployed with the multiprocess executor
    ($VORONKA_CONFIG, $VORONKA_DAGSTER_EXECUTOR): a target for dg.reconstructable."""
    from pipeline.defs import definitions_from_environment

    return definitions_from_environment().resolve_job_def("inbox_refresh")


def test_a_run_that_chooses_in_process_under_the_multiprocess_executor_loads_in_one_step(
    tmp_path, demo_inbox, reference, instance, monkeypatch
):
    """The run config's `execution: config: in_process:` runs the steps one after another
    in the run's process (a real run, not execute_in_process, which ignores executor
    config): one load step for every file, as under the in-process executor."""
    import dagster as dg

    from pipeline.defs import EXECUTOR_ENV
    from pipeline.paths import CONFIG_ENV

    config = demo_site(tmp_path / "chosen_in_process", demo_inbox)
    monkeypatch.setenv(CONFIG_ENV, str(config.base_dir / "voronka.yaml"))
    monkeypatch.setenv(EXECUTOR_ENV, "multiprocess")
    ingest = [
        key for key in multiprocess_inbox_job().asset_layer.asset_graph.get_all_asset_keys()
        if key.path[0] == "landing"
    ]  # fmt: skip
    result = dg.execute_job(
        dg.reconstructable(multiprocess_inbox_job),
        instance,
        run_config={"execution": {"config": {"in_process": {}}}},
        tags={"dagster/partition": PARTITION},
        asset_selection=ingest,
        raise_on_error=True,
    )
    events = result.all_events
    loads = [e.step_key for e in events if e.event_type_value == "STEP_SUCCESS"
             and e.step_key.startswith(LOAD_STEP)]  # fmt: skip
    assert loads == [f"{LOAD_STEP}[all]"]
    assert {e.pid for e in events if e.step_key} == {os.getpid()}  # no process per step
    assert ledger_rows(config) == ledger_rows(reference)
    assert landed(config) == landed(reference)


def test_the_in_process_jobs_load_step_loads_large_files_side_by_side(
    tmp_path, demo_inbox, reference, instance, monkeypatch
):
    """As `voronka ingest` does (load_files): here every file counts as large, on two CPUs."""
    from pipeline.ingest import load as load_module

    pools = []
    load_pool = load_module.load_pool

    def recorded_pool(processes: int):
        pools.append(processes)
        return load_pool(processes)

    monkeypatch.setattr(load_module, "PARALLEL_MIN_BYTES", 0)
    monkeypatch.setattr(load_module, "available_cpus", lambda: 2)
    monkeypatch.setattr(load_module, "load_pool", recorded_pool)
    config = demo_site(tmp_path / "side_by_side", demo_inbox)
    result = run_landing(config, instance)
    assert [k for k in steps(result, "STEP_SUCCESS") if k.startswith(LOAD_STEP)] == [
        f"{LOAD_STEP}[all]"
    ]
    assert pools == [2]
    assert ledger_rows(config) == ledger_rows(reference)
    assert landed(config) == landed(reference)
    assert no_staging_left(config)


def test_identical_new_files_get_one_load_step(tmp_path, instance):
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1_ROW))
    put(config, "crm/deals_2025-03-01_copy.csv", deals_csv(DEAL_1_ROW))
    result = run_landing(config, instance, executor="multiprocess")  # a step per file
    assert len([k for k in steps(result, "STEP_SUCCESS") if k.startswith(LOAD_STEP)]) == 1
    statuses = dict(zip(*io.read_ledger(config.landing_dir)[["path", "status"]], strict=True))
    assert statuses == {
        "crm/deals_2025-03-01.csv": "loaded",
        "crm/deals_2025-03-01_copy.csv": "duplicate",
    }


@pytest.mark.parametrize(("executor", "load_steps"), [("in_process", 1), ("multiprocess", 3)])
def test_a_failing_file_does_not_stop_the_others_and_the_finish_records_all_then_fails(
    tmp_path, instance, monkeypatch, executor, load_steps
):
    import pipeline.ingest.read

    config = make_config(tmp_path)
    put(config, "crm/deals_a.csv", deals_csv(DEAL_1_ROW, header=DEALS_HEADER.replace("Этап", "X")))
    put(config, "crm/deals_b.csv", deals_csv(DEAL_1_ROW))
    put(config, "crm/deals_c.csv", deals_csv(DEAL_1_ROW.replace("1;", "3;", 1)))
    read_batches = pipeline.ingest.read.read_batches

    def crash_on_c(export, source):  # an unexpected error, not a SourceError
        if export.name.endswith("deals_c.csv"):
            raise RuntimeError("boom")
        return read_batches(export, source)

    monkeypatch.setattr(pipeline.ingest.read, "read_batches", crash_on_c)  # in process
    result = run_landing(config, instance, raise_on_error=False, executor=executor)

    assert not result.success
    loads = [k for k in steps(result, "STEP_SUCCESS") if k.startswith(LOAD_STEP)]
    assert len(loads) == load_steps  # every load step ran to the end
    assert steps(result, "STEP_FAILURE") == [FINISH_STEP]
    [failure] = [e for e in result.all_events if e.event_type_value == "STEP_FAILURE"]
    error = failure.event_specific_data.error
    message = error.cause.message if error.cause else error.message  # the IngestError
    assert message.startswith("pipeline.ingest.results.IngestError: ingest failed")
    assert "crm/deals_a.csv: failed" in message and "'Этап' (stage) not found" in message
    assert "crm/deals_c.csv: failed" in message and "RuntimeError: boom" in message
    statuses = dict(zip(*io.read_ledger(config.landing_dir)[["path", "status"]], strict=True))
    assert statuses == {
        "crm/deals_a.csv": "failed",
        "crm/deals_b.csv": "loaded",
        "crm/deals_c.csv": "failed",
    }
    deals = io.read_ledger(config.landing_dir).filter(pl.col("status") == "loaded")
    assert landed(config)["crm_deals"] and deals.height == 1
    assert no_staging_left(config)
