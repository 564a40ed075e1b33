"""Calendar months as first-of-month dates: parsing 'YYYY-MM' and stepping by months."""

from __future__ import annotations

import datetime as dt


def add_months(month: dt.date, count: int) -> dt.date:
    index = month.year * 12 + month.month - 1 + count
    return dt.date(index // 12, index % 12 + 1, 1)


def parse_month(text: str) -> dt.date:
    """'2026-10' → date(2026, 10, 1); a clear error otherwise."""
    try:
        parsed = dt.datetime.strptime(text, "%Y-%m")
    except (TypeError, ValueError):
        raise ValueError(f"month must look like YYYY-MM, got {text!r}") from None
    return parsed.date()
