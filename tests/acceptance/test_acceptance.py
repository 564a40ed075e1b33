"""Acceptance: exports shaped the way CRMs and analysts really have them (tests/acceptance/
exports, written by hand, not by the demo generator) give exactly the cohort counts a
plain-Python hand count gives (hand_count.py), in more than one time zone, with every row
of every file accounted for, and a PDF per shape.

Run: .venv/bin/pytest tests/acceptance -q   (two builds, one per zone: a few minutes)
"""

from __future__ import annotations

import datetime as dt

import pytest

from tests.acceptance import hand_count
from tests.acceptance.conftest import (
    Projects,
    assert_mature_cohorts_equal_the_hand_count,
    assert_same_counts,
    mart_counts,
    selected_shapes,
)
from tests.acceptance.shapes import DATA, SHAPES, ZONES

SHAPE_NAMES = [shape.name for shape in selected_shapes()]


# --- the hand count itself (no pipeline) --------------------------------------------------


def test_hand_count_has_teeth() -> None:
    """Every shape has mature cohorts with later stages reached; a zone-sensitive shape
    counts differently in the two zones (its edge deals move month), the others do not;
    the cutoff is the last weekly export (00:00 Moscow, 01.06.2026) in every zone."""
    last_export = dt.datetime(2026, 5, 31, 21, 0, tzinfo=dt.UTC)
    for zone in ZONES:
        assert hand_count.cutoff(zone) == last_export
    for name, shape in SHAPES.items():
        by_zone = {zone: hand_count.mature_counts(name, zone) for zone in ZONES}
        for zone, counts in by_zone.items():
            months = {key[0] for key in counts}
            assert len(months) >= 2, (name, zone, months)
            last_stage = shape.stage_keys[-2]
            assert any(key[3] == last_stage for key in counts), (name, zone)
        differ = by_zone[ZONES[0]] != by_zone[ZONES[1]]
        assert differ == shape.zone_sensitive, name


def test_each_file_has_rows_to_reject() -> None:
    """Reconciliation is exercised: most files carry a row with an impossible date."""
    dirty = [
        f for name in SHAPES for f, count in hand_count.file_counts(name).items() if count.rejected
    ]
    assert len(dirty) >= 12, dirty


# --- the pipeline against it -----------------------------------------------------------


@pytest.mark.parametrize("zone", ZONES)
def test_ingest_and_build_succeed(projects: Projects, zone: str) -> None:
    project = projects.get(zone)
    assert project.exit_codes.get("ingest") == 0, project.log("ingest")
    assert project.exit_codes.get("build") == 0, project.log("build")


@pytest.mark.parametrize("zone", ZONES)
def test_cutoff_comes_from_the_data(projects: Projects, zone: str) -> None:
    """The latest time in the files (never the clock or a file's mtime)."""
    project = projects.get(zone)
    (cutoff_at,) = project.query("select cutoff_at from marts.data_cutoff")[0]
    if cutoff_at.tzinfo is None:
        cutoff_at = cutoff_at.replace(tzinfo=dt.UTC)
    expected = max(max(hand_count.read_shape(s.name, zone).times) for s in project.shapes)
    assert cutoff_at == expected


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
@pytest.mark.parametrize("zone", ZONES)
def test_mature_cohorts_equal_the_hand_count(projects: Projects, zone: str, shape_name: str):
    """marts.funnel_stage_monthly, view cohort, total and per manager, every mature month
    and stage: entities equal the hand count exactly."""
    assert_mature_cohorts_equal_the_hand_count(projects.get(zone), shape_name, zone)


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
@pytest.mark.parametrize("zone", ZONES)
def test_period_view_equals_the_hand_count(projects: Projects, zone: str, shape_name: str):
    """marts.funnel_stage_monthly, view period, total and per manager, every month: the
    entities that reached each stage in the month equal the hand count (a stage known from
    an export counts in the month of the second before the export that saw it)."""
    project = projects.get(zone)
    expected = {k: n for k, n in hand_count.period_counts(shape_name, zone).items() if n}
    got = mart_counts(project, SHAPES[shape_name].funnel["id"], view="period")
    assert_same_counts("period", shape_name, zone, expected, got)


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
@pytest.mark.parametrize("zone", ZONES)
def test_stage_durations_equal_the_hand_count(projects: Projects, zone: str, shape_name: str):
    """marts.stage_durations, total, every month and stage with a converter: converted,
    converted_timed and median_days equal the hand count's (days to 1e-9)."""
    project = projects.get(zone)
    rows = project.query(
        """
        select strftime(month, '%Y-%m'), stage_key, converted, converted_timed, median_days
        from marts.stage_durations
        where funnel_id = ? and segment_type = 'total' and converted > 0
        """,
        [SHAPES[shape_name].funnel["id"]],
    )
    got = {(m, k): (int(n), int(t), d) for m, k, n, t, d in rows}
    expected = hand_count.stage_durations(shape_name, zone)
    assert set(got) == set(expected), (shape_name, zone, sorted(set(got) ^ set(expected)))
    for key, (n, timed, days) in expected.items():
        assert got[key][:2] == (n, timed), (shape_name, zone, key, got[key], expected[key])
        if days is None:
            assert got[key][2] is None, (shape_name, zone, key, got[key])
        else:
            assert got[key][2] == pytest.approx(days, abs=1e-9), (shape_name, zone, key)


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
@pytest.mark.parametrize("zone", ZONES)
def test_revenue_equals_the_hand_count(projects: Projects, zone: str, shape_name: str):
    """marts.revenue_monthly, total, every month with a won deal: won deals and the sum of
    their amounts as exported (grouped thousands, decimal commas) equal the hand count's."""
    project = projects.get(zone)
    rows = project.query(
        """
        select strftime(month, '%Y-%m'), won_deals, won_amount
        from marts.revenue_monthly
        where funnel_id = ? and segment_type = 'total' and won_deals > 0
        """,
        [SHAPES[shape_name].funnel["id"]],
    )
    got = {month: (int(won), amount) for month, won, amount in rows}
    expected = hand_count.revenue(shape_name, zone)
    assert {m: won for m, (won, _) in got.items()} == {m: won for m, (won, _) in expected.items()}
    for month, (_, amount) in expected.items():
        assert got[month][1] == pytest.approx(amount, abs=1e-6), (shape_name, zone, month)


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
@pytest.mark.parametrize("zone", ZONES)
def test_sales_cycle_equals_the_hand_count(projects: Projects, zone: str, shape_name: str):
    """marts.sales_cycle_monthly, total, every month with a win: won deals, and the median
    and 80th percentile days from anchor to closing, as the hand count has them."""
    project = projects.get(zone)
    rows = project.query(
        """
        select strftime(month, '%Y-%m'), won_deals, median_days, p80_days
        from marts.sales_cycle_monthly
        where funnel_id = ? and segment_type = 'total' and won_deals > 0
        """,
        [SHAPES[shape_name].funnel["id"]],
    )
    got = {month: (int(won), median, p80) for month, won, median, p80 in rows}
    expected = hand_count.sales_cycles(shape_name, zone)
    assert {m: v[0] for m, v in got.items()} == {m: v[0] for m, v in expected.items()}
    for month, (_, median, p80) in expected.items():
        assert got[month][1:] == pytest.approx((median, p80), abs=1e-9), (shape_name, zone, month)


