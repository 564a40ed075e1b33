"""Every dbt unit test runs once per session, here, and passes in a zone that is not the
one its rows were computed in.

Production builds (`voronka build`/`run`, the Dagster asset) leave dbt unit tests out
(pipeline.warehouse.build_args): a unit test's hand-computed rows hold in the zone it pins
(`overrides: vars: {timezone: ...}`, docs/analyst-guide.md), whatever voronka.yaml says.
They run in one `dbt test --select test_type:unit` against the demo warehouse built with
`timezone: UTC`, so a test that read the configured zone would fail.
"""

from __future__ import annotations

import json

import pytest
import yaml

from pipeline.paths import DBT_PROJECT_DIR
from pipeline.warehouse import BuildError, run_dbt

CONFIGURED_ZONE = "UTC"


def defined_unit_tests() -> dict[tuple[str, str], dict]:
    """(model, name) → the test, from every yml file under dbt_project/models."""
    tests = {}
    for path in sorted((DBT_PROJECT_DIR / "models").rglob("*.yml")):
        document = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        for test in document.get("unit_tests") or []:
            tests[(test["model"], test["name"])] = test
    return tests


@pytest.fixture(scope="module")
def unit_test_run(demo_in_zone, tmp_path_factory) -> tuple[dict[tuple[str, str], str], str]:
    """(model, name) → status of each unit test dbt ran, and dbt's failure summary if any."""
    run = demo_in_zone(CONFIGURED_ZONE)
    assert run.config.timezone == CONFIGURED_ZONE
    artifacts = tmp_path_factory.mktemp("dbt-unit-tests")
    args = ["test", "--select", "test_type:unit", "--target-path", str(artifacts / "target")]
    args += ["--log-path", str(artifacts / "logs")]
    failure = ""
    try:
        run_dbt(run.config, args, run.config.warehouse_path)
    except BuildError as error:
        failure = str(error)
    results = json.loads((artifacts / "target" / "run_results.json").read_text())["results"]
    statuses = {}
    for result in results:  # unit_test.<project>.<model>.<name>, and the on-run-start hook
        if result["unique_id"].startswith("unit_test."):
            _, _, model, name = result["unique_id"].split(".", 3)
            statuses[(model, name)] = result["status"]
    return statuses, failure


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
