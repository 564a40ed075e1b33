"""The Dagster instance Voronka configures (pipeline/defs/instance.py): Dagster's SQLite
files under DAGSTER_HOME, written by the event log that keeps its connections
(pipeline/defs/event_log.py), readable by Dagster's own storage; a site's own storage
(Postgres) is left alone."""

from __future__ import annotations

import logging
import os
import shutil
import time

import dagster as dg
import yaml
from dagster._core.storage.event_log.sqlite.sqlite_event_log import SqliteEventLogStorage

from pipeline.defs.event_log import KeptEnginesSqliteEventLogStorage
from pipeline.defs.instance import instance_settings, write_instance_settings
from pipeline.defs.resources import VoronkaConfig
from pipeline.paths import REPO_ROOT

PARTITIONS = dg.StaticPartitionsDefinition(["a", "b", "c"])


@dg.asset(partitions_def=PARTITIONS)
def numbers() -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"rows": 3})


@dg.asset_check(asset=numbers)
def numbers_are_there() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _materialize_all(instance: dg.DagsterInstance) -> list[str]:
    run_ids = []
    for key in PARTITIONS.get_partition_keys():
        result = dg.materialize(
            [numbers], instance=instance, partition_key=key, selection=[numbers]
        )
        assert result.success
        run_ids.append(result.run_id)
    return run_ids


def _history(instance: dg.DagsterInstance, run_ids: list[str]) -> dict:
    key = dg.AssetKey("numbers")
    return {
        "materialized": sorted(instance.get_materialized_partitions(key)),
        "runs": sorted(record.dagster_run.run_id for record in instance.get_run_records()),
        "events": [len(instance.all_logs(run_id)) for run_id in run_ids],
        "latest_rows": instance.get_latest_materialization_event(key)
        .asset_materialization.metadata["rows"]
        .value,
    }


def test_runs_written_by_voronkas_event_log_read_back_with_dagsters_own(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home), overrides=instance_settings(home)) as instance:
        storage = instance.event_log_storage
        assert isinstance(storage, KeptEnginesSqliteEventLogStorage)
        run_ids = _materialize_all(instance)
        ours = _history(instance, run_ids)
        # one kept engine per file: the index and the files of the runs
        assert set(storage._engines) <= {"index", *run_ids}
        with storage.index_connection() as conn:
            assert conn.exec_driver_sql("PRAGMA synchronous").scalar() == 1  # NORMAL
            assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
    assert ours["materialized"] == ["a", "b", "c"]
    assert ours["latest_rows"] == 3
    assert len(ours["runs"]) == 3 and all(count > 5 for count in ours["events"])

    # The same files through Dagster's default storage (no storage settings).
    with dg.instance_for_test(temp_dir=str(home), overrides={}) as instance:
        assert type(instance.event_log_storage) is SqliteEventLogStorage
        assert _history(instance, run_ids) == ours


def test_a_run_goes_on_in_history_that_dagsters_storage_started(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home), overrides={}) as instance:
        first = _materialize_all(instance)
    with dg.instance_for_test(temp_dir=str(home), overrides=instance_settings(home)) as instance:
        second = _materialize_all(instance)
        history = _history(instance, first + second)
    assert len(history["runs"]) == 6
    assert history["events"][:3] == history["events"][3:]


def test_write_instance_settings_adds_the_storage_to_a_new_home(tmp_path):
    path = write_instance_settings(tmp_path)
    settings = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert settings["storage"]["custom"] == {
        "module": "pipeline.defs.event_log",
        "class": "VoronkaSqliteStorage",
        "config": {"base_dir": str(tmp_path.resolve())},
    }
    write_instance_settings(tmp_path)  # again: unchanged
    assert yaml.safe_load(path.read_text(encoding="utf-8")) == settings
    # The home moved: the next write points the storage at its new place.
    moved = tmp_path.parent / f"{tmp_path.name}-moved"
    tmp_path.rename(moved)
    settings = yaml.safe_load(write_instance_settings(moved).read_text(encoding="utf-8"))
    assert settings["storage"]["custom"]["config"]["base_dir"] == str(moved.resolve())
    # Dagster itself opens the home by its folder alone (no DAGSTER_HOME set).
    with dg.DagsterInstance.from_config(str(moved)) as instance:
        assert isinstance(instance.event_log_storage, KeptEnginesSqliteEventLogStorage)


def test_write_instance_settings_keeps_a_sites_own_storage(tmp_path):
    postgres = {"postgres": {"postgres_db": {"hostname": "db", "db_name": "dagster"}}}
    own = {"storage": postgres, "concurrency": {"runs": {"max_concurrent_runs": 10}}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(own), encoding="utf-8")
    settings = yaml.safe_load(write_instance_settings(tmp_path).read_text(encoding="utf-8"))
    assert settings["storage"] == postgres
    assert settings["concurrency"]["runs"] == {"max_concurrent_runs": 10}
    assert settings["concurrency"]["pools"] == {"default_limit": 1, "granularity": "op"}

    legacy = {"event_log_storage": {"module": "m", "class": "C", "config": {}}}
    (tmp_path / "dagster.yaml").write_text(yaml.safe_dump(legacy), encoding="utf-8")
    settings = yaml.safe_load(write_instance_settings(tmp_path).read_text(encoding="utf-8"))
    assert "storage" not in settings
    assert settings["event_log_storage"] == legacy["event_log_storage"]


def _entry(run_id: str, message: str):
    from dagster._core.events.log import EventLogEntry

    return EventLogEntry(
        error_info=None,
        level=logging.INFO,
        user_message=message,
        run_id=run_id,
        timestamp=time.time(),
        step_key=None,
        job_name="job",
        dagster_event=None,
    )


def test_a_watcher_sees_the_events_of_a_run_still_writing(tmp_path):
    """The UI's live log of a run: another process (here another storage object) keeps its
    connection open while it writes, so only the write-ahead log changes; the watcher
    hears of every event all the same."""
    base_dir = str(tmp_path / "runs")
    writer = KeptEnginesSqliteEventLogStorage(base_dir)
    reader = KeptEnginesSqliteEventLogStorage(base_dir)
    writer.store_event(_entry("run-1", "first"))  # creates the run's file
    seen: list[str] = []
    reader.watch("run-1", None, lambda entry, _cursor: seen.append(entry.user_message))
    try:
        for message in ("second", "third", "fourth"):
            writer.store_event(_entry("run-1", message))
        deadline = time.monotonic() + 15
        while "fourth" not in seen and time.monotonic() < deadline:
            time.sleep(0.05)
        assert seen[-3:] == ["second", "third", "fourth"]
    finally:
        reader.dispose()
        writer.dispose()


def test_the_config_resource_reads_an_edited_file_again(tmp_path):
    """VoronkaConfig.load reads voronka.yaml once per version of the file: the same file
    twice is one read, and an edit (same size too) is read again."""
    path = tmp_path / "voronka.yaml"
    shutil.copy(REPO_ROOT / "voronka.yaml", path)
    resource = VoronkaConfig(config_path=str(path))
    first = resource.load()
    assert resource.load() is first
    assert first.currency == "RUB"

    text = path.read_text(encoding="utf-8")
    path.write_text(text.replace("currency: RUB", "currency: USD", 1), encoding="utf-8")
    stat = os.stat(path)
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert resource.load().currency == "USD"
