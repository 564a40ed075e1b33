"""marts.funnel_forecast and funnel_forecast_backtest on the demo, against the generator's
truth (pipeline/demo/scenario.py: every step's rate and delay, the planted change).

The demo's deals are simulated to the end, so the truth knows, for every deal open at the
data cutoff, where it really stands and the process it follows from there. Its chance to
be won by the end of the forecast month is computed here from the scenario alone (a
seeded Monte Carlo over its remaining steps, conditioned on the time it has already
spent at its stage), never from the warehouse: the forecast learned the same thing from
the exports' history, pooled over the team and coarse in age, so the two agree within
the forecast's own statistical error plus a margin for that pooling.
"""

from __future__ import annotations

import datetime as dt
import math
import random

import pytest

from pipeline.demo import DEFAULT_SEED
from pipeline.demo.scenario import (
    FUNNEL_BY_ID,
    PLANTED_CHANGE,
    SNAPSHOT_LOCAL,
    FunnelScenario,
    advance_probability,
    next_month,
    skip_probability,
)
from pipeline.demo.simulate import Prospect, build_world
from pipeline.forecast import deals_inside
from pipeline.months import add_months

FUNNELS = ("doors", "b2b", "key_accounts")
DRAWS = 2000  # Monte Carlo draws per open deal: the truth's own error is < 1 % of a deal


@pytest.fixture(scope="module")
def world():
    return build_world(DEFAULT_SEED)


def _hours_after(low: int, high: int, minutes: int) -> list[int]:
    """The whole hours in [low, high] that are more than `minutes` long."""
    return [hour for hour in range(low, high + 1) if 60 * hour > minutes]


def true_win_probability(
    funnel: FunnelScenario, prospect: Prospect, order: int, age: int, horizon: int
) -> float:
    """P(won within `horizon` minutes) for a deal that has been at stage `order` for
    `age` minutes, under the scenario's process (simulate.simulate_path): at each stage it
    advances with advance_probability (passed at once with skip_probability, else after a
    whole number of hours in the step's delay range) or is lost after the funnel's loss
    delay. At its current stage it has neither advanced nor been lost for `age` minutes."""
    rng = random.Random(f"{prospect.funnel_id}:{prospect.number}")
    changed = PLANTED_CHANGE.applies(funnel.funnel_id, prospect.manager, prospect.t0)

    def rate(at: int) -> float:
        return advance_probability(funnel, prospect.manager, prospect.lead_source, at, changed)

    step = funnel.steps[order - 1]
    advancing_hours = _hours_after(*step.delay_hours, age)
    losing_hours = _hours_after(*funnel.loss_delay_hours, age)
    span = step.delay_hours[1] - step.delay_hours[0] + 1
    loss_span = funnel.loss_delay_hours[1] - funnel.loss_delay_hours[0] + 1
    advancing = rate(order) * (1 - skip_probability(funnel, order)) * len(advancing_hours) / span
    losing = (1 - rate(order)) * len(losing_hours) / loss_span
    if advancing == 0:
        return 0.0
    won = 0
    for _ in range(DRAWS):
        if rng.random() >= advancing / (advancing + losing):
            continue
        elapsed = 60 * rng.choice(advancing_hours) - age
        at = order + 1
        while at < len(funnel.stages) and elapsed <= horizon:
            if rng.random() >= rate(at):
                elapsed = horizon + 1  # lost
                break
            if rng.random() >= skip_probability(funnel, at):
                elapsed += 60 * rng.randint(*funnel.steps[at - 1].delay_hours)
            at += 1
        won += elapsed <= horizon
    return won / DRAWS


