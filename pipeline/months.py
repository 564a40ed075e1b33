"""Calendar months as first-of-month dates: parsing 'YYYY-MM' and stepping by months."""

from __future__ import annotations

import datetime as dt


def month_start(moment: dt.datetime | dt.date) -> dt.date:
    return dt.date(moment.year, moment.month, 1)


def add_months(month: dt.date, count: int) -> dt.date:
    """The first of the month `count` months after `month`'s (before, when negative)."""
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> dt.date:
    """'2026-10' → date(2026, 10, 1) (ASCII digits, a year from 1900 on); a clear error
    otherwise."""
    try:
        if not text.isascii():
            raise ValueError
        parsed = dt.datetime.strptime(text, "%Y-%m")
        if parsed.year < 1900:
            raise ValueError
    except (TypeError, ValueError, AttributeError):
        raise ValueError(f"month must look like YYYY-MM, got {text!r}") from None
    return parsed.date()
