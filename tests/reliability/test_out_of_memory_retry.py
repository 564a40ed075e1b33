"""A build whose models run out of DuckDB's memory side by side is built again one model
at a time (pipeline/dbt_child.py, the `voronka-dbt` every build runs).

At full scale `int_entity_stages_reached` and `int_forecast_deal_periods`, built side by
side under one memory_limit, failed a build with "Out of Memory Error" about one time in
two when they overlapped (2026-12-05), though each builds alone within the limit. The
case here is a dbt project of its own whose middle model fails as DuckDB does when two
dbt threads run (`target.threads` > 1) and builds with one: the build succeeds, its
models and tests all run, and what it printed says why it went on. Any other failure
still fails the build, with no retry."""

from __future__ import annotations

import json
import logging
import os
import subprocess
from pathlib import Path

import dagster as dg
import duckdb
import pytest
from dagster_dbt import DbtProject, dbt_assets

from pipeline.dbt_child import RETRY_NOTICE, command, ran_out_of_memory, retry_args
from pipeline.defs.dbt import RetriedErrors, VoronkaDbtCli
from pipeline.warehouse import dbt_executable

PROJECT = """\
name: oom_case
profile: oom_case
config-version: 2
model-paths: ["models"]
models:
  oom_case:
    +materialized: table
"""
PROFILES = """\
oom_case:
  target: dev
  outputs:
    dev: {{type: duckdb, path: "{warehouse}", threads: 2}}
"""
OUT_OF_MEMORY = "Out of Memory Error: could not allocate block of size 256.0 KiB (simulated)"
SCHEMA = """\
models:
  - name: downstream
    columns:
      - name: id
        data_tests: [not_null]
"""


def write_project(folder: Path, heavy_sql: str) -> Path:
    models = folder / "models"
    models.mkdir(parents=True)
    (folder / "dbt_project.yml").write_text(PROJECT)
    (folder / "profiles.yml").write_text(PROFILES.format(warehouse=folder / "w.duckdb"))
    (models / "upstream.sql").write_text("select 1 as id union all select 2")
    (models / "heavy.sql").write_text(heavy_sql)
    (models / "downstream.sql").write_text("select id from {{ ref('heavy') }}")
    (models / "schema.yml").write_text(SCHEMA)
    return folder


def build(folder: Path, command: str = "build") -> subprocess.CompletedProcess:
    environment = {**os.environ, "DBT_SEND_ANONYMOUS_USAGE_STATS": "false"}
    environment.pop("DBT_TARGET_PATH", None)  # the project's own target folder
    return subprocess.run(
        [dbt_executable(), command, "--project-dir", str(folder), "--profiles-dir", str(folder)],
        cwd=folder,
        env=environment,
        capture_output=True,
        text=True,
        timeout=300,
    )


def run_results(folder: Path) -> dict[str, str]:
    results = json.loads((folder / "target" / "run_results.json").read_text())["results"]
    return {result["unique_id"].split(".")[-1]: result["status"] for result in results}


def test_models_that_ran_out_of_memory_side_by_side_are_built_again_one_at_a_time(tmp_path):
    heavy = (
        "select {% if target.threads > 1 %}"
        f"error('{OUT_OF_MEMORY}')"
        "{% else %}id{% endif %} as id from {{ ref('upstream') }}"
    )
    folder = write_project(tmp_path / "project", heavy)

    done = build(folder)

    assert done.returncode == 0, done.stdout + done.stderr
    assert RETRY_NOTICE in done.stdout
    with duckdb.connect(str(folder / "w.duckdb"), read_only=True) as con:
        assert con.sql("select count(*) from downstream").fetchall() == [(2,)]
    # the retry's own results: the model that failed, the one it skipped and its test
    statuses = run_results(folder)
    assert statuses.pop("heavy") == "success" and statuses.pop("downstream") == "success"
    assert list(statuses.values()) == ["pass"]


def test_any_other_failure_fails_the_build_without_a_retry(tmp_path):
    folder = write_project(tmp_path / "project", "select error('boom') as id")

    done = build(folder)

    assert done.returncode == 1
    assert "boom" in done.stdout
    assert RETRY_NOTICE not in done.stdout
    assert run_results(folder)["heavy"] == "error"


class Result:
    """A dbtRunnerResult's shape, for ran_out_of_memory."""

    def __init__(self, success: bool, messages: list[tuple[str, str]]):
        self.success = success
        self.result = type("Run", (), {"results": [Node(*m) for m in messages]})()


class Node:
    def __init__(self, status: str, message: str):
        self.status, self.message = status, message


