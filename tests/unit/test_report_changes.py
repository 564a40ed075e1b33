"""Page one's "What changed" from marts.funnel_changes rows (reporting.sections.changes)."""

from __future__ import annotations

import datetime as dt
from dataclasses import astuple, replace

import duckdb

from pipeline.config import load_config
from pipeline.paths import REPO_ROOT
from pipeline.reporting.labels import labels_for
from pipeline.reporting.sections.changes import build_changes
from pipeline.reporting.warehouse import SCHEMA, ChangeRow, FunnelMarts, _read_funnel_marts
from pipeline.reporting.words import Words

MONTH = dt.date(2026, 6, 1)
FUNNEL = next(f for f in load_config(REPO_ROOT / "voronka.yaml").funnels if f.id == "b2b")
WORDS = Words(FUNNEL, "en", labels_for("en"))


def row(segment_type="total", segment="all", order=1, change=0.0, contribution=None, q=0.5, n=100):
    return ChangeRow(
        month=MONTH,
        segment_type=segment_type,
        segment=segment,
        stage_order=order,
        stage_key=FUNNEL.stages[order - 1].key,
        n_recent=n,
        rate_recent=0.3,
        n_baseline=600,
        rate_baseline=0.3 - change / 100,
        change_pp=change,
        contribution_pp=contribution,
        q_value=q,
        is_significant=q is not None and q <= 0.05,
        too_few=n < 30,
    )


def build(rows):
    return build_changes(FunnelMarts(changes=tuple(rows)))


def test_no_month_judged_yet_gives_no_block():
    assert build([]) is None


def test_no_significant_change_says_how_many_cells_were_judged():
    changes = build([row(), row("manager", "A", q=None, n=12), row("manager", "B", q=0.9)])
    assert changes.items == ()
    assert changes.tested == 2
    assert (changes.baseline_from, changes.baseline_to) == (
        dt.date(2025, 12, 1),
        MONTH.replace(month=5),
    )


def test_a_total_change_names_the_segment_behind_most_of_it_and_does_not_repeat_it():
    changes = build(
        [
            row(change=-8.0, q=0.01),
            row("manager", "A", change=-25.0, contribution=-6.0, q=0.02),
            row("manager", "B", change=-2.0, contribution=-1.0, q=0.9),
            row("product", "X", change=-4.0, contribution=-3.0, q=0.9),
            row("manager", "C", change=3.0, contribution=0.5, q=0.9),
        ]
    )
    (item,) = changes.items
    assert item.segment is None and item.direction == "down" and item.change_pp == -8.0
    assert WORDS.segment(item.behind_type, item.behind) == "Manager: A"
    assert item.behind_pp == -6.0


def test_at_most_three_changes_ordered_by_q_the_rest_counted():
    rows = [
        row("manager", name, order=1 + index % 3, change=-20.0, contribution=-2.0, q=q)
        for index, (name, q) in enumerate((("A", 0.04), ("B", 0.001), ("C", 0.02), ("D", 0.03)))
    ]
    changes = build([*rows, replace(row(), q_value=0.9)])
    segments = [WORDS.segment(item.segment_type, item.segment) for item in changes.items]
    assert segments == ["Manager: B", "Manager: C", "Manager: D"]
    assert changes.more == 1


def test_a_step_everyone_passed_before_and_now_has_enough_clients_and_no_change():
    # Every client converted in the month and the six before (no z-test: q is NULL); the
    # report says no significant change among such cells, not "too few clients".
    changes = build([row(q=None), row(order=2, q=None), row("manager", "A", q=None, n=12)])
    assert (changes.items, changes.tested) == ((), 2)


def test_the_latest_judged_month_is_one_with_clients():
    # funnel_changes has a row per step and segment for every mature month, an empty one
    # too (no clients: too few everywhere). The report's block is about June, not July.
    july = replace(row(n=0, q=None), month=dt.date(2026, 7, 1))
    con = duckdb.connect()
    con.execute(f"create schema {SCHEMA}")
    columns = ", ".join(f"{name} {kind}" for name, kind in CHANGE_COLUMNS)
    con.execute(f"create table {SCHEMA}.funnel_changes (funnel_id varchar, {columns})")
    for change in (row(), row(order=2), july):
        con.execute(
            f"insert into {SCHEMA}.funnel_changes values ('b2b', {', '.join('?' * 14)})",
            list(astuple(change)),
        )
    marts = _read_funnel_marts(con, frozenset({"funnel_changes"}), ["b2b"], july.month)
    assert {change.month for change in marts["b2b"].changes} == {MONTH}


CHANGE_COLUMNS = (
    ("month", "date"),
    ("segment_type", "varchar"),
    ("segment", "varchar"),
    ("stage_order", "integer"),
    ("stage_key", "varchar"),
    ("n_recent", "bigint"),
    ("rate_recent", "double"),
    ("n_baseline", "bigint"),
    ("rate_baseline", "double"),
    ("change_pp", "double"),
    ("contribution_pp", "double"),
    ("q_value", "double"),
    ("is_significant", "boolean"),
    ("too_few", "boolean"),
)
