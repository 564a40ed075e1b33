"""The forecast tile and `voronka forecast` print the same figures (pipeline.forecast):
the expected wins with one decimal, the whole deals inside the 80 % interval, the
backtest's coverage and mean error; "too few to forecast" instead of figures."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import pytest

from pipeline.forecast import (
    Backtest,
    BacktestRow,
    ForecastRow,
    deals_inside,
    render_backtest,
    render_forecast,
)
from pipeline.reporting.warehouse import FunnelMarts
from tests.unit.test_report_story import FUNNEL, MAR, ROWS, html_of, model, section

APR = dt.date(2026, 4, 1)


def forecast_row(*, too_few=False, low=34.6, high=45.1):
    return ForecastRow(
        APR, dt.datetime(2026, 4, 2, 9), "total", "all", 106, 36.5, 3.3, 0, 39.8, low, high,
        3_800_000.0, 3_170_000.0, 4_420_000.0, 25 if too_few else 1_081, too_few,
    )  # fmt: skip


def backtest_rows():
    # Three months: inside, outside, inside; the summary is the mart's (2 of 3, MAE 2.0).
    months = (dt.date(2026, 1, 1), dt.date(2026, 2, 1), MAR)
    outcomes = (
        (30.0, 26.0, 34.0, 31, True),
        (28.0, 24.0, 32.0, 22, False),
        (40.0, 35.0, 45.0, 41, True),
    )
    return tuple(
        BacktestRow(month, expected, low, high, actual, covered, False, 3, 2.0, 2 / 3)
        for month, (expected, low, high, actual, covered) in zip(months, outcomes, strict=True)
    )


@pytest.mark.parametrize(
    ("low", "high", "inside"),
    [
        (34.6, 45.1, (35, 45)),
        (2.0000000001, 3.9999999999, (2, 4)),
        (0.2, 0.9, None),
        (0.0, 0.4, (0, 0)),
    ],
)
def test_the_range_is_the_whole_deals_inside_the_interval(low, high, inside):
    assert deals_inside(low, high) == inside


def test_the_tile_prints_the_forecast_and_its_backtest_as_the_cli_does():
    marts = FunnelMarts(forecast=(forecast_row(),), forecast_backtest=backtest_rows())
    report = model(ROWS, marts)
    tile = section(report, "forecast.html.j2")
    assert tile.month == APR and tile.backtest_from == dt.date(2026, 1, 1)
    html = html_of(report)
    assert "Forecast for April 2026" in html
    assert "39.8" in html and "80% range: 35 – 45" in html
    assert "66.7%" in html and "2 of 3 months" in html and "mean error 2.0 deals" in html
    cli = render_backtest(Backtest(list(backtest_rows())))
    assert "mean absolute error 2.0 deals" in cli and "2 of 3 months (66.7%)" in cli
    assert "Прогноз: апрель 2026" in html_of(report, "ru")


def test_the_backtest_range_spans_the_months_it_counts():
    """A month too few to forecast is in the mart but not in the summary: the range printed
    beside "2 of 3 months" starts at the first month counted, in the tile and the CLI."""
    early = BacktestRow(dt.date(2025, 12, 1), 0.0, 0.0, 0.0, 3, False, True, 3, 2.0, 2 / 3)
    rows = (early, *backtest_rows())
    report = model(ROWS, FunnelMarts(forecast=(forecast_row(),), forecast_backtest=rows))
    tile = section(report, "forecast.html.j2")
    assert (tile.backtest_from, tile.backtest_to) == (dt.date(2026, 1, 1), MAR)
    assert "2 of 3 months" in html_of(report)
    assert "3 months 2026-01 … 2026-03" in render_backtest(Backtest(list(rows)))


def test_too_few_deals_print_no_figures():
    marts = FunnelMarts(forecast=(forecast_row(too_few=True),), forecast_backtest=backtest_rows())
    html = html_of(model(ROWS, marts))
    assert "Too few deals to forecast: 25 deals of history." in html
    assert "39.8" not in html


def test_no_forecast_for_the_month_after_leaves_the_tile_out():
    report = model(ROWS, FunnelMarts())
    assert not any(s.template.endswith("forecast.html.j2") for s in report.sections)


def test_the_cli_table_prints_the_same_figures_and_too_few_in_words():
    backtest = Backtest(list(backtest_rows()))
    printed = render_forecast(FUNNEL, [forecast_row()], backtest, "RUB", "UTC", "en")
    assert "39.8" in printed and "35–45" in printed and "RUB\u00a03,800,000" in printed
    too_few = render_forecast(FUNNEL, [forecast_row(too_few=True)], backtest, "RUB", "UTC", "en")
    assert "too few to forecast" in too_few and "39.8" not in too_few


def test_amounts_print_to_three_significant_figures_in_the_tile_and_the_cli():
    """An estimate to the ruble claims a precision it has not: 3 091 958.4 prints as
    3 090 000 (3 significant figures, half up: 6 695 014 → 6 700 000, 845.5 → 846)."""
    row = dataclasses.replace(
        forecast_row(), expected_amount=3_091_958.4, amount_low=845.5, amount_high=6_695_014.0
    )
    report = model(ROWS, FunnelMarts(forecast=(row,), forecast_backtest=backtest_rows()))
    en = re.sub(r"\s+", " ", html_of(report)).replace("\u00a0", " ")
    ru = re.sub(r"\s+", " ", html_of(report, "ru")).replace("\u00a0", " ")
    assert "RUB 3,090,000" in en and "RUB 846 – RUB 6,700,000" in en
    assert "3 090 000 ₽" in ru and "846 ₽ – 6 700 000 ₽" in ru
    for digits in ("3,091,958", "3 091 958", "6,695,014", "6 695 014"):
        assert digits not in en and digits not in ru
    printed = render_forecast(FUNNEL, [row], Backtest(list(backtest_rows())), "RUB", "UTC", "en")
    assert "RUB\u00a03,090,000" in printed
    assert "RUB\u00a0846 – RUB\u00a06,700,000" in printed and "3,091,958" not in printed
