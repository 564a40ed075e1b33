"""Every dbt unit test runs once per session, here, and passes in a zone that is not the
one its rows were computed in.

Production builds (`voronka build`/`run`, the Dagster asset) leave dbt unit tests out
(pipeline.warehouse.build_args): a unit test's hand-computed rows hold in the zone it pins
(`overrides: vars: {timezone: ...}`, docs/analyst-guide.md), whatever voronka.yaml says.
They run in one `dbt test --select test_type:unit` with `timezone: UTC` configured, so a
test that read the configured zone would fail. A unit test reads its inputs from its
`given` rows; dbt takes only their columns from the warehouse, so the warehouse here is
every model's empty table (`dbt run --empty` on empty landing tables), not a demo build.
The module's dbt commands run in one process on one parse (tests/dbt_batch.py).
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
import zoneinfo
from dataclasses import dataclass
from pathlib import Path

import pytest
import yaml

from pipeline.paths import DBT_PROJECT_DIR
from pipeline.warehouse import (
    copy_parse_state,
    dbt_command,
    dbt_process_environment,
    dbt_target,
    prepare_landing,
)
from tests import dbt_batch
from tests.helpers import copy_demo_config

CONFIGURED_ZONE = "UTC"
# Where this module's last run left dbt's parse state (git-ignored, as dbt's target folder).
KEPT_PARSE_STATE_DIR = DBT_PROJECT_DIR / "target" / "unit-tests"
SHOW_ALL_AS_JSON = ["--limit", "-1", "--output", "json"]


def defined_unit_tests() -> dict[tuple[str, str], dict]:
    """(model, name) → the test, from every yml file under dbt_project/models."""
    tests = {}
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for test in document.get("unit_tests") or []:
            tests[(test["model"], test["name"])] = test
    return tests


@dataclass(frozen=True)
class CommandRun:
    """One dbt command of the module's batch: its success, its lines, its run results."""

    success: bool
    exception: str
    lines: list[str]
    results: list[dict]

    def failure(self) -> str:
        """dbt's summary of what failed (from "Completed with"), else its last lines."""
        start = next(
            (i for i, line in enumerate(self.lines) if "Completed with" in line),
            max(len(self.lines) - 40, 0),
        )
        return "\n".join([*self.lines[start:], self.exception])


@pytest.fixture(scope="module")
def dbt_runs(tmp_path_factory) -> dict[str, CommandRun]:
    """The module's dbt commands, in one process on one parse (tests/dbt_batch.py), on
    the demo's config with `timezone: UTC`: `empty` builds every model's empty table,
    `unit` runs the unit tests on them, `months` shows local_month_counts_sql()."""
    config = copy_demo_config(tmp_path_factory.mktemp("empty-warehouse"), CONFIGURED_ZONE)
    assert config.timezone == CONFIGURED_ZONE
    prepare_landing(config)
    artifacts = tmp_path_factory.mktemp("dbt-unit-tests")
    location = ["--target-path", str(artifacts / "target"), "--log-path", str(artifacts / "logs")]
    # The parse starts from the state the module's last run left (dbt checks it, and parses
    # what changed since, or everything where it does not fit), and leaves its own.
    copy_parse_state(KEPT_PARSE_STATE_DIR, artifacts / "target")
    commands = {
        "empty": ["run", "--empty"],
        "unit": ["test", "--select", "test_type:unit"],
        "months": ["show", "--inline", local_month_counts_sql(), *SHOW_ALL_AS_JSON],
    }
    batch = {
        "parse": dbt_command(config, ["parse", *location])[1:],
        "commands": [dbt_command(config, [*args, *location])[1:] for args in commands.values()],
        "target_path": str(artifacts / "target"),
    }
    completed = subprocess.run(
        [sys.executable, str(Path(dbt_batch.__file__)), json.dumps(batch)],
        cwd=DBT_PROJECT_DIR,
        env=dbt_process_environment(config, dbt_target(), config.warehouse_path),
        capture_output=True,
        text=True,
        check=False,
    )
    output = completed.stdout.splitlines()
    assert completed.returncode == 0, "\n".join(output[-40:]) + completed.stderr[-4000:]
    copy_parse_state(artifacts / "target", KEPT_PARSE_STATE_DIR)
    runs = {}
    for index, name in enumerate(commands):
        end = output.index(dbt_batch.COMMAND_END)
        outcome = json.loads(output[end + 1])
        results_file = artifacts / "target" / f"run_results-{index}.json"
        results = json.loads(results_file.read_text())["results"] if results_file.exists() else []
        runs[name] = CommandRun(outcome["success"], outcome["exception"], output[:end], results)
        output = output[end + 2 :]
    return runs


