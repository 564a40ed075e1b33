"""The demo's expected cohort numbers are exact: checked by enumeration and Monte-Carlo."""

from __future__ import annotations

import itertools
import math
import random
from fractions import Fraction

import pytest

from pipeline.demo.expected import (
    add_delay,
    expected_rows,
    is_mature,
    pooled_conversions,
    reach_probabilities,
    within_window,
)
from pipeline.demo.scenario import (
    B2B,
    DOORS,
    FUNNELS,
    KEY_ACCOUNTS,
    FunnelScenario,
    advance_probability,
)
from pipeline.demo.simulate import ProcessPath, build_world, simulate_path


def observed_reach(path: ProcessPath, stage_count: int, window_minutes: int) -> list[bool]:
    """The pipeline's rule on recorded entries: implied reach, anchored at the first entry."""
    anchor = min(entry.minute for entry in path.entries)
    reached = []
    for order in range(1, stage_count + 1):
        times = [entry.minute for entry in path.entries if entry.order >= order]
        reached.append(bool(times) and min(times) <= anchor + window_minutes)
    return reached


def monte_carlo(
    funnel: FunnelScenario, manager: str, source: str, window_days: int, runs: int, seed: int
) -> list[float]:
    rng = random.Random(seed)
    counts = [0] * len(funnel.stages)
    for _ in range(runs):
        walk_in = rng.random() < funnel.walk_in_share
        entry_order = funnel.deal_stage_order if walk_in else 1
        path = simulate_path(rng, funnel, manager, source, entry_order)
        for index, hit in enumerate(observed_reach(path, len(funnel.stages), window_days * 1440)):
            counts[index] += hit
    return [count / runs for count in counts]


def test_delay_convolution_matches_enumeration():
    # Two steps: D1 = 0 w.p. 1/4 else U[1, 3]; D2 = U[2, 4]. Enumerate every outcome.
    exact = [Fraction(0)] * 8
    first = [(Fraction(1, 4), 0)] + [(Fraction(3, 4) / 3, d) for d in (1, 2, 3)]
    for (p1, d1), d2 in itertools.product(first, (2, 3, 4)):
        exact[d1 + d2] += p1 / 3
    distribution = add_delay(add_delay([1.0] + [0.0] * 7, 0.25, 1, 3), 0.0, 2, 4)
    assert distribution == pytest.approx([float(x) for x in exact], abs=1e-12)
    truncated = add_delay(add_delay([1.0] + [0.0] * 4, 0.25, 1, 3), 0.0, 2, 4)
    assert sum(truncated) == pytest.approx(float(sum(exact[:5])), abs=1e-12)


def test_window_shares_start_at_one_and_never_grow():
    for funnel in FUNNELS:
        shares = within_window(funnel, 1, funnel.window_days)
        assert shares[0] == 1.0
        assert all(later <= earlier + 1e-12 for earlier, later in itertools.pairwise(shares))


@pytest.mark.parametrize(
    ("funnel", "manager", "source", "window_days"),
    [
        (DOORS, "Васильев Олег", "Авито", 20),  # walk-ins mixed in, skips, planted weakness
        (KEY_ACCOUNTS, "Павлов Игорь", "Рекомендация", 60),  # many skippable stages
        (B2B, "Соколова Елена", "Партнёр", 120),  # the configured window
    ],
)
def test_expected_reach_matches_monte_carlo(funnel, manager, source, window_days):
    runs = 20_000
    simulated = monte_carlo(funnel, manager, source, window_days, runs, seed=7)
    exact = reach_probabilities(funnel, manager, source, window_days)
    for order, (p, frequency) in enumerate(zip(exact, simulated, strict=True), 1):
        tolerance = 4.5 * math.sqrt(p * (1 - p) / runs) + 1e-9
        assert abs(frequency - p) <= tolerance, (funnel.funnel_id, order, p, frequency)


@pytest.fixture(scope="module")
def rows():
    return expected_rows(build_world(20261101))


def test_first_stage_is_every_prospect_and_counts_never_grow(rows):
    by_segment = {}
    for row in rows:
        by_segment.setdefault(
            (row.funnel_id, row.cohort_month, row.segment_type, row.segment), []
        ).append(row)
    for segment_rows in by_segment.values():
        assert segment_rows[0].stage_order == 1
        assert segment_rows[0].expected_entities == pytest.approx(segment_rows[0].prospects)
        values = [row.expected_entities for row in segment_rows]
        assert all(b <= a + 1e-9 for a, b in itertools.pairwise(values))


def test_segments_add_up_to_the_total(rows):
    sums = {}
    for row in rows:
        key = (row.funnel_id, row.cohort_month, row.segment_type, row.stage_order)
        sums[key] = sums.get(key, 0.0) + row.expected_entities
    for (funnel_id, month, segment_type, order), value in sums.items():
        if segment_type != "total":
            assert value == pytest.approx(sums[(funnel_id, month, "total", order)])


def test_planted_weakest_and_strongest_are_the_extremes_at_their_stage():
    for funnel in FUNNELS:
        for planted, pick in ((funnel.weakest, min), (funnel.strongest, max)):
            manager, stage = planted
            order = funnel.stage_order(stage)
            source = funnel.sources[0][0]
            rates = {
                name: advance_probability(funnel, name, source, order)
                for name, _ in funnel.managers
            }
            assert pick(rates, key=rates.get) == manager, (funnel.funnel_id, planted, rates)


def test_pooled_conversions_use_mature_cohorts_only(rows):
    for funnel in FUNNELS:
        pooled = pooled_conversions(rows, funnel)
        assert set(pooled) == set(funnel.stage_keys[:-1])
        assert all(0 < rate < 1 for rate in pooled.values())
    october = rows[-1].cohort_month
    assert not any(is_mature(funnel, october) for funnel in FUNNELS)
