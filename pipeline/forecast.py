"""`voronka forecast`: the deals a funnel will win in the data cutoff's month
(marts.funnel_forecast) and how the same method did on the twelve months before
(marts.funnel_forecast_backtest).

The PDF's forecast tile prints the same figures with the same functions: the expected
wins with one decimal, the 80 % interval as the whole numbers of deals inside it
(`deals_inside`: an actual count is inside the interval exactly when it is in this
range, so the backtest's coverage is the share of months whose actual was printed
inside it), amounts to three significant figures (`Formatter.estimated_money`: an
estimate printed to the ruble would claim a precision it does not have).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, fields
from pathlib import Path

import duckdb

from pipeline.config import Config, Funnel
from pipeline.text_tables import english_numbers, text_table


class ForecastError(Exception):
    """The warehouse cannot answer this forecast (not built, no won stage)."""


class ForecastMonthError(ForecastError):
    """No forecast for the month asked (a usage error: exit 2)."""


def deals_inside(low: float | None, high: float | None) -> tuple[int, int] | None:
    """The whole numbers of deals in [low, high]: (ceil(low), floor(high)); float noise
    (4.0000000001) does not move an end. None when the interval holds no whole number."""
    if low is None or high is None:
        return None
    first, last = math.ceil(round(low, 6)), math.floor(round(high, 6))
    return (first, last) if first <= last else None


@dataclass(frozen=True)
class ForecastRow:
    """One row of marts.funnel_forecast (a segment)."""

    forecast_month: dt.date
    as_of_at: dt.datetime
    segment_type: str
    segment: str
    open_deals: int
    expected_won_open: float
    expected_won_new: float
    won_already: int
    expected_won: float
    won_low: float
    won_high: float
    expected_amount: float | None
    amount_low: float | None
    amount_high: float | None
    history_deals: int
    too_few_to_forecast: bool

    @property
    def won_range(self) -> tuple[int, int] | None:
        return deals_inside(self.won_low, self.won_high)


@dataclass(frozen=True)
class BacktestRow:
    """One month of marts.funnel_forecast_backtest with the funnel's summary."""

    month: dt.date
    expected_won: float
    won_low: float
    won_high: float
    actual_won: int
    is_covered: bool
    too_few_to_forecast: bool
    months_backtested: int
    mean_absolute_error: float | None
    coverage: float | None

    @property
    def won_range(self) -> tuple[int, int] | None:
        return deals_inside(self.won_low, self.won_high)


@dataclass(frozen=True)
class Backtest:
    """A funnel's backtest: its months and their summary (None: nothing backtested)."""

    rows: list[BacktestRow]

    @property
    def months(self) -> int:
        return self.rows[0].months_backtested if self.rows else 0

    @property
    def judged(self) -> list[BacktestRow]:
        """The months of the summary: the rows not too few to forecast, in month order."""
        return [row for row in self.rows if not row.too_few_to_forecast]

    @property
    def covered(self) -> int:
        return sum(1 for row in self.judged if row.is_covered)

    @property
    def mean_absolute_error(self) -> float | None:
        return self.rows[0].mean_absolute_error if self.rows else None

    @property
    def coverage(self) -> float | None:
        return self.rows[0].coverage if self.rows else None


def _columns(row_type: type) -> str:
    return ", ".join(field.name for field in fields(row_type))


def read_forecast(
    con: duckdb.DuckDBPyConnection, funnel_id: str, segment_type: str = "total"
) -> list[ForecastRow]:
    rows = con.execute(
        f"select {_columns(ForecastRow)} from marts.funnel_forecast "
        "where funnel_id = ? and segment_type = ? order by segment",
        [funnel_id, segment_type],
    ).fetchall()
    return [ForecastRow(*row) for row in rows]


def read_backtest(con: duckdb.DuckDBPyConnection, funnel_id: str) -> Backtest:
    rows = con.execute(
        f"select {_columns(BacktestRow)} from marts.funnel_forecast_backtest "
        "where funnel_id = ? order by month",
        [funnel_id],
    ).fetchall()
    return Backtest([BacktestRow(*row) for row in rows])


def _deals(value: tuple[int, int] | None) -> str:
    if value is None:
        return "none"
    low, high = value
    return str(low) if low == high else f"{low}–{high}"


