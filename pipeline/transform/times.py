"""Date/time text → UTC instants. Naive local times are read in the source's time zone.

Order of attempts: the configured `formats.date`, then `dd.mm.yyyy HH:MM[:SS]`,
`dd.mm.yyyy`, ISO (space or `T`, optional fraction; `Z`, an offset or ` UTC` makes it
absolute), and —
for XLSX only — Excel serial day numbers (from 61, 1900-03-01: below it Excel counts a
29 February 1900 that never was, and 0 or 1 are empty cells' dates). A configured format
with an offset (`%z`) reads absolute instants. DST: an ambiguous local time (the repeated
hour in autumn) takes the earlier instant; a non-existent one (the skipped spring hour)
is a problem reported with the value, never silently shifted, except a skipped midnight
(a zone that moves its clocks at 00:00), which is the day's first instant.

A value that parses is still refused (a problem, so its row is rejected with the reason)
when it cannot be true: a two-digit year (`%Y` reads "24" as the year 24), a year
outside `min_year`…`max_year` (`quality.min_year`/`max_year`), or an instant after
`not_after` (a file's snapshot time, or the end of the day it was read: one future-dated
value would otherwise move the data cutoff and the report month).
"""

from __future__ import annotations

import datetime as dt
import re
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
    "%Y-%m-%d %H:%M:%S%.f%#z",
    "%Y-%m-%dT%H:%M%#z",
    "%Y-%m-%d %H:%M%#z",
    "%Y-%m-%d %H:%M:%S UTC",  # (a format without an offset reads as the dtype's zone: UTC)
    "%Y-%m-%d %H:%M UTC",
)
EXPECTED_DEFAULT = "a date/time like dd.mm.yyyy HH:MM[:SS], dd.mm.yyyy or ISO yyyy-mm-dd[THH:MM:SS]"
_EXCEL_SERIAL = r"^\d{1,7}(\.\d+)?$"
_EXCEL_FIRST_SERIAL = 61  # 1900-03-01, the first day Excel numbers right
_MILLIS_PER_DAY = 86_400_000
_MICROS_PER_HOUR = 3_600_000_000
_HOURS_CONVERTED_MAX = 1_000_000  # ~114 years: a wider span is converted value by value
DEFAULT_MIN_YEAR = 2000


@dataclass(frozen=True)
class TimeFormat:
    """How one source writes times."""

    timezone: str
    date_format: str | None = None
    excel_serial: bool = False
    min_year: int = DEFAULT_MIN_YEAR
    max_year: int | None = None  # None: no upper bound on the year
    not_after: dt.datetime | None = None  # UTC: later instants are refused
    not_after_reason: str = ""  # what not_after is, for the problem text

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
    # A configured format with an offset (`%z`) gives absolute instants: it is tried with
    # the aware formats, never read as local time (which would apply the zone twice).
    configured = [fmt.date_format] if fmt.date_format else []
    aware_configured = bool(configured) and re.search(r"%[#:]?[zZ]", configured[0]) is not None
    formats = list(dict.fromkeys(([] if aware_configured else configured) + list(NAIVE_FORMATS)))
    aware_formats = (configured if aware_configured else []) + list(AWARE_FORMATS)
    txt = pl.col("text")
    out = frame.select(txt.str.strip_chars()).with_columns(
        pl.when(txt == "").then(None).otherwise(txt).alias("text")
    )
    # The formats are tried in order (the first that parses wins). A format is tried only
    # on the values left unparsed, and not on values lacking a separator it requires, so a
    # clean column costs one parse, not fifteen.
    candidates: list[tuple[pl.Expr, tuple[str, ...]]] = [
        (txt.str.strptime(pl.Datetime("us"), f, strict=False, cache=False), _separators(f))
        for f in formats
    ]
    if fmt.excel_serial:
        serial = pl.when(txt.str.contains(_EXCEL_SERIAL)).then(txt.cast(pl.Float64, strict=False))
        serial = pl.when(serial >= _EXCEL_FIRST_SERIAL).then(serial)
        # To the millisecond, Excel's own: a serial is a float fraction of a day, and the
        # workbook reader writes it with 9 decimals (18:30 would read 18:29:59.999972).
        millis = (serial * _MILLIS_PER_DAY).round(0).cast(pl.Int64)
        excel = pl.lit(dt.datetime(1899, 12, 30)) + pl.duration(milliseconds=millis)
        candidates.append((excel, ()))
    naive = _first_parse(out, candidates, pl.Datetime("us"))
    out = out.with_columns(naive=naive)
    # An offset or `Z` makes a value absolute; tried wherever one could appear (it wins).
    maybe_aware = txt.is_not_null() & (
        pl.col("naive").is_null() | txt.str.contains(r"[+Zz]|\d-\d\d:?\d\d$")
    )
    aware = pl.coalesce([txt.str.strptime(UTC_TIME, f, strict=False) for f in aware_formats])
    out = out.with_columns(
        aware=_where(out, maybe_aware, aware.dt.convert_time_zone("UTC"), UTC_TIME)
    )
    out = out.with_columns(local=_skipped_midnight_as_day_start(out["naive"], fmt.timezone))
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
    if fmt.excel_serial:
        number = txt.cast(pl.Float64, strict=False)
        early = txt.str.contains(_EXCEL_SERIAL) & (number < _EXCEL_FIRST_SERIAL)
        problem = (
            pl.when(pl.col("utc").is_null() & early.fill_null(False))
            .then(
                pl.format(
                    "'{}' is an Excel serial date before 1900-03-01 (0 is an empty date cell)",
                    "text",
                )
            )
            .otherwise(problem)
        )
    # The problem text is made only on the rows that may have one (unparsed, or a year or
    # instant out of bounds): a clean column formats no message.
    out = out.with_columns(
        problem=_where(out, _suspect(fmt), pl.coalesce(problem, _implausible(fmt)), pl.String)
    )
    utc = pl.when(pl.col("problem").is_null()).then(pl.col("utc"))
    out = out.with_columns(utc=utc)
    return out["utc"].alias(values.name), out["problem"].alias(values.name)


