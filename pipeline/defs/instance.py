"""The Dagster instance settings Voronka needs: one writer at a time (pool limit 1).

`python -m pipeline.defs.instance DAGSTER_HOME` writes (or updates) DAGSTER_HOME/dagster.yaml;
`make ui` runs it before `dagster dev`. Tests pass INSTANCE_SETTINGS to instance_for_test.
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


def write_instance_settings(dagster_home: Path) -> Path:
    """Merge INSTANCE_SETTINGS into dagster_home/dagster.yaml, keeping other settings."""
    dagster_home.mkdir(parents=True, exist_ok=True)
    path = dagster_home / "dagster.yaml"
    current = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else None
    merged = dict(current or {})
    for key, value in INSTANCE_SETTINGS.items():
        merged[key] = {**(merged.get(key) or {}), **value}
    path.write_text(yaml.safe_dump(merged, sort_keys=True), encoding="utf-8")
    return path


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python -m pipeline.defs.instance DAGSTER_HOME")
    print(write_instance_settings(Path(sys.argv[1])))
