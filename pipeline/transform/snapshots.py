"""When a CRM export was taken (`crm_deals.snapshot_at`): from the data, never the clock.

The rule, the first that applies:
1. **The file name's date** (`deals_2026-11-01.csv`, `deals_20261101.csv`, optionally
   followed by a time `_1430`, `T14:30`, `-143000`), read as local time in the source's
   zone; a date without a time means 00:00 local of that day. Names are what operators
   control and copy without changing.
2. **A mapped modified-at column** (`modified_at`: amoCRM «Дата редактирования», Bitrix24
   «Дата изменения», Pipedrive `Deal - Update time`, …): its latest value over the file's
   accepted rows. An export holds every deal as of the moment it was taken, so the last
   edit in it is the closest the data gets to that moment.
3. **The latest time the file's accepted rows state**: creation, closing (of closed deals
   only: an open deal's close date is a plan, often in the future), modification and
   stage dates.

Rules 2 and 3 read accepted rows only, and a row stating a time after the end of the day
the file is read (or in an implausible year) is rejected (`transform.times`), so one
mistyped year never becomes a snapshot. With rule 1, a time more than a day after the
name's date rejects its row the same way (`ingest.latest_plausible`).

Never the file's modification time or the time it was read: copying resets the one, and
the other would move the data's cutoff with every rerun (an export of years past would
get a month spine up to today). A file with no accepted row and no date in its name has
no snapshot; it adds no deal rows either.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo

FROM_NAME = "name"
FROM_COLUMN = "column"
FROM_ROWS = "rows"

_DATE_TIME = re.compile(
    r"(?<!\d)(?P<y>20\d\d)-?(?P<m>[01]\d)-?(?P<d>[0-3]\d)"
    r"(?:[T_ \-]?(?P<H>[0-2]\d)[:\-]?(?P<M>[0-5]\d)(?:[:\-]?(?P<S>[0-5]\d))?(?![0-9A-Za-z]))?"
    r"(?!\d)"
)


class NameTimeError(ValueError):
    """A file name states a local time its zone skips (the hour the clocks go forward)."""


def snapshot_from_name(name: str, timezone: str) -> dt.datetime | None:
    """The UTC instant a file name states, or None when it states no valid date. A time
    (digits after the date, not the start of an id such as `_1234abcd`) that the zone
    skips raises NameTimeError, as such a time in a row is rejected; a bare date whose
    midnight the zone skips (Cairo, Havana) is the day's first instant."""
    zone = ZoneInfo(timezone)
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
        utc = local.replace(tzinfo=zone).astimezone(dt.UTC)
        if utc.astimezone(zone).replace(tzinfo=None) == local:
            return utc
        if "H" in parts:
            raise NameTimeError(
                f"the time in the file name, {local:%Y-%m-%d %H:%M}, does not exist in "
                f"{timezone} (the clock skips that hour at the DST change); rename the file "
                "with the export's time"
            )
        return (local + dt.timedelta(hours=1)).replace(tzinfo=zone).astimezone(dt.UTC)
    return None


@dataclass(frozen=True)
class RowTimes:
    """The latest times the accepted rows of a deals file (or of one batch of it) state."""

    modified: dt.datetime | None = None  # the mapped modified-at column (rule 2)
    latest: dt.datetime | None = None  # any time of the rows (rule 3)

    def merge(self, other: RowTimes) -> RowTimes:
        """The times of two batches of one file, as one file."""
        return RowTimes(_later(self.modified, other.modified), _later(self.latest, other.latest))


@dataclass(frozen=True)
class Snapshot:
    """A file's snapshot time and the rule that gave it."""

    at: dt.datetime | None  # UTC; None: no date in the name and no accepted row
    rule: str  # FROM_NAME / FROM_COLUMN / FROM_ROWS
    column: str | None = None  # FROM_COLUMN: the file's header of the modified-at column

    def describe(self) -> str:
        """`2024-06-30 18:00 UTC (from the file name)`, as check and the ledger show it."""
        if self.at is None:
            return "none (no date in the file name and no accepted row)"
        how = {
            FROM_NAME: "from the file name",
            FROM_COLUMN: f"from column {self.column!r}",
            FROM_ROWS: "latest date in the rows",
        }[self.rule]
        return f"{_utc_text(self.at)} ({how})"


def snapshot_of_file(
    name: str, timezone: str, times: RowTimes, modified_column: str | None = None
) -> Snapshot:
    """The snapshot of a deals file named `name` (no folder) whose accepted rows state
    `times` (the rule in the module docstring)."""
    named = snapshot_from_name(name, timezone)
    if named is not None:
        return Snapshot(named, FROM_NAME)
    if times.modified is not None:
        return Snapshot(times.modified, FROM_COLUMN, modified_column)
    return Snapshot(times.latest, FROM_ROWS)


def _later(a: dt.datetime | None, b: dt.datetime | None) -> dt.datetime | None:
    return b if a is None else a if b is None else max(a, b)


def _utc_text(at: dt.datetime) -> str:
    utc = at.astimezone(dt.UTC)
    return utc.strftime("%Y-%m-%d %H:%M:%S UTC" if utc.second else "%Y-%m-%d %H:%M UTC")