@pytest.fixture(scope="module")
def unit_test_run(dbt_runs) -> tuple[dict[tuple[str, str], str], str]:
    """(model, name) → status of each unit test dbt ran, and dbt's output if any failed."""
    assert dbt_runs["empty"].success, dbt_runs["empty"].failure()
    unit = dbt_runs["unit"]
    statuses = {}
    for result in unit.results:  # unit_test.<project>.<model>.<name>, and the on-run-start hook
        if result["unique_id"].startswith("unit_test."):
            _, _, model, name = result["unique_id"].split(".", 3)
            statuses[(model, name)] = result["status"]
    return statuses, "" if unit.success else unit.failure()


def test_every_dbt_unit_test_runs_and_passes_under_another_configured_zone(unit_test_run):
    statuses, failure = unit_test_run
    defined = defined_unit_tests()
    assert len(defined) >= 20
    assert sorted(statuses) == sorted(defined), "dbt ran other unit tests than the yml defines"
    failed = sorted(f"{model}::{name}" for (model, name), s in statuses.items() if s != "pass")
    assert not failed, f"{failed}\n{failure}"


def test_every_dbt_unit_test_pins_the_zone_its_rows_were_computed_in():
    unpinned = [
        f"{model}::{name}"
        for (model, name), test in defined_unit_tests().items()
        if "timezone" not in ((test.get("overrides") or {}).get("vars") or {})
    ]
    assert not unpinned, "add `overrides: vars: {timezone: Europe/Moscow}` (or the zone used)"


# Zones of every kind: whole and half-hour and 45-minute offsets, with and without summer
# time, the furthest east and west of UTC.
ZONES = (
    "Europe/Moscow",
    "Europe/Berlin",
    "America/St_Johns",
    "Asia/Kathmandu",
    "Pacific/Kiritimati",
    "Pacific/Pago_Pago",
    "America/Los_Angeles",
)
FIRST_INSTANT, LAST_INSTANT, STEP = dt.datetime(2023, 12, 20), dt.datetime(2025, 1, 10), 37


def test_local_month_is_the_month_python_reads_in_every_kind_of_zone(dbt_runs):
    """macros/time.sql local_month (which converts only the instants near a month's turn)
    against Python's zoneinfo, over a UTC instant every 37 minutes for a year: how many
    instants fall in each zone's local month."""
    months = dbt_runs["months"]
    assert months.success, months.failure()
    start = months.lines.index("{")  # the JSON, indented over many lines, after dbt's log lines
    shown, _ = json.JSONDecoder().raw_decode("\n".join(months.lines[start:]))
    counted = {(row["zone"], row["month"]): row["instants"] for row in shown["show"]}
    assert counted == python_local_month_counts()


def local_month_counts_sql() -> str:
    first, last = (f"timestamp '{at}'" for at in (FIRST_INSTANT, LAST_INSTANT))
    instants = f"""
        select generate_series as instant
        from generate_series({first}, {last}, interval {STEP} minute)"""
    months = " union all ".join(
        f"select '{zone}' as zone, {{{{ local_month('instant', '{zone}') }}}} as month"
        " from instants"
        for zone in ZONES
    )
    return f"""
        with instants as ({instants})
        select zone, month, count(*) as instants from ({months}) group by all"""


def python_local_month_counts() -> dict[tuple[str, str], int]:
    counts: dict[tuple[str, str], int] = {}
    for zone in ZONES:
        at = FIRST_INSTANT
        while at <= LAST_INSTANT:
            local = at.replace(tzinfo=dt.UTC).astimezone(zoneinfo.ZoneInfo(zone))
            key = (zone, f"{local.year:04d}-{local.month:02d}-01")
            counts[key] = counts.get(key, 0) + 1
            at += dt.timedelta(minutes=STEP)
    return counts
