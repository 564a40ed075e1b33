"""The UI: `dagster dev` serves the asset graph grouped by layer, the schedule, the sensors
and the checks. Starts the webserver on 127.0.0.1 in its own process group (setsid) and
stops the group. Slow (~1 min): run by `make test-slow`.

The code location is the project's own (pipeline.defs.build_definitions) on a copy of
the demo config in a temporary folder, so the sensors the daemon runs never touch the
project's data folder.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from pipeline.paths import REPO_ROOT
from pipeline.prepare import prepare_dbt_manifest
from tests.helpers import copy_demo_config

QUERY = """
{
  assetNodes { assetKey { path } groupName hasAssetChecks }
  repositoriesOrError {
    ... on RepositoryConnection {
      nodes {
        name
        schedules { name cronSchedule executionTimezone }
        sensors { name }
        jobs { name }
      }
    }
  }
}
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def graphql(port: int, query: str) -> dict:
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}/graphql",
        data=json.dumps({"query": query}).encode(),
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())["data"]


def wait_for_ui(port: int, process: subprocess.Popen, timeout_s: float = 240) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"dagster dev exited with {process.returncode}")
        try:
            data = graphql(port, QUERY)
            if data["repositoriesOrError"].get("nodes"):
                return data
        except (OSError, KeyError, TypeError, ValueError):
            pass
        time.sleep(2)
    raise AssertionError(f"the UI did not answer within {timeout_s} s")


def stop_group(process: subprocess.Popen) -> None:
    group = os.getpgid(process.pid)
    os.killpg(group, signal.SIGTERM)
    with contextlib.suppress(subprocess.TimeoutExpired):
        process.wait(timeout=30)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(group, signal.SIGKILL)  # dagster dev may ignore SIGTERM; its children too
    process.wait(timeout=30)


@pytest.mark.slow
def test_the_ui_shows_the_asset_graph_by_layer_the_schedule_sensors_and_checks(tmp_path: Path):
    from pipeline.defs.instance import write_instance_settings

    prepare_dbt_manifest()
    copy_demo_config(tmp_path / "site")
    (tmp_path / "code_location.py").write_text(
        "from pipeline.defs import build_definitions\n"
        f"defs = build_definitions({str(tmp_path / 'site' / 'voronka.yaml')!r})\n",
        encoding="utf-8",
    )
    (tmp_path / "workspace.yaml").write_text(
        "load_from:\n"
        "  - python_file:\n"
        f"      relative_path: {tmp_path / 'code_location.py'}\n"
        f"      working_directory: {REPO_ROOT}\n",
        encoding="utf-8",
    )
    home = tmp_path / "dagster_home"
    write_instance_settings(home)
    port = free_port()
    bin_dir = str(Path(sys.executable).parent)
    process = subprocess.Popen(
        [
            f"{bin_dir}/dagster",
            "dev",
            "-w",
            str(tmp_path / "workspace.yaml"),
            "-h",
            "127.0.0.1",
            "-p",
            str(port),
        ],
        cwd=REPO_ROOT,
        env={
            **os.environ,
            "DAGSTER_HOME": str(home),
            "PATH": f"{bin_dir}:{os.environ.get('PATH', '')}",
            "PYTHONPATH": str(REPO_ROOT),
        },
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # setsid: its own process group, stopped as a whole
    )
    try:
        data = wait_for_ui(port, process)
    finally:
        stop_group(process)

    groups = {node["groupName"] for node in data["assetNodes"]}
    assert {"ingest", "config", "staging", "intermediate", "marts", "reports"} <= groups
    keys = {"/".join(node["assetKey"]["path"]) for node in data["assetNodes"]}
    assert {"landing/calls", "marts/funnel_stage_monthly", "reports/monthly_pdf"} <= keys
    assert any(node["hasAssetChecks"] for node in data["assetNodes"])
    (repository,) = data["repositoriesOrError"]["nodes"]
    schedules = {s["name"]: s for s in repository["schedules"]}
    schedule = schedules["monthly_funnel_report_schedule"]
    assert (schedule["cronSchedule"], schedule["executionTimezone"]) == (
        "0 6 2 * *",
        "Europe/Moscow",
    )
    sensors = {sensor["name"] for sensor in repository["sensors"]}
    assert {"inbox_sensor", "amended_reports_sensor", "failure_record_sensor"} <= sensors
