"""When a CRM export was taken (`crm_deals.snapshot_at`).

Rule: a date in the file name (`deals_2026-11-01.csv`, `deals_20261101.csv`, optionally
followed by a time `_1430`, `T14:30`, `-143000`) is the snapshot, read as local time in
the source's zone; a date without a time means 00:00 local of that day. Without a date in
the name, the file's modification time is used. Names are what operators control and
copy without changing, so they win over mtime, which copying resets.
"""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

_DATE_TIME = re.compile(
    r"(?<!\d)(?P<y>20\d\d)-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)"
    r"(?:[T_ \-]?(?P<H>[0-2]\d)[:\-]?(?P<M>[0-5]\d)(?:[:\-]?(?P<S>[0-5]\d))?)?(?!\d)"
)


def snapshot_from_name(name: str, timezone: str) -> dt.datetime | None:
    """The UTC instant a file name states, or None when it states no valid date."""
    for match in _DATE_TIME.finditer(name):
        parts = {k: int(v) for k, v in match.groupdict().items() if v is not None}
        try:
            local = dt.datetime(
                parts["y"],
                parts["m"],
                parts["d"],
                parts.get("H", 0),
                parts.get("M", 0),
                parts.get("S", 0),
            )
        except ValueError:
            continue
        return local.replace(tzinfo=ZoneInfo(timezone)).astimezone(dt.UTC)
    return None


def snapshot_at(name: str, timezone: str, mtime: float) -> dt.datetime:
    return snapshot_from_name(name, timezone) or dt.datetime.fromtimestamp(mtime, dt.UTC)