def render_forecast(
    funnel: Funnel,
    rows: list[ForecastRow],
    backtest: Backtest,
    currency: str | None,
    zone: str,
    locale: str,
) -> str:
    numbers = english_numbers()
    first = rows[0]
    header = (
        f"Forecast for {funnel.name.get(locale)} ({funnel.id}), {first.forecast_month:%Y-%m}: "
        f"deals won in the month, made at the data cutoff {first.as_of_at:%Y-%m-%d %H:%M} UTC"
    )
    table = [("", "expected won", "80 % range", "amount", "amount 80 % range", "open", "history")]
    for row in rows:
        label = "total" if row.segment_type == "total" else row.segment
        if row.too_few_to_forecast:
            table.append(
                (
                    label,
                    "too few to forecast",
                    "",
                    "",
                    "",
                    str(row.open_deals),
                    str(row.history_deals),
                )
            )
            continue
        table.append(
            (
                label,
                numbers.decimal(row.expected_won),
                _deals(row.won_range),
                numbers.estimated_money(row.expected_amount, currency),
                f"{numbers.estimated_money(row.amount_low, currency)} – "
                f"{numbers.estimated_money(row.amount_high, currency)}",
                numbers.number(row.open_deals),
                numbers.number(row.history_deals),
            )
        )
    aligns = ("<", *(">" for _ in table[0][1:]))
    lines = [line.rstrip() for line in text_table(table, aligns)]
    return "\n".join(
        [
            header,
            f"Times in marts are UTC; months are cut in {zone}.",
            "",
            *lines,
            "",
            "expected won: deals won already this month + each open deal's chance to be won by "
            "the month's end + expected new deals × their chance; 80 % range: the whole deals "
            "inside the interval; amounts to 3 significant figures; open: deals open at the "
            "cutoff; history: deals the chances are learned from.",
            render_backtest(backtest),
        ]
    )


def render_backtest(backtest: Backtest) -> str:
    if not backtest.months:
        return "Backtest: no month with enough history to judge the method."
    numbers = english_numbers()
    first, last = backtest.judged[0].month, backtest.judged[-1].month
    return (
        f"Backtest ({backtest.months} months {first:%Y-%m} … {last:%Y-%m}, each forecast made "
        f"at the month's start from what was known then): mean absolute error "
        f"{numbers.decimal(backtest.mean_absolute_error)} deals; the actual was inside the "
        f"80 % range in {backtest.covered} of {backtest.months} months "
        f"({numbers.percent(backtest.coverage)})."
    )


def render_backtest_month(funnel: Funnel, row: BacktestRow, locale: str) -> str:
    numbers = english_numbers()
    verdict = "inside" if row.is_covered else "outside"
    return (
        f"Backtest forecast for {funnel.name.get(locale)} ({funnel.id}), {row.month:%Y-%m}, "
        f"made at the month's start: expected won {numbers.decimal(row.expected_won)}, 80 % range "
        f"{_deals(row.won_range)}; actually won {row.actual_won} ({verdict} the range)."
        + (" Too few to forecast." if row.too_few_to_forecast else "")
    )


def forecast_for(config: Config, funnel_id: str, month: str | None, by: str | None) -> str:
    """What `voronka forecast` prints: the cutoff month's forecast (total, or one row per
    manager with --by manager) and the backtest summary; --month of a backtest month
    prints that month's forecast against what was won."""
    funnel = config.funnel(funnel_id)  # ConfigError (exit 2) for an unknown id
    warehouse: Path = config.warehouse_path
    if not warehouse.exists():
        raise ForecastError(
            f"{warehouse}: no warehouse yet; run `voronka run` (or `voronka build`) first"
        )
    locale = config.locales[0]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = read_forecast(con, funnel_id, "total")
        if by is not None:
            rows += read_forecast(con, funnel_id, by)
        backtest = read_backtest(con, funnel_id)
    if not rows:
        raise ForecastError(
            f"no forecast for funnel {funnel_id!r}: it has no won stage or no deals"
        )
    if month is None or month == f"{rows[0].forecast_month:%Y-%m}":
        return render_forecast(funnel, rows, backtest, config.currency, config.timezone, locale)
    for row in backtest.rows:
        if f"{row.month:%Y-%m}" == month:
            if by is not None:
                raise ForecastMonthError(
                    "the backtest is per funnel: --by only with the forecast month"
                )
            return render_backtest_month(funnel, row, locale)
    months = ", ".join(f"{row.month:%Y-%m}" for row in backtest.rows)
    raise ForecastMonthError(
        f"no forecast for {month}: the forecast month is {rows[0].forecast_month:%Y-%m}"
        + (f", the backtest months are {months}" if months else "")
    )
