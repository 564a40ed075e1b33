"""The Dagster instance settings Voronka needs: one writer at a time (pool limit 1), and
Dagster's SQLite storage with an event log that keeps its connections.

`python -m pipeline.defs.instance DAGSTER_HOME` writes (or updates) DAGSTER_HOME/dagster.yaml;
`make ui` runs it before `dagster dev`. Tests pass instance_settings(home) to
instance_for_test.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

# Every pool defaults to one slot; Voronka's only pool is the DuckDB writer
# (`voronka_writer`, pipeline/defs/ingest.py). Op
# granularity: a second run starts, and its writer steps wait for the first run's.
INSTANCE_SETTINGS = {
    "concurrency": {"pools": {"default_limit": 1, "granularity": "op"}},
    "telemetry": {"enabled": False},
}
# Dagster's default SQLite storage — the same files in the same places under the home —
# whose event log keeps one connection per file (pipeline/defs/event_log.py).
STORAGE_MODULE, STORAGE_CLASS = "pipeline.defs.event_log", "VoronkaSqliteStorage"
# A dagster.yaml that configures a storage of its own (Postgres: docs/scaling.md) keeps it.
STORAGE_KEYS = ("storage", "run_storage", "event_log_storage", "schedule_storage")


def storage_settings(dagster_home: Path) -> dict:
    config = {"base_dir": str(dagster_home.resolve())}
    return {"custom": {"module": STORAGE_MODULE, "class": STORAGE_CLASS, "config": config}}


def instance_settings(dagster_home: Path) -> dict:
    """Every setting for the instance in dagster_home."""
    return {**INSTANCE_SETTINGS, "storage": storage_settings(dagster_home)}


def _is_ours(storage: object) -> bool:
    custom = storage.get("custom") if isinstance(storage, dict) else None
    return isinstance(custom, dict) and custom.get("module") == STORAGE_MODULE


def write_instance_settings(dagster_home: Path) -> Path:
    """Merge the settings into dagster_home/dagster.yaml, keeping other settings (and a
    storage of the site's own)."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    merged = dict(current or {})
    for key, value in INSTANCE_SETTINGS.items():
        merged[key] = {**(merged.get(key) or {}), **value}
    if _is_ours(merged.get("storage")) or not any(merged.get(key) for key in STORAGE_KEYS):
        merged["storage"] = storage_settings(dagster_home)
    path.write_text(yaml.safe_dump(merged, sort_keys=True), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m pipeline.defs.instance DAGSTER_HOME")
    print(write_instance_settings(Path(sys.argv[1])))