CALL_SHAPES = [name for name in SHAPE_NAMES if SHAPES[name].funnel.get("calls")]


@pytest.mark.parametrize("shape_name", CALL_SHAPES)
@pytest.mark.parametrize("zone", ZONES)
def test_call_leaks_equal_the_hand_count(projects: Projects, zone: str, shape_name: str):
    """marts.call_leaks per month and manager: missed inbound calls, those not called back,
    call leads never in the CRM, as the hand count has them (cells of zeros left out)."""
    project = projects.get(zone)
    rows = project.query(
        """
        select strftime(month, '%Y-%m'), manager, missed_inbound, not_called_back,
               call_leads_never_in_crm
        from marts.call_leaks
        where funnel_id = ? and manager != 'all'
          and missed_inbound + not_called_back + call_leads_never_in_crm > 0
        """,
        [SHAPES[shape_name].funnel["id"]],
    )
    got = {(month, manager): (int(a), int(b), int(c)) for month, manager, a, b, c in rows}
    expected = hand_count.call_leak_counts(shape_name, zone)
    assert got == expected, (
        f"{shape_name} in {zone}: call leaks differ (missed, not called back, call leads):\n"
        + "\n".join(
            f"  {key}: hand count {expected.get(key)}, pipeline {got.get(key)}"
            for key in sorted(set(got) | set(expected))
            if got.get(key) != expected.get(key)
        )
    )


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
@pytest.mark.parametrize("zone", ZONES)
def test_nothing_lost(projects: Projects, zone: str, shape_name: str) -> None:
    """Per file: loaded; rows_total = the records plain csv counts; accepted + rejected =
    total; rejected = the rows the hand count knows are bad, each one in rejected_rows."""
    project = projects.get(zone)
    ledger = project.ledger()
    rejected = project.rejected_rows()
    for name, count in hand_count.file_counts(shape_name).items():
        rows = ledger.filter(ledger["path"].str.ends_with(name))
        assert rows.height == 1, f"{name}: {rows.height} ledger rows\n{ledger}"
        row = rows.row(0, named=True)
        assert row["status"] == "loaded", f"{name}: {row['status']}: {row['message']}"
        assert row["rows_total"] == count.rows, name
        assert row["rows_accepted"] + row["rows_rejected"] == row["rows_total"], name
        assert row["rows_rejected"] == count.rejected, (name, row["message"])
        in_table = rejected.filter(rejected["file_id"] == row["file_id"]).height
        assert in_table == row["rows_rejected"], name


@pytest.mark.parametrize("shape_name", SHAPE_NAMES)
def test_pdf_renders(projects: Projects, shape_name: str) -> None:
    """One PDF per shape (English, a month with data), from the first zone's warehouse."""
    from pipeline.config import load_config
    from pipeline.reporting import render_reports

    project = projects.get(ZONES[0])
    shape = SHAPES[shape_name]
    config = load_config(project.config_path)
    paths = render_reports(config, shape.report_month, funnels=[shape.funnel["id"]], locales=["en"])
    expected = (
        project.root
        / "reports"
        / shape.report_month
        / f"voronka_{shape.funnel['id']}_{shape.report_month}_en.pdf"
    )
    assert expected in paths
    assert expected.read_bytes()[:5] == b"%PDF-"


def test_corpus_files_are_all_counted() -> None:
    """Every committed data file is read by the hand count (nothing silently skipped)."""
    on_disk = {f"{p.parent.name}/{p.name}" for p in DATA.rglob("*.csv")}
    counted = {f for name in SHAPES for f in hand_count.file_counts(name)}
    assert on_disk == counted
