"""The Dagster wiring: definitions load from $VORONKA_CONFIG with the executor
$VORONKA_DAGSTER_EXECUTOR chooses; the reports and landing tables share the one monthly
partitions definition, the dbt assets are not partitioned; the schedule ticks in the
configured zone (DST months included) and reports the month just ended; the inbox sensor
skips seen and growing files.
(The graph materializing a month end to end: test_dagster_monthly.py.)"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import yaml

from pipeline.paths import REPO_ROOT
from pipeline.prepare import MANIFEST, prepare_dbt_manifest

JOBS = ("monthly_funnel_report", "inbox_refresh", "report_refresh")
SCHEDULE = "monthly_funnel_report_schedule"


@pytest.fixture(scope="module")
def definitions_module():
    prepare_dbt_manifest()  # the manifest must exist before the Dagster module is imported
    import pipeline.defs as defs

    return defs


@pytest.fixture(scope="module")
def demo_defs(definitions_module):
    return definitions_module.build_definitions(REPO_ROOT / "voronka.yaml")


def test_the_manifest_dbt_parsed_elsewhere_is_where_the_code_location_reads_it(
    definitions_module,
):
    """The suite's dbt writes DBT_TARGET_PATH (tests/conftest.py); Dagster's DbtProject
    reads dbt_project/target/manifest.json, which prepare_dbt_manifest replaces whole."""
    parsed = Path(os.environ["DBT_TARGET_PATH"]) / "manifest.json"
    assert parsed.parent != MANIFEST.parent
    assert MANIFEST.read_bytes() == parsed.read_bytes()
    from pipeline.defs.dbt import dbt_project

    assert dbt_project.manifest_path == MANIFEST


def config_file(folder: Path, **changes) -> Path:
    """The demo config with top-level keys replaced, its data folder inside `folder`."""
    data = yaml.safe_load((REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8"))
    data.update(changes)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "voronka.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def ticks(schedule, after: dt.datetime, count: int) -> list[dt.datetime]:
    from dagster._utils.schedules import cron_string_iterator

    times = cron_string_iterator(
        after.timestamp(), schedule.cron_schedule, schedule.execution_timezone
    )
    return [next(times) for _ in range(count)]


def partition_for_tick(schedule, tick: dt.datetime) -> str:
    import dagster as dg

    result = schedule.evaluate_tick(dg.build_schedule_context(scheduled_execution_time=tick))
    (request,) = result.run_requests
    return request.partition_key


def test_definitions_load_with_groups_by_layer(demo_defs):
    graph = demo_defs.resolve_asset_graph()
    groups = {graph.get(key).group_name for key in graph.get_all_asset_keys()}
    assert {"ingest", "config", "staging", "intermediate", "marts", "reports"} <= groups
    for job in JOBS:
        assert demo_defs.resolve_job_def(job).partitions_def is not None
    assert demo_defs.resolve_schedule_def(SCHEDULE) is not None
    for sensor in ("inbox_sensor", "amended_reports_sensor", "failure_record_sensor"):
        assert demo_defs.resolve_sensor_def(sensor) is not None


def test_the_monthly_assets_share_the_one_partitions_and_the_warehouse_is_not_partitioned(
    demo_defs,
):
    """Per-month status means something: the reports (and the landing tables, with their
    month's coverage check) are monthly; dbt and the config tables build the whole
    warehouse whatever the month, so they are not partitioned."""
    from pipeline.config import load_config
    from pipeline.defs.partitions import monthly_partitions

    the_one = monthly_partitions(load_config(REPO_ROOT / "voronka.yaml"))
    graph = demo_defs.resolve_asset_graph()
    monthly = demo_defs.resolve_job_def("monthly_funnel_report")
    keys = monthly.asset_layer.selected_asset_keys
    by_layer: dict[str, set] = {}
    for key in keys:
        by_layer.setdefault(graph.get(key).group_name, set()).add(graph.get(key).partitions_def)
    assert by_layer["reports"] == {the_one}
    assert by_layer["ingest"] == {the_one}
    for layer in ("config", "staging", "intermediate", "marts"):
        assert by_layer[layer] == {None}, layer
    for job in JOBS:
        assert demo_defs.resolve_job_def(job).partitions_def == the_one
    assert the_one.timezone == "Europe/Moscow"


def test_no_dbt_model_reads_a_month_window():
    # A partitioned dbt asset would need its models to read the window; none does.
    from pipeline.paths import DBT_PROJECT_DIR

    sql = [p.read_text(encoding="utf-8") for p in (DBT_PROJECT_DIR / "models").rglob("*.sql")]
    assert not [text for text in sql if "report_month" in text or "report_window" in text]


def test_the_executor_is_in_process_by_default_and_multiprocess_when_set(definitions_module):
    default = definitions_module.definitions_from_environment({})
    chosen = definitions_module.definitions_from_environment(
        {"VORONKA_DAGSTER_EXECUTOR": "multiprocess"}
    )
    for job in JOBS:
        assert default.resolve_job_def(job).executor_def.name == "in_process"
        # Dagster's default executor: a process per step
        assert chosen.resolve_job_def(job).executor_def.name == "multi_or_in_process_executor"
    with pytest.raises(ValueError, match="in_process, multiprocess"):
        definitions_module.definitions_from_environment({"VORONKA_DAGSTER_EXECUTOR": "k8s"})


def test_the_config_comes_from_voronka_config(definitions_module, tmp_path, monkeypatch):
    path = config_file(tmp_path, timezone="Europe/Berlin")
    chosen = definitions_module.definitions_from_environment({"VORONKA_CONFIG": str(path)})
    assert chosen.resolve_job_def(JOBS[0]).partitions_def.timezone == "Europe/Berlin"
    monkeypatch.chdir(REPO_ROOT)  # the default: ./voronka.yaml (the demo, as `make ui` opens)
    default = definitions_module.definitions_from_environment({})
    assert default.resolve_job_def(JOBS[0]).partitions_def.timezone == "Europe/Moscow"


def test_every_writer_asset_is_in_the_one_writer_pool(demo_defs):
    graph = demo_defs.resolve_asset_graph()
    pools = {}
    for key in graph.get_all_asset_keys():
        node = graph.get(key)
        if node.is_materializable:
            pools[tuple(key.path)] = node.assets_def.node_def.pools
    assert pools[("landing", "calls")] == {"voronka_writer"}
    assert pools[("landing", "config_funnels")] == {"voronka_writer"}
    assert pools[("marts", "funnel_stage_monthly")] == {"voronka_writer"}
    assert pools[("reports", "monthly_pdf")] == set()  # a read-only reader


def test_ingest_loads_files_in_steps_of_their_own_and_only_its_finish_step_writes(demo_defs):
    import dagster as dg

    ingest = demo_defs.resolve_asset_graph().get(dg.AssetKey(["landing", "files"])).assets_def
    ops = {node.name: node.definition for node in ingest.node_def.nodes}
    assert ingest.node_def.name == "ingest_inbox"
    assert {name: op.pool for name, op in ops.items()} == {
        "plan_inbox": None,
        "load_inbox_files": None,  # side by side, in processes of their own
        "finish_inbox": "voronka_writer",
    }
    assert ops["plan_inbox"].output_dict["files"].is_dynamic
    from pipeline.schemas import LANDING_TABLES

    assert {tuple(key.path) for key in ingest.keys} == {("landing", t) for t in LANDING_TABLES}
    assert ingest.backfill_policy == dg.BackfillPolicy.single_run()


def test_the_schedule_reports_the_month_just_ended_in_the_configured_zone(demo_defs):
    schedule = demo_defs.resolve_schedule_def(SCHEDULE)
    assert (schedule.cron_schedule, schedule.execution_timezone) == ("0 6 2 * *", "Europe/Moscow")
    moscow = ZoneInfo("Europe/Moscow")
    (tick,) = ticks(schedule, dt.datetime(2026, 10, 15, tzinfo=moscow), 1)
    assert tick == dt.datetime(2026, 11, 2, 6, tzinfo=moscow)
    assert tick.astimezone(dt.UTC) == dt.datetime(2026, 11, 2, 3, tzinfo=dt.UTC)
    assert partition_for_tick(schedule, tick) == "2026-10-01"


def test_the_schedule_in_a_dst_month_in_berlin(definitions_module, tmp_path):
    defs = definitions_module.build_definitions(config_file(tmp_path, timezone="Europe/Berlin"))
    schedule = defs.resolve_schedule_def(SCHEDULE)
    berlin = ZoneInfo("Europe/Berlin")
    march, april = ticks(schedule, dt.datetime(2026, 2, 15, tzinfo=berlin), 2)
    # 06:00 local on both sides of the change to summer time (2026-03-29): 05:00 vs 04:00 UTC.
    assert march.astimezone(dt.UTC) == dt.datetime(2026, 3, 2, 5, tzinfo=dt.UTC)
    assert april.astimezone(dt.UTC) == dt.datetime(2026, 4, 2, 4, tzinfo=dt.UTC)
    assert partition_for_tick(schedule, march) == "2026-02-01"
    assert partition_for_tick(schedule, april) == "2026-03-01"
    window = defs.resolve_job_def(JOBS[0]).partitions_def.time_window_for_partition_key(
        "2026-03-01"
    )
    # (same-zone datetime subtraction is wall-clock; the instants differ by 743 hours)
    assert window.end.astimezone(dt.UTC) - window.start.astimezone(dt.UTC) == dt.timedelta(
        hours=743
    )


def test_the_definitions_are_built_again_only_when_the_config_changes(definitions_module, tmp_path):
    """`dagster job execute` loads the code location five times for one run: the same
    file gives the same definitions; the file rewritten gives its new schedule."""
    path = config_file(tmp_path, timezone="Europe/Berlin")
    first = definitions_module.build_definitions(path)
    assert definitions_module.build_definitions(str(path)) is first
    assert definitions_module.build_definitions(path, executor="multiprocess") is not first

    config_file(tmp_path, timezone="Asia/Tokyo", schedule={"day": 3, "hour": 7})
    rebuilt = definitions_module.build_definitions(path)
    assert rebuilt is not first
    (tick,) = ticks(
        rebuilt.resolve_schedule_def(SCHEDULE), dt.datetime(2026, 10, 15, tzinfo=dt.UTC), 1
    )
    assert tick == dt.datetime(2026, 11, 3, 7, tzinfo=ZoneInfo("Asia/Tokyo"))


def test_a_tick_that_falls_into_the_dst_gap_runs_once_an_hour_later(definitions_module, tmp_path):
    path = config_file(tmp_path, timezone="Europe/Berlin", schedule={"day": 28, "hour": 2})
    schedule = definitions_module.build_definitions(path).resolve_schedule_def(SCHEDULE)
    berlin = ZoneInfo("Europe/Berlin")
    february, march, april = ticks(schedule, dt.datetime(2027, 2, 1, tzinfo=berlin), 3)
    # 2027-03-28 02:00 does not exist in Berlin: the tick comes at 03:00 CEST, once.
    assert march == dt.datetime(2027, 3, 28, 3, tzinfo=berlin)
    assert (february.month, april.month) == (2, 4)
    assert partition_for_tick(schedule, march) == "2027-02-01"


def test_the_inbox_sensor_starts_ingest_for_a_stable_new_file_once(
    definitions_module, tmp_path, monkeypatch
):
    import dagster as dg

    from pipeline.config import load_config
    from pipeline.ingest import fingerprints, plan_ingest

    site_config = config_file(tmp_path / "site")
    defs = definitions_module.build_definitions(site_config)
    sensor = defs.resolve_sensor_def("inbox_sensor")
    inbox = tmp_path / "site" / "data" / "inbox"
    (inbox / "pbx").mkdir(parents=True)
    export = inbox / "pbx" / "Master.csv"
    export.write_bytes(b"calldate,src,dst\n")
    cursor = None

    def tick():
        nonlocal cursor
        context = dg.build_sensor_context(cursor=cursor, definitions=defs)
        result = sensor.evaluate_tick(context)
        cursor = result.cursor
        return result.run_requests

    assert tick() == []  # first sight: not known to be stable yet
    (request,) = tick()
    assert request.run_key == hashlib.sha256(export.read_bytes()).hexdigest()
    assert (
        request.partition_key
        == defs.resolve_job_def("inbox_refresh").partitions_def.get_last_partition_key()
    )
    with monkeypatch.context() as patched:  # neither the next tick nor the run hashes it again
        patched.setattr(fingerprints.fastcsv, "fingerprint", _not_hashed_again)
        assert tick() == []  # seen
        [planned] = plan_ingest(load_config(site_config), settle_seconds=0).items
    assert planned.file_id == request.run_key

    growing = inbox / "pbx" / "Master-2.csv"
    growing.write_bytes(b"calldate,src,dst\n1")
    assert tick() == []
    with growing.open("ab") as handle:
        handle.write(b",2,3\n")  # still being written
    assert tick() == []
    uploading = inbox / "pbx" / "Master-3.csv.part"
    uploading.write_bytes(b"calldate")
    (request,) = tick()  # the grown file settled; the .part file is never read
    assert request.run_key == hashlib.sha256(growing.read_bytes()).hexdigest()
    assert tick() == []


def _not_hashed_again(path):
    raise AssertionError(f"{path} hashed again")