def open_at_cutoff(world, funnel_id: str) -> list[tuple[Prospect, int, int]]:
    """The deals open at the final export (created by then, closed after), each with the
    stage it really stands at and the minutes it has been there."""
    cutoff = SNAPSHOT_LOCAL
    deals = []
    for prospect in world.prospects:
        deal = prospect.deal
        if prospect.funnel_id != funnel_id or deal is None:
            continue
        if not (deal.created_at <= cutoff < deal.closed_at):
            continue
        elapsed = int((cutoff - prospect.t0).total_seconds() // 60)
        reached = prospect.path.reached_minutes
        order = max(
            i + 1 for i, minute in enumerate(reached) if minute is not None and minute <= elapsed
        )
        deals.append((prospect, order, elapsed - reached[order - 1]))
    return deals


def forecast_totals(demo_run, funnel_id: str) -> dict:
    (row,) = demo_run.query(
        """
        select forecast_month, open_deals, expected_won_open, expected_won, won_low, won_high,
               too_few_to_forecast
        from marts.funnel_forecast
        where funnel_id = ? and segment_type = 'total'
        """,
        [funnel_id],
    )
    keys = ("month", "open", "expected_open", "expected", "low", "high", "too_few")
    return dict(zip(keys, row, strict=True))


@pytest.mark.parametrize("funnel_id", FUNNELS)
def test_backtest_interval_covers_the_actual_in_at_least_70_percent_of_months(demo_run, funnel_id):
    rows = demo_run.query(
        """
        select month, actual_won, won_low, won_high, is_covered, too_few_to_forecast,
               months_backtested, coverage, mean_absolute_error
        from marts.funnel_forecast_backtest where funnel_id = ? order by month
        """,
        [funnel_id],
    )
    assert len(rows) == 12, "the twelve months before the forecast month"
    assert not any(row[5] for row in rows), "the demo has enough history every month"
    covered = [
        inside is not None and inside[0] <= actual <= inside[1]
        for actual, inside in ((row[1], deals_inside(row[2], row[3])) for row in rows)
    ]
    assert covered == [row[4] for row in rows], "is_covered: the actual is a whole deal inside"
    assert rows[0][6] == 12
    assert rows[0][7] == pytest.approx(sum(covered) / 12)
    assert rows[0][7] >= 0.7, [(row[0], row[1], row[2], row[3]) for row in rows]


@pytest.mark.parametrize("funnel_id", FUNNELS)
def test_backtest_actual_is_what_the_generator_won_in_each_month(demo_run, world, funnel_id):
    won_by_month: dict[dt.date, int] = {}
    for prospect in world.prospects:
        deal = prospect.deal
        if prospect.funnel_id == funnel_id and deal is not None and deal.status == "won":
            month = deal.closed_at.date().replace(day=1)
            won_by_month[month] = won_by_month.get(month, 0) + 1
    rows = demo_run.query(
        "select month, actual_won from marts.funnel_forecast_backtest where funnel_id = ?",
        [funnel_id],
    )
    assert {month: won for month, won in rows} == {
        month: won_by_month.get(month, 0) for month, _ in rows
    }


@pytest.mark.parametrize("funnel_id", FUNNELS)
def test_backtest_starts_from_the_deals_open_at_each_month_start(demo_run, world, funnel_id):
    """As of a month's first instant a deal is open when it was created before and closed
    after: nothing it did later (a stage, an export, its close) moves it in or out."""
    rows = demo_run.query(
        "select month, open_deals from marts.funnel_forecast_backtest where funnel_id = ?",
        [funnel_id],
    )
    deals = [
        prospect.deal
        for prospect in world.prospects
        if prospect.funnel_id == funnel_id and prospect.deal is not None
    ]
    for month, open_deals in rows:
        start = dt.datetime.combine(month, dt.time())
        assert open_deals == sum(deal.created_at <= start < deal.closed_at for deal in deals), month


@pytest.mark.parametrize("funnel_id", FUNNELS)
def test_forecast_of_open_deals_matches_the_scenarios_true_chances(demo_run, world, funnel_id):
    funnel = FUNNEL_BY_ID[funnel_id]
    forecast = forecast_totals(demo_run, funnel_id)
    assert forecast["month"] == SNAPSHOT_LOCAL.date().replace(day=1)
    assert not forecast["too_few"]
    month_end = dt.datetime.combine(next_month(forecast["month"]), dt.time())
    horizon = int((month_end - SNAPSHOT_LOCAL).total_seconds() // 60)
    deals = open_at_cutoff(world, funnel_id)
    chances = [true_win_probability(funnel, *deal, horizon) for deal in deals]
    truth = sum(chances)
    spread = math.sqrt(sum(p * (1 - p) for p in chances))
    assert forecast["open"] == len(deals), "the deals open at the cutoff, as the truth has them"
    # The estimate's error: its hazards rest on ~1 000 deal-months, pooled over managers
    # and lead sources and coarse in age; allowed: one SD of the outcome plus 10 %.
    assert abs(forecast["expected_open"] - truth) <= spread + 0.10 * truth, (
        forecast["expected_open"],
        truth,
        spread,
    )


def test_forecast_interval_is_the_whole_deals_the_cli_prints(demo_run):
    forecast = forecast_totals(demo_run, "doors")
    low, high = deals_inside(forecast["low"], forecast["high"])
    assert forecast["low"] <= low <= forecast["expected"] <= high <= forecast["high"]


def test_cli_prints_the_marts_forecast_and_backtest(demo_run):
    from pipeline.forecast import forecast_for

    forecast = forecast_totals(demo_run, "doors")
    ((mean_error, coverage),) = demo_run.query(
        "select distinct mean_absolute_error, coverage from marts.funnel_forecast_backtest "
        "where funnel_id = 'doors'"
    )
    printed = forecast_for(demo_run.config, "doors", None, "manager")
    low, high = deals_inside(forecast["low"], forecast["high"])
    assert f"{forecast['expected']:.1f}" in printed
    assert f"{low}–{high}" in printed
    assert f"mean absolute error {mean_error:.1f} deals" in printed
    assert f"({coverage * 100:.1f}%)" in printed
    assert "Смирнова Анна" in printed, "--by manager: a row per manager"


def test_cli_names_the_months_it_can_forecast(demo_run):
    from pipeline.forecast import ForecastMonthError, forecast_for

    with pytest.raises(ForecastMonthError, match="the forecast month is 2026-11"):
        forecast_for(demo_run.config, "doors", "2027-01", None)
    backtest_month = forecast_for(demo_run.config, "doors", "2026-06", None)
    ((actual,),) = demo_run.query(
        "select actual_won from marts.funnel_forecast_backtest "
        "where funnel_id = 'doors' and month = date '2026-06-01'"
    )
    assert f"actually won {actual} " in backtest_month


def test_the_report_shows_the_forecast_of_the_cutoffs_month_only(demo_run):
    """The forecast is of the data cutoff's month: a report of the last complete month shows
    it (the month after), a report of the month in progress too (its own month), an
    earlier report none."""
    from pipeline.reporting.warehouse import read_marts

    ((forecast_month,),) = demo_run.query(
        "select distinct forecast_month from marts.funnel_forecast where funnel_id = 'doors'"
    )
    warehouse = demo_run.config.warehouse_path
    for month, shown in (
        (forecast_month, True),
        (add_months(forecast_month, -1), True),
        (add_months(forecast_month, -2), False),
    ):
        forecast = read_marts(warehouse, ["doors"], month).funnel_marts["doors"].forecast
        assert [row.forecast_month for row in forecast] == ([forecast_month] if shown else [])
