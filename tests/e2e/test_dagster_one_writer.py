"""One writer: two runs started together on one warehouse both succeed, one after the
other. The OS file lock is the guarantee for Dagster and CLI runs alike; the
`voronka_writer` pool (limit 1) only keeps a waiting step from taking an executor slot
(its claims race on the default SQLite instance storage, so two steps of the pool can
start together — their lock holds still never overlap). Each run builds only the
staging layer to keep the test short; what matters is that both write the same DuckDB
file (through the same build copy)."""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pipeline.locks import HOLDING, RELEASING
from pipeline.paths import REPO_ROOT
from pipeline.prepare import prepare_dbt_manifest
from tests.helpers import copy_demo_config

RUN_SCRIPT = textwrap.dedent(
    """
    import sys
    import dagster as dg
    from pipeline.defs import build_definitions

    defs = build_definitions(sys.argv[1])
    job = defs.resolve_job_def("inbox_refresh")
    graph = defs.resolve_asset_graph()
    selection = [
        key for key in graph.get_all_asset_keys()
        if graph.get(key).is_materializable and key.path[0] in ("landing", "staging")
    ]
    with dg.DagsterInstance.get() as instance:
        result = job.execute_in_process(
            partition_key="2026-10-01", instance=instance, asset_selection=selection,
            raise_on_error=False,
        )
    print("RUN_ID", result.dagster_run.run_id)
    sys.exit(0 if result.success else 1)
    """
)


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    from pipeline.demo import write_demo_exports

    prepare_dbt_manifest()
    root = tmp_path_factory.mktemp("one_writer")
    config = copy_demo_config(root)
    write_demo_exports(config.inbox_dir, root / "expected")
    return root, config


def start(args: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        args,
        cwd=REPO_ROOT,
        env={**os.environ, **env, "PYTHONPATH": str(REPO_ROOT)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )


def finish(process: subprocess.Popen) -> tuple[int, str]:
    output, _ = process.communicate(timeout=600)
    return process.returncode, output


# The writer steps: ingest's finish step, the config tables, dbt (ingest's per-file load
# steps write only their own staging folders and take no lock).
WRITER_STEPS = 3


def lock_holds(instance, run_ids: list[str]) -> list[tuple[float, float, str]]:
    """(from, to, run) of every hold of the warehouse lock by the runs' writer steps, from
    the messages each step logs just after taking the lock and just before letting go
    (so each window lies inside the step's true hold)."""
    holds = []
    for run_id in run_ids:
        taken: dict[str, float] = {}
        for entry in instance.all_logs(run_id):
            if entry.dagster_event is not None or entry.step_key is None:
                continue
            if entry.user_message == HOLDING:
                taken[entry.step_key] = entry.timestamp
            elif entry.user_message == RELEASING:
                holds.append((taken.pop(entry.step_key), entry.timestamp, run_id))
    return sorted(holds)


def test_two_dagster_runs_started_together_both_succeed_in_turn(site):
    import dagster as dg

    from pipeline.defs.instance import write_instance_settings

    root, config = site
    home = root / "dagster_home"
    write_instance_settings(home)
    # Create the instance's storage once, before two processes race to migrate it.
    with dg.DagsterInstance.from_config(str(home)):
        pass
    script = root / "run_month.py"
    script.write_text(RUN_SCRIPT, encoding="utf-8")
    env = {"DAGSTER_HOME": str(home)}
    processes = [
        start([sys.executable, str(script), str(root / "voronka.yaml")], env) for _ in range(2)
    ]
    outcomes = [finish(process) for process in processes]

    assert [code for code, _ in outcomes] == [0, 0], outcomes[0][1][-3000:] + outcomes[1][1][-3000:]
    run_ids = [
        line.split()[1]
        for _, out in outcomes
        for line in out.splitlines()
        if line.startswith("RUN_ID")
    ]
    with dg.DagsterInstance.from_config(str(home)) as instance:
        holds = lock_holds(instance, run_ids)
    assert len(holds) == 2 * WRITER_STEPS
    for (_, end, _), (next_start, _, _) in itertools.pairwise(holds):
        assert end <= next_start, f"writer steps held the warehouse together: {holds}"
    assert config.warehouse_path.exists()


def test_two_cli_builds_started_together_both_exit_0_one_after_the_other(site):
    root, config = site
    command = [
        sys.executable,
        "-m",
        "pipeline.cli",
        "build",
        "--config",
        str(root / "voronka.yaml"),
        "--select",  # models no singular test spans (dbt's eager indirect selection)
        "stg_landing__files",
        "stg_landing__call_copies",
        "stg_landing__calls",
    ]
    processes = [start(command, {}) for _ in range(2)]
    outcomes = [finish(process) for process in processes]

    assert [code for code, _ in outcomes] == [0, 0], outcomes
    assert sum("waiting for it to finish" in out for _, out in outcomes) == 1
    assert not Path(str(config.warehouse_path).replace(".duckdb", ".build.duckdb")).exists()
