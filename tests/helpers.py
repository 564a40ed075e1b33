"""Small helpers shared by tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline.config import Config, load_config
from pipeline.paths import REPO_ROOT

DEMO_ZONE = "Europe/Moscow"

# `make test-fast` runs on both CPUs (pytest-xdist, --dist loadgroup): the modules that run
# dbt on the project's own target folder (dbt_project/target) carry this mark and so share
# one worker: no two dbt processes write that folder at once
# (tests/unit/test_fast_loop.py).
RUNS_DBT_IN_PROJECT_TARGET = pytest.mark.xdist_group("dbt_project_target")


def copy_demo_config(target_dir: Path, timezone: str = DEMO_ZONE) -> Config:
    """The project's demo config, with its data folder inside target_dir; `timezone` sets
    the business zone and the zone of every source that names one (the demo's exports
    written in another zone: write_demo_exports(..., timezone=...))."""
    target_dir.mkdir(parents=True, exist_ok=True)
    text = (REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8")
    assert f"timezone: {DEMO_ZONE}" in text
    text = text.replace(f"timezone: {DEMO_ZONE}", f"timezone: {timezone}")
    (target_dir / "voronka.yaml").write_text(text, encoding="utf-8")
    return load_config(target_dir / "voronka.yaml")
