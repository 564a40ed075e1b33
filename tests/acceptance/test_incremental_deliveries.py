"""Acceptance, delivered over time: the hand-written exports arrive in three deliveries, as
a site receives them (each shape's first export or deals file, then its history file, the
next weekly export and a call log whose calls link to deals delivered before, then the
second half of the mango call log and the CRM export its calls link to), with `voronka
ingest` and `voronka build` after each. The second and third builds are incremental, each
recomputing the funnels of its files' sources; after the third, every mart must equal a
full rebuild of the same landing, row for row, and the mature cohorts the plain-Python
hand count of the files.

The demo's own incremental test (tests/e2e/test_incremental.py) shares the generator's
assumptions; these files were written by hand in shapes the generator does not write.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from bench.checks import compare_marts
from tests.acceptance.conftest import (
    Project,
    assert_mature_cohorts_equal_the_hand_count,
    write_project,
)
from tests.acceptance.shapes import DATA, SHAPES

ZONE = "America/New_York"
CALLS = "mango/stats_2025-08_2025-12.csv"
# The call log in two months' files: calls started before this instant (1 November 2025,
# 00:00 in Moscow, where the PBX is) come first.
CALLS_SPLIT_AT = 1761944400
CALLS_FIRST, CALLS_SECOND = "mango/stats_2025-08_2025-10.csv", "mango/stats_2025-11_2025-12.csv"

DELIVERIES = [
    [
        "amo_single/amocrm_export_leads.csv",
        "amo_events/amocrm_deals_2026-01-12.csv",
        "amo_weekly/amocrm_export_2026-05-25.csv",
        "bitrix/DEAL_20260305_1f3a9c.csv",
        "hubspot/hubspot-crm-exports-all-deals-2025-08-04.csv",
        "leads/lead_list.csv",
        "opportunities/opportunities.csv",
        "pipedrive/deals-export.csv",
        "salesforce/Opportunity.csv",
        "twilio_us/hubspot-crm-exports-all-deals-2025-11-03.csv",
        CALLS_FIRST,
    ],
    [
        "amo_events/amocrm_events.csv",
        "amo_weekly/amocrm_export_2026-06-01.csv",
        "bitrix/stagehistory.csv",
        "leads/won_deals.csv",
        "pipedrive/deal-flow.csv",
        "salesforce/OpportunityHistory.csv",
        "twilio_us/twilio-call-log-2025-09-01_2025-10-31.csv",
    ],
    [CALLS_SECOND, "mango/amocrm_export_2025-12-15.csv"],
]


def split_calls(folder: Path) -> None:
    """The call log's records by start (its second field, Unix seconds); a record whose
    start is no number goes with the first file."""
    first, second = [], []
    for line in (DATA / CALLS).read_bytes().splitlines(keepends=True):
        started = line.split(b";")[1]
        late = started.isdigit() and int(started) >= CALLS_SPLIT_AT
        (second if late else first).append(line)
    assert first and second
    (folder / CALLS_FIRST).write_bytes(b"".join(first))
    (folder / CALLS_SECOND).write_bytes(b"".join(second))


def test_deliveries_cover_the_corpus() -> None:
    delivered = {name for delivery in DELIVERIES for name in delivery}
    corpus = {str(p.relative_to(DATA)) for p in DATA.rglob("*.csv")}
    assert delivered - {CALLS_FIRST, CALLS_SECOND} == corpus - {CALLS}


@pytest.fixture(scope="module")
def delivered(tmp_path_factory: pytest.TempPathFactory) -> tuple[Project, list[str]]:
    root = tmp_path_factory.mktemp("deliveries")
    project = write_project(root / "project", ZONE, list(SHAPES.values()))
    exports = root / "exports"
    shutil.move(project.root / "inbox", exports)
    split_calls(exports)
    builds = []
    for delivery in DELIVERIES:
        for name in delivery:
            (project.root / "inbox" / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(exports / name, project.root / "inbox" / name)
        assert project.run("ingest") in (0, 1), project.log("ingest")
        assert project.run("build") == 0, project.log("build")
        builds.append(project.output["build"])
    return project, builds


def plan_of(build_output: str) -> str:
    """The rebuild plan a build printed (its first line that says one)."""
    return next(
        line.strip()
        for line in build_output.splitlines()
        if line.strip().startswith(("full rebuild", "incremental:"))
    )


def cohort_boundaries(plan: str) -> dict[str, str]:
    """Each funnel's first recomputed cohort month in an incremental plan ("cohort months
    a from 2025-08, b from 2025-10; …")."""
    cohorts = plan.removeprefix("incremental: cohort months ").split(";")[0]
    return dict(part.split(" from ") for part in cohorts.split(", ") if " from " in part)


# The month after the previous cutoff's (the weekly exports of 25 May and 1 June 2026,
# 00:00 in Moscow): every funnel recomputes from there (the forecast's new month).
AFTER_CUTOFF = "2026-06"


def test_each_delivery_recomputes_the_funnels_of_its_sources(delivered) -> None:
    """The second delivery's history files, weekly export and Twilio log reach their own
    funnels only; the third's call log and CRM export the mango funnel only, from August:
    its deals link calls of August, a month before the second call file begins. The
    others recompute only the month after the previous cutoff's."""
    _, builds = delivered
    first, second, third = (plan_of(output) for output in builds)
    assert first == "full rebuild: no previous build"
    for plan, reached in (
        (
            second,
            {"amo_events", "amo_weekly", "bitrix", "leads", "pipedrive", "salesforce", "twilio_us"},
        ),
        (third, {"mango"}),
    ):
        assert plan.startswith("incremental:"), plan
        boundaries = cohort_boundaries(plan)
        assert boundaries.keys() == SHAPES.keys(), plan
        assert {f for f, month in boundaries.items() if month < AFTER_CUTOFF} == reached, plan
        assert {boundaries[f] for f in SHAPES.keys() - reached} == {AFTER_CUTOFF}, plan
    assert cohort_boundaries(third)["mango"] == "2025-08", third


def test_every_mart_equals_a_full_rebuild(delivered, tmp_path: Path) -> None:
    project, _ = delivered
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(project.warehouse, incremental)
    project.warehouse.unlink()
    try:
        assert project.run("build") == 0, project.log("build")
        assert "full rebuild" in project.output["build"]
        comparison = compare_marts(incremental, project.warehouse)
    finally:
        shutil.copy(incremental, project.warehouse)
    assert comparison["equal"], comparison


@pytest.mark.parametrize("shape_name", list(SHAPES))
def test_mature_cohorts_equal_the_hand_count(delivered, shape_name: str) -> None:
    """As tests/acceptance/test_acceptance.py checks the corpus built in one delivery."""
    project, _ = delivered
    assert_mature_cohorts_equal_the_hand_count(project, shape_name, ZONE)
