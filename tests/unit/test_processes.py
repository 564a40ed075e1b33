"""Child processes: dbt's starts without transparent huge pages (pipeline/processes.py)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.processes import without_huge_pages

STATUS = Path("/proc/self/status")
pytestmark = pytest.mark.skipif(
    not sys.platform.startswith("linux") or "THP_enabled" not in STATUS.read_text(),
    reason="the kernel shows no THP flag",
)


def thp_enabled(status: str) -> str:
    return next(line.split()[1] for line in status.splitlines() if line.startswith("THP_enabled"))


def child_thp_enabled() -> str:
    status = subprocess.run(
        ["cat", "/proc/self/status"], capture_output=True, text=True, check=True
    ).stdout
    return thp_enabled(status)


def test_a_child_started_inside_runs_without_huge_pages_and_this_process_gets_its_own_back():
    own = thp_enabled(STATUS.read_text())
    assert child_thp_enabled() == own
    with without_huge_pages():
        assert child_thp_enabled() == "0"
    assert thp_enabled(STATUS.read_text()) == own
    assert child_thp_enabled() == own


def test_the_dbt_child_of_a_build_starts_without_huge_pages(monkeypatch):
    """run_dbt's child: the command it starts sees the flag (the same Popen as dbt's)."""
    from pipeline import warehouse

    monkeypatch.setattr(
        warehouse, "dbt_command", lambda *args: ["grep", "THP_enabled", "/proc/self/status"]
    )
    lines = warehouse.run_dbt(None, [], Path("unused.duckdb"))
    assert [line.split()[1] for line in lines] == ["0"]
