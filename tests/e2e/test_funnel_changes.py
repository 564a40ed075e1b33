"""marts.funnel_changes on the demo: the one planted change is found, and the months
without one stay within the Benjamini-Hochberg level.

The demo plants one real change (parameters.json PLANTED_CHANGE: one manager's rate at
one step of one funnel drops from a given month). Every other rate is constant over the
24 months, so every funnel-month whose comparison (the month and the six before it) ends
before the change is a month where every hypothesis is true: there, any discovery is a
false one and the false discovery proportion is 1 if anything is flagged, else 0. BH at
q bounds its expectation by q, so the number of such funnel-months with a discovery is
at most Binomial(N, q) in distribution; the check is that the demo's count is not above
that distribution's 95th percentile.
"""

from __future__ import annotations

import datetime as dt
import json
import math

Q = 0.05


def planted(demo_run) -> dict:
    parameters = json.loads((demo_run.expected_dir / "parameters.json").read_text(encoding="utf-8"))
    return parameters["PLANTED_CHANGE"]


def binomial_quantile(n: int, p: float, level: float) -> int:
    """The smallest k with P(Binomial(n, p) <= k) >= level."""
    total = 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if total >= level:
            return k
    return n


def test_planted_change_is_flagged_for_its_manager_and_step_within_two_mature_months(demo_run):
    change = planted(demo_run)
    rows = demo_run.query(
        """
        select month, n_recent, change_pp, q_value, is_significant
        from marts.funnel_changes
        where funnel_id = ? and segment_type = 'manager' and segment = ? and stage_key = ?
          and month >= ?
        order by month
        limit 2
        """,
        [
            change["funnel_id"],
            change["manager"],
            change["from_stage"],
            dt.date.fromisoformat(change["from_month"]),
        ],
    )
    assert len(rows) == 2, "two mature months after the change are judged"
    assert rows[0][0] == dt.date.fromisoformat(change["from_month"])
    flagged = [row for row in rows if row[4]]
    assert flagged, rows
    assert all(row[2] < -15 for row in flagged), "a drop of the planted size"


def test_false_discoveries_in_months_without_a_planted_change_stay_within_the_bh_level(
    demo_run,
):
    change = planted(demo_run)
    funnel_months = demo_run.query(
        """
        select funnel_id, month, max(case when is_significant then 1 else 0 end)
        from marts.funnel_changes
        where not (funnel_id = ? and month >= ?)
        group by funnel_id, month
        """,
        [change["funnel_id"], dt.date.fromisoformat(change["from_month"])],
    )
    months = len(funnel_months)
    with_discovery = sum(flag for _, _, flag in funnel_months)
    assert months >= 30, "the three funnels' mature months with six before them"
    allowed = binomial_quantile(months, Q, 0.95)
    assert with_discovery <= allowed, (with_discovery, months, allowed)


def test_after_the_change_nothing_else_of_its_funnel_is_flagged(demo_run):
    """In the changed funnel's months from the change on, the only step whose rates moved
    is the planted one, and the only manager is the planted one."""
    change = planted(demo_run)
    others = demo_run.query(
        """
        select month, segment_type, segment, stage_key from marts.funnel_changes
        where funnel_id = ? and month >= ? and is_significant
          and (stage_key <> ? or (segment_type = 'manager' and segment <> ?))
        """,
        [
            change["funnel_id"],
            dt.date.fromisoformat(change["from_month"]),
            change["from_stage"],
            change["manager"],
        ],
    )
    assert not others


def test_p_values_are_the_normal_distributions_within_the_stated_accuracy(demo_run):
    rows = demo_run.query("select z, p_value from marts.funnel_changes where z is not null")
    assert len(rows) > 100
    for z, p_value in rows:
        exact = min(1.0, math.erfc(abs(z) / math.sqrt(2)))
        assert abs(p_value - exact) <= 1.2e-7 * exact, (z, p_value, exact)


def test_q_values_are_benjamini_hochberg_over_the_funnels_cells_of_the_month(demo_run):
    rows = demo_run.query(
        """
        select funnel_id, month, p_value, q_value, tests_in_month, is_significant
        from marts.funnel_changes where p_value is not null
        """
    )
    families: dict[tuple, list] = {}
    for funnel_id, month, p_value, q_value, tests, significant in rows:
        families.setdefault((funnel_id, month), []).append((p_value, q_value, tests, significant))
    for family in families.values():
        m = len(family)
        ordered = sorted(family)
        adjusted, running = [], 1.0
        for rank in range(m, 0, -1):
            running = min(running, m * ordered[rank - 1][0] / rank)
            adjusted.append(running)
        adjusted.reverse()
        for (_, q_value, tests, significant), expected in zip(ordered, adjusted, strict=True):
            assert tests == m
            assert math.isclose(q_value, expected, rel_tol=1e-12, abs_tol=1e-15)
            assert significant == (q_value <= Q)


def test_untested_cells_have_no_verdict(demo_run):
    (bad,) = demo_run.query(
        """
        select count(*) from marts.funnel_changes
        where (n_recent < 30 or n_baseline < 30)
          and (not too_few or z is not null or is_significant)
        """
    )[0]
    assert bad == 0
