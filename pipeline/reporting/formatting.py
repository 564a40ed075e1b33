"""Locale-aware formatting of mart values (Babel); registered as Jinja filters.

Formatting only: values are shown as the mart has them, never recomputed. A missing
value (NULL in the mart) prints as a dash.
"""

from __future__ import annotations

import datetime as dt
import re
from decimal import ROUND_HALF_UP, Decimal

from babel import Locale
from babel.dates import format_date, format_datetime, format_interval
from babel.numbers import format_currency, format_decimal, format_percent

DASH = "—"
MINUS = "\u2212"  # a typographic minus sign, as wide as the plus

ESTIMATE_FIGURES = 3  # significant figures of an estimated sum

_DATETIME_PATTERNS = {"ru": "d MMMM y, HH:mm", "en": "MMMM d, y, HH:mm"}


def _one_decimal(pattern: str) -> str:
    """The locale's percent pattern with exactly one decimal: '#,##0 %' → '#,##0.0 %'."""
    return re.sub(r"0(?=[^0]*$)", "0.0", pattern, count=1)


class Formatter:
    """All number and date formats of one locale."""

    def __init__(self, locale: str) -> None:
        self.locale = locale
        self._babel = Locale.parse(locale)
        self._percent_pattern = _one_decimal(self._babel.percent_formats[None].pattern)
        self._decimal_one = "#,##0.0"
        # The locale's currency pattern in whole units: '#,##0.00 ¤' → '#,##0 ¤'.
        self._money_pattern = re.sub(
            r"0\.0+", "0", self._babel.currency_formats["standard"].pattern
        )

    def number(self, value: int | float | None) -> str:
        if value is None:
            return DASH
        return format_decimal(value, format="#,##0", locale=self._babel)

    def money(self, value: int | float | None, currency: str | None = None) -> str:
        """A sum in whole units with its currency as the locale writes it: '4 161 800 ₽' /
        'RUB 4,161,800'; a bare number when the currency is not configured."""
        if value is None:
            return DASH
        if not currency:
            return self.number(value)
        text = format_currency(
            value,
            currency,
            format=self._money_pattern,
            locale=self._babel,
            currency_digits=False,
        )
        # A currency written in letters gets a space before the digits (CLDR's
        # currency spacing, which Babel leaves out): 'RUB 4,161,800', not 'RUB4,161,800'.
        return re.sub(r"^([^\W\d_]+)(?=\d)", "\\1\u00a0", text)

    def estimated_money(self, value: int | float | None, currency: str | None = None) -> str:
        """An estimate's sum (the forecast's amount and its range) to three significant
        figures, as `money` writes it: '3 090 000 ₽' / 'RUB 3,090,000' for 3 091 958.4,
        no false precision to the ruble."""
        return self.money(significant(value, ESTIMATE_FIGURES), currency)

    def signed_money(self, value: int | float | None, currency: str | None = None) -> str:
        """A change in a sum: '+78 900 ₽', '−RUB 485,300'."""
        if value is None:
            return DASH
        return _with_sign(value, self.money(abs(value), currency))

    def percent(self, value: float | None) -> str:
        """A share or rate (0.345) as a percent with one decimal: '34,5 %' / '34.5%'."""
        if value is None:
            return DASH
        return format_percent(value, format=self._percent_pattern, locale=self._babel)

    def interval(self, low: float | None, high: float | None) -> str:
        if low is None or high is None:
            return DASH
        return f"{self.percent(low)} – {self.percent(high)}"

    def signed_number(self, value: int | float | None) -> str:
        """A change in a count: '+1 234', '−56', '0'."""
        if value is None:
            return DASH
        text = format_decimal(abs(value), format="#,##0", locale=self._babel)
        return _with_sign(value, text)

    def signed_points(self, value: float | None, unit: str) -> str:
        """A change in a rate, in percentage points: '+2,1 п. п.' / '−0.4 pp'."""
        if value is None:
            return DASH
        points = abs(value) * 100
        text = format_decimal(points, format=self._decimal_one, locale=self._babel)
        if text == format_decimal(0, format=self._decimal_one, locale=self._babel):
            return f"{text}\u00a0{unit}"
        return f"{_with_sign(value, text)}\u00a0{unit}"

    def decimal(self, value: float | None) -> str:
        """A mart value with one decimal: '7,7' / '7.7' (days, expected sales)."""
        if value is None:
            return DASH
        return format_decimal(value, format=self._decimal_one, locale=self._babel)

    def signed_decimal(self, value: float | None) -> str:
        """A change with one decimal: '+5,9' / '−0.4'."""
        if value is None:
            return DASH
        text = format_decimal(abs(value), format=self._decimal_one, locale=self._babel)
        if text == format_decimal(0, format=self._decimal_one, locale=self._babel):
            return text
        return _with_sign(value, text)

    def month_range(self, start: dt.date | None, end: dt.date | None) -> str:
        """'май – июль 2026 г.' / 'May – July 2026'; one month prints alone."""
        if start is None or end is None:
            return DASH
        if start == end:
            return self.month(start)
        return format_interval(start, end, "yMMMM", locale=self._babel)

    def month(self, value: dt.date | None) -> str:
        """'октябрь 2026' / 'October 2026' (stand-alone month name)."""
        if value is None:
            return DASH
        return format_date(value, "LLLL y", locale=self._babel)

    def day(self, value: dt.date | dt.datetime | None) -> str:
        """'3 нояб. 2026 г.' / 'Nov 3, 2026'."""
        if value is None:
            return DASH
        return format_date(value, "medium", locale=self._babel)

    def month_short(self, value: dt.date) -> str:
        """'окт.' / 'Oct'."""
        return format_date(value, "LLL", locale=self._babel)

    def year(self, value: dt.date) -> str:
        return format_date(value, "y", locale=self._babel)

    def datetime(self, value: dt.datetime | None) -> str:
        if value is None:
            return DASH
        pattern = _DATETIME_PATTERNS.get(self.locale, "y-MM-dd HH:mm")
        return format_datetime(value, pattern, locale=self._babel)

    def filters(self) -> dict[str, object]:
        return {
            "num": self.number,
            "money": self.money,
            "estimated_money": self.estimated_money,
            "signed_money": self.signed_money,
            "pct": self.percent,
            "interval": self.interval,
            "signed_num": self.signed_number,
            "signed_pp": self.signed_points,
            "dec": self.decimal,
            "signed_dec": self.signed_decimal,
            "month_range": self.month_range,
            "month": self.month,
            "month_short": self.month_short,
            "day": self.day,
            "year": self.year,
            "datetime": self.datetime,
        }


def significant(value: int | float | None, figures: int) -> int | None:
    """`value` rounded to `figures` significant figures, half away from zero, as a whole
    number (never finer than a unit): 3 091 958.4 → 3 090 000, 6 690 014 → 6 690 000,
    845.5 → 846; None stays None."""
    if value is None:
        return None
    exact = Decimal(repr(float(value)))
    if exact == 0:
        return 0
    step = Decimal(1).scaleb(max(exact.adjusted() + 1 - figures, 0))
    return int((exact / step).quantize(Decimal(1), rounding=ROUND_HALF_UP) * step)


def _with_sign(value: float, text: str) -> str:
    if value > 0:
        return f"+{text}"
    if value < 0:
        return f"{MINUS}{text}"
    return text
