"""Date/time text → UTC instants. Naive local times are read in the source's time zone.

Order of attempts: the configured `formats.date`, then `dd.mm.yyyy HH:MM[:SS]`,
`dd.mm.yyyy`, ISO (space or `T`, optional fraction; `Z`/offset makes it absolute), and —
for XLSX only — Excel serial day numbers. DST: an ambiguous local time (the repeated hour
in autumn) takes the earlier instant; a non-existent one (the skipped spring hour) is a
problem reported with the value, never silently shifted.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import polars as pl

from pipeline.schemas import UTC_TIME

NAIVE_FORMATS = (
    "%d.%m.%Y %H:%M:%S",
    "%d.%m.%Y %H:%M",
    "%d.%m.%Y",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M:%S%.f",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%dT%H:%M:%S%.f",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d",
)
AWARE_FORMATS = (
    "%Y-%m-%dT%H:%M:%S%#z",
    "%Y-%m-%dT%H:%M:%S%.f%#z",
    "%Y-%m-%d %H:%M:%S%#z",
    "%Y-%m-%dT%H:%M%#z",
)
EXPECTED_DEFAULT = "a date/time like dd.mm.yyyy HH:MM[:SS], dd.mm.yyyy or ISO yyyy-mm-dd[THH:MM:SS]"
_EXCEL_SERIAL = r"^\d{1,7}(\.\d+)?$"
_MICROS_PER_DAY = 86_400_000_000


@dataclass(frozen=True)
class TimeFormat:
    """How one source writes times."""

    timezone: str
    date_format: str | None = None
    excel_serial: bool = False

    def expected(self) -> str:
        first = f"{self.date_format} or " if self.date_format else ""
        serial = " or an Excel serial date" if self.excel_serial else ""
        return f"{first}{EXPECTED_DEFAULT}{serial} (local time in {self.timezone})"


def parse_times(values: pl.Series, fmt: TimeFormat) -> tuple[pl.Series, pl.Series]:
    """Strings → (UTC datetimes, problem text). Empty → null with no problem.

    The problem is null where the value parsed (or was empty); otherwise it says why,
    quoting the value, so it can go straight into `rejected_rows.reason`.
    """
    frame = pl.DataFrame({"text": values.cast(pl.String)})
    text = pl.col("text").str.strip_chars()
    text = pl.when(text == "").then(None).otherwise(text)
    formats = list(
        dict.fromkeys(([fmt.date_format] if fmt.date_format else []) + list(NAIVE_FORMATS))
    )
    # The formats are tried in order (the first that parses wins); a format is tried only
    # while values are left unparsed, so a clean column costs one or two parses, not all.
    out = frame.select(text=text)
    txt = pl.col("text")
    naive = pl.lit(None, dtype=pl.Datetime("us"))
    out = out.with_columns(naive=naive)
    unparsed = txt.is_not_null() & pl.col("naive").is_null()
    candidates = [txt.str.strptime(pl.Datetime("us"), f, strict=False) for f in formats]
    if fmt.excel_serial:
        serial = pl.when(txt.str.contains(_EXCEL_SERIAL)).then(txt.cast(pl.Float64, strict=False))
        micros = (serial * _MICROS_PER_DAY).round(0).cast(pl.Int64)
        candidates.append(pl.lit(dt.datetime(1899, 12, 30)) + pl.duration(microseconds=micros))
    for candidate in candidates:
        if not out.select(unparsed.any()).item():
            break
        out = out.with_columns(naive=pl.coalesce("naive", candidate))
    # An offset or `Z` makes a value absolute; tried wherever one could appear (it wins).
    maybe_aware = txt.is_not_null() & (
        pl.col("naive").is_null() | txt.str.contains(r"[+Zz]|\d-\d\d:?\d\d$")
    )
    if out.select(maybe_aware.any()).item():
        aware = [txt.str.strptime(UTC_TIME, f, strict=False) for f in AWARE_FORMATS]
        out = out.with_columns(aware=pl.coalesce(aware).dt.convert_time_zone("UTC"))
    else:
        out = out.with_columns(aware=pl.lit(None, dtype=UTC_TIME))
    out = out.with_columns(
        local=pl.col("naive")
        .dt.replace_time_zone(fmt.timezone, ambiguous="earliest", non_existent="null")
        .dt.convert_time_zone("UTC")
    )
    out = out.with_columns(utc=pl.coalesce("aware", "local").cast(UTC_TIME))
    problem = (
        pl.when(pl.col("text").is_null() | pl.col("utc").is_not_null())
        .then(None)
        .when(pl.col("naive").is_not_null())
        .then(
            pl.format(
                "'{}' does not exist in {} (the clock skips that hour at the DST change)",
                "text",
                pl.lit(fmt.timezone),
            )
        )
        .otherwise(pl.format("'{}' is not a date/time", "text"))
    )
    out = out.with_columns(problem=problem)
    return out["utc"].alias(values.name), out["problem"].alias(values.name)


def parse_time(text: str, fmt: TimeFormat) -> dt.datetime | None:
    """One value → a UTC datetime (None when empty); ValueError with the reason otherwise."""
    utc, problem = parse_times(pl.Series("value", [text], dtype=pl.String), fmt)
    if problem[0] is not None:
        raise ValueError(problem[0])
    return utc[0]