def _skipped_midnight_as_day_start(naive: pl.Series, timezone: str) -> pl.Series:
    """local_to_utc, except that a midnight the zone skips (Cairo, Havana, Beirut move
    their clocks at 00:00) is the day's first instant, an hour later: a bare date names a
    day that exists. Any other skipped time stays null (a problem)."""
    utc = local_to_utc(naive, timezone)
    skipped = (naive.is_not_null() & utc.is_null() & (naive.dt.time() == dt.time(0))).fill_null(
        False
    )
    if not skipped.any():
        return utc
    later = local_to_utc(naive.filter(skipped) + dt.timedelta(hours=1), timezone)
    return utc.scatter(skipped.arg_true(), later)


def local_to_utc(naive: pl.Series, timezone: str) -> pl.Series:
    """Naive local times in `timezone` → UTC instants: the earlier of an ambiguous time
    (the repeated hour in autumn), null for one that does not exist (the skipped hour).

    The zone's rules are applied to the hours the values span, not to every value: where
    a local hour's start and the next hour's start convert with the same shift, every
    time in between converts with it too (the offset changes at a transition, and no zone
    changes it twice within an hour), so such times are shifted by integer arithmetic;
    times in an hour that holds a transition are converted one by one."""
    ticks = naive.cast(pl.Int64)
    low, high = ticks.min(), ticks.max()
    if low is None or high // _MICROS_PER_HOUR - low // _MICROS_PER_HOUR > _HOURS_CONVERTED_MAX:
        return _convert_local(naive, timezone)
    first = low // _MICROS_PER_HOUR
    hours = pl.int_range(first, high // _MICROS_PER_HOUR + 2, eager=True) * _MICROS_PER_HOUR
    shift = _convert_local(hours.cast(pl.Datetime("us")), timezone).dt.replace_time_zone(None)
    shift = shift.cast(pl.Int64) - hours
    steady = pl.select(pl.when(shift == shift.shift(-1)).then(shift)).to_series()
    hour_shift = steady.gather(ticks // _MICROS_PER_HOUR - first)
    utc = (ticks + hour_shift).cast(pl.Datetime("us")).dt.replace_time_zone("UTC")
    unsteady = ticks.is_not_null() & hour_shift.is_null()
    if not unsteady.any():
        return utc.alias(naive.name)
    exact = _convert_local(naive.filter(unsteady), timezone)
    return utc.scatter(unsteady.arg_true(), exact).alias(naive.name)


def _convert_local(naive: pl.Series, timezone: str) -> pl.Series:
    """local_to_utc, value by value."""
    return naive.dt.replace_time_zone(
        timezone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")


def _suspect(fmt: TimeFormat) -> pl.Expr:
    """True on every row whose problem (parse_times) is not null: a value that did not
    parse, or whose year or instant _implausible may refuse (a superset of those rows)."""
    low = max(100, fmt.min_year)
    early = pl.coalesce(_before_year("naive", low, None), _before_year("utc", low, dt.UTC))
    suspect = pl.col("utc").is_null() | early
    if fmt.max_year is not None:
        suspect = suspect | ~_before_year("utc", fmt.max_year + 1, dt.UTC)
    if fmt.not_after is not None:
        suspect = suspect | (pl.col("utc") > fmt.not_after)
    return pl.col("text").is_not_null() & suspect.fill_null(True)


def _before_year(column: str, year: int, zone: dt.tzinfo | None) -> pl.Expr:
    """`column`'s year < `year`, as a comparison with the year's first instant (cheaper
    than taking the year of every value) where Python can write that instant."""
    if not dt.MINYEAR <= year <= dt.MAXYEAR:
        return pl.col(column).dt.year() < year
    return pl.col(column) < dt.datetime(year, 1, 1, tzinfo=zone)


def _implausible(fmt: TimeFormat) -> pl.Expr:
    """Why a parsed value cannot be true (null when it can): a year of one or two digits,
    a year outside the plausible range, an instant after `not_after`."""
    year = pl.coalesce(pl.col("naive").dt.year(), pl.col("utc").dt.year())
    problem = (
        pl.when(pl.col("utc").is_null())
        .then(None)
        .when(year < 100)
        .then(
            pl.format(
                "'{}' has a two-digit year; write the year in full (dd.mm.yyyy), or set "
                "the source's formats.date with %y",
                "text",
            )
        )
        .when(year < fmt.min_year)
        .then(_outside("text", year, fmt))
    )
    late = too_late("text", "utc", fmt)
    return problem if late is None else problem.when(late.is_not_null()).then(late)


def too_late(text: str, utc: str, fmt: TimeFormat) -> pl.Expr | None:
    """The problem of a parsed instant (column `utc`, written as column `text`) in a year
    after fmt.max_year or after fmt.not_after; None when there is no such limit."""
    if fmt.max_year is None and fmt.not_after is None:
        return None
    year = pl.col(utc).dt.year()
    problem = pl.when(pl.col(utc).is_null()).then(None)
    if fmt.max_year is not None:
        problem = problem.when(year > fmt.max_year).then(_outside(text, year, fmt))
    if fmt.not_after is not None:
        reason = pl.lit(fmt.not_after_reason or "the latest plausible time")
        problem = problem.when(pl.col(utc) > fmt.not_after).then(
            pl.format("'{}' is after {}", text, reason)
        )
    return problem


def _outside(text: str, year: pl.Expr, fmt: TimeFormat) -> pl.Expr:
    highest = "" if fmt.max_year is None else str(fmt.max_year)
    return pl.format(
        "'{}' is in the year {}, outside the plausible years {}–{} "
        "(quality.min_year, quality.max_year)",
        text,
        year,
        pl.lit(fmt.min_year),
        pl.lit(highest),
    )


_SEPARATOR_MARKS = ".:-/"
_DIRECTIVE = re.compile(r"%[-_0^#.:]*[A-Za-z%]")


def _separators(date_format: str) -> tuple[str, ...]:
    """The separators (. : - /) a format spells out literally: a value lacking one of them
    cannot parse with it."""
    literal = _DIRECTIVE.sub("", date_format)
    return tuple(sorted({c for c in literal if c in _SEPARATOR_MARKS}))


def _first_parse(
    frame: pl.DataFrame, candidates: list[tuple[pl.Expr, tuple[str, ...]]], dtype: pl.DataType
) -> pl.Series:
    """Per row of `frame` (column `text`), the first candidate that is not null (null if
    none): what coalescing the candidates over all rows gives. Each candidate is evaluated
    only on the rows still unparsed that hold all of its separators."""
    marks = sorted({mark for _, separators in candidates for mark in separators})
    pending = (
        frame.select("text")
        .with_row_index("_i")
        .filter(pl.col("text").is_not_null())
        .with_columns(pl.col("text").str.contains(m, literal=True).alias(f"_has{m}") for m in marks)
    )
    result = pl.Series("naive", [], dtype=dtype).extend_constant(None, frame.height)
    for candidate, separators in candidates:
        if pending.height == 0:
            break
        tried = pending
        if separators:
            tried = pending.filter(pl.all_horizontal(pl.col(f"_has{m}") for m in separators))
        if tried.height == 0:
            continue
        value = tried.select(candidate.cast(dtype).alias("_value"))["_value"]
        hit = value.is_not_null()
        if not hit.any():
            continue
        if tried.height == frame.height:  # every row, in order: nothing parsed before
            result = value.alias("naive")
        else:
            result = result.scatter(tried["_i"].filter(hit), value.filter(hit))
        if tried.height == pending.height:
            pending = tried.filter(~hit)
        else:
            done = tried.filter(hit).select("_i")
            pending = pending.join(done, on="_i", how="anti", maintain_order="left")
    return result


def _where(frame: pl.DataFrame, mask: pl.Expr, value: pl.Expr, dtype: pl.DataType) -> pl.Series:
    """`value` on the rows of `frame` where `mask` holds (evaluated on those rows only),
    null elsewhere."""
    rows = frame.with_row_index("_i").filter(mask)
    result = pl.Series([], dtype=dtype).extend_constant(None, frame.height)
    if rows.height == 0:
        return result
    hits = rows.select("_i", _value=value).filter(pl.col("_value").is_not_null())
    return result.scatter(hits["_i"], hits["_value"]) if hits.height else result


def parse_time(text: str, fmt: TimeFormat) -> dt.datetime | None:
    """One value → a UTC datetime (None when empty); ValueError with the reason otherwise."""
    utc, problem = parse_times(pl.Series("value", [text], dtype=pl.String), fmt)
    if problem[0] is not None:
        raise ValueError(problem[0])
    return utc[0]