@pytest.mark.parametrize(
    ("result", "expected"),
    [
        (Result(False, [("success", "OK"), ("error", f"Runtime Error: {OUT_OF_MEMORY}")]), True),
        (Result(False, [("error", "Binder Error: no such column")]), False),
        (Result(False, [("fail", f"{OUT_OF_MEMORY} in the test's own text")]), False),
        (Result(True, []), False),
    ],
)
def test_only_an_out_of_memory_error_is_retried(result, expected):
    assert ran_out_of_memory(result) is expected


def test_the_retry_runs_where_the_build_did():
    build_args = [
        "build",
        "--exclude-resource-type",
        "unit_test",
        "--target",
        "duckdb",
        "--vars",
        '{"a": 1}',
        "--project-dir",
        "/p",
        "--profiles-dir=/q",
        "--target-path",
        "/t",
    ]
    assert command(build_args) == "build"
    assert command(["--version"]) is None
    assert retry_args(build_args) == [
        "retry",
        "--threads",
        "1",
        "--project-dir",
        "/p",
        "--profiles-dir=/q",
        "--target-path",
        "/t",
    ]


def test_a_dagster_build_that_retried_succeeds_and_says_so(tmp_path):
    """The same build through the Dagster asset's runner (VoronkaDbtCli): dagster-dbt fails
    a run on any error-level line dbt wrote, and the first pass wrote the model's error."""
    heavy = (
        "select {% if target.threads > 1 %}"
        f"error('{OUT_OF_MEMORY}')"
        "{% else %}id{% endif %} as id from {{ ref('upstream') }}"
    )
    folder = write_project(tmp_path / "project", heavy)
    project = DbtProject(project_dir=folder, profiles_dir=folder)
    parsed = build(folder, "parse")  # the manifest the assets are defined from
    assert parsed.returncode == 0, parsed.stdout + parsed.stderr

    @dbt_assets(manifest=project.manifest_path)
    def oom_case(context, dbt: VoronkaDbtCli):
        yield from dbt.cli(["build"], context=context).stream()

    dbt = VoronkaDbtCli(
        project_dir=str(folder), profiles_dir=str(folder), dbt_executable=dbt_executable()
    )
    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize(
        [oom_case], resources={"dbt": dbt}, instance=instance, raise_on_error=False
    )

    assert result.success
    materialized = {event.asset_key.path[-1] for event in result.get_asset_materialization_events()}
    assert materialized == {"upstream", "heavy", "downstream"}
    checks = result.get_asset_check_evaluations()
    assert [(check.asset_key.path[-1], check.passed) for check in checks] == [("downstream", True)]
    warnings = [
        entry.user_message
        for entry in instance.all_logs(result.run_id)
        if entry.level == logging.WARNING
    ]
    assert warnings == [RETRY_NOTICE]


def dbt_line(level: str, msg: str) -> bytes:
    return json.dumps({"data": {}, "info": {"level": level, "msg": msg}}).encode() + b"\n"


def levels(lines) -> list[tuple[str, str]]:
    """What dagster-dbt reads: each JSON line's level and message; ("text", line) else."""
    read = []
    for line in lines:
        if line.startswith(b"{"):
            info = json.loads(line)["info"]
            read.append((info["level"], info["msg"]))
        else:
            read.append(("text", line.decode().strip()))
    return read


NOTICE_LINE = RETRY_NOTICE.encode() + b"\n"


def test_the_first_pass_errors_of_a_retried_build_reach_dagster_as_warnings():
    lines = [
        dbt_line("info", "1 of 3 OK"),
        dbt_line("error", "2 of 3 ERROR heavy"),
        dbt_line("info", 'a status "error" in the message of an info line'),
        b"Out of Memory Error: plain text\n",
        dbt_line("info", "Done."),
        NOTICE_LINE,
        dbt_line("info", "1 of 2 OK heavy"),
        dbt_line("error", "2 of 2 ERROR downstream"),
    ]
    warned: list[str] = []

    read = levels(RetriedErrors(lines, warned.append))

    assert read == [
        ("info", "1 of 3 OK"),
        ("info", 'a status "error" in the message of an info line'),
        ("text", "Out of Memory Error: plain text"),
        ("info", "Done."),
        ("text", RETRY_NOTICE),
        ("warn", "2 of 3 ERROR heavy"),
        ("info", "1 of 2 OK heavy"),
        ("error", "2 of 2 ERROR downstream"),  # the retry's own error fails the run
    ]
    assert warned == [RETRY_NOTICE]


def test_the_errors_of_a_build_without_a_retry_reach_dagster_as_errors():
    lines = [dbt_line("error", "2 of 3 ERROR heavy"), dbt_line("info", "Done.")]

    read = levels(RetriedErrors(lines))

    assert read == [("info", "Done."), ("error", "2 of 3 ERROR heavy")]
