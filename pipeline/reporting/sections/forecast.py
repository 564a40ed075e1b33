"""The forecast for the data cutoff's month (the month after the report month, or the
report month itself while it is in progress): marts.funnel_forecast, segment total, and
how the method did (marts.funnel_forecast_backtest), as `voronka forecast` prints them
(pipeline.forecast: the whole deals inside the 80 % interval)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pipeline.forecast import Backtest, ForecastRow
from pipeline.reporting.model import ReportInputs


@dataclass(frozen=True)
class ForecastTile:
    forecast: ForecastRow
    backtest: Backtest

    @property
    def month(self) -> dt.date:
        return self.forecast.forecast_month

    @property
    def backtest_from(self) -> dt.date | None:
        """The first month the backtest's summary counts (months too few to forecast are
        not in it)."""
        return self.backtest.judged[0].month if self.backtest.judged else None

    @property
    def backtest_to(self) -> dt.date | None:
        return self.backtest.judged[-1].month if self.backtest.judged else None


def build(inputs: ReportInputs) -> ForecastTile | None:
    """None when the mart has no forecast for the report month or the month after it (a
    report of an earlier month, or a funnel without a won stage). The forecast is for the
    data cutoff's month: the month after a report of the last complete month, the report
    month itself in a report of the month in progress."""
    if not inputs.marts.forecast:
        return None
    (forecast,) = inputs.marts.forecast
    return ForecastTile(forecast, Backtest(list(inputs.marts.forecast_backtest)))
