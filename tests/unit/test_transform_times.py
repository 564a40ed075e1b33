"""Date/time parsing: configured format first, tolerant fallbacks, UTC out, DST handled."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.transform.times import TimeFormat, local_to_utc, parse_time, parse_times

MSK = TimeFormat("Europe/Moscow", "%d.%m.%Y %H:%M")
UTC = dt.UTC


@pytest.mark.parametrize(
    "text",
    [
        "05.03.2025 10:30",
        "05.03.2025 10:30:00",
        "2025-03-05 10:30:00",
        "2025-03-05T10:30:00",
        "2025-03-05T07:30:00Z",
        "2025-03-05T09:30:00+02:00",
    ],
)
def test_russian_and_iso_spellings_give_the_same_instant(text: str) -> None:
    assert parse_time(text, MSK) == dt.datetime(2025, 3, 5, 7, 30, tzinfo=UTC)


def test_date_only_is_local_midnight() -> None:
    assert parse_time("05.03.2025", MSK) == dt.datetime(2025, 3, 4, 21, 0, tzinfo=UTC)


def test_configured_format_wins_over_fallbacks() -> None:
    us = TimeFormat("UTC", "%m/%d/%Y")
    assert parse_time("03/05/2025", us) == dt.datetime(2025, 3, 5, tzinfo=UTC)


def test_excel_serial_only_when_allowed() -> None:
    xlsx = TimeFormat("UTC", excel_serial=True)
    assert parse_time("45721.5", xlsx) == dt.datetime(2025, 3, 5, 12, 0, tzinfo=UTC)
    with pytest.raises(ValueError, match="is not a date/time"):
        parse_time("45721.5", TimeFormat("UTC"))


def test_empty_is_null_without_problem() -> None:
    utc, problem = parse_times(pl.Series(["", None, "  "], dtype=pl.String), MSK)
    assert utc.to_list() == [None, None, None]
    assert problem.to_list() == [None, None, None]


def test_garbage_is_a_problem_quoting_the_value() -> None:
    with pytest.raises(ValueError, match=r"'32\.13\.2025 10:00' is not a date/time"):
        parse_time("32.13.2025 10:00", MSK)


def test_dst_gap_in_berlin_is_rejected_not_shifted() -> None:
    berlin = TimeFormat("Europe/Berlin")
    with pytest.raises(ValueError, match="does not exist in Europe/Berlin"):
        parse_time("2024-03-31 02:30:00", berlin)
    assert parse_time("2024-03-31 03:30:00", berlin) == dt.datetime(2024, 3, 31, 1, 30, tzinfo=UTC)


def test_dst_repeated_hour_in_berlin_takes_the_earlier_instant() -> None:
    berlin = TimeFormat("Europe/Berlin")
    # 02:30 happens twice on 2024-10-27: first at 00:30 UTC (CEST), then at 01:30 UTC (CET).
    assert parse_time("2024-10-27 02:30:00", berlin) == dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC)


MIXED = [
    "05.03.2025 10:30", "2025-03-05 10:30:00", "2025-03-05T10:30:00+03:00", "", None, "вчера",
    "31.02.2025 10:00", "05.03.2025", "2025-03-05T07:30:00Z", "45721.4375", "2025-13-01 10:00",
    " 05.03.2025 10:30:00 ", "2025-03-30 02:30:00", "2025-03-05 10:30:00.250", "05/03/2025",
]  # fmt: skip


@pytest.mark.parametrize("excel_serial", [False, True])
@pytest.mark.parametrize("date_format", [None, "%d.%m.%Y %H:%M", "%d/%m/%Y"])
def test_a_column_parses_each_value_as_it_would_alone(date_format, excel_serial) -> None:
    """Formats are tried only on the values still unparsed: the result per value must not
    depend on the other values in the column."""
    fmt = TimeFormat("Europe/Berlin", date_format, excel_serial)
    utc, problem = parse_times(pl.Series("t", MIXED, dtype=pl.String), fmt)
    alone = [parse_times(pl.Series("t", [v], dtype=pl.String), fmt) for v in MIXED]
    assert utc.to_list() == [u[0] for u, _ in alone]
    assert problem.to_list() == [p[0] for _, p in alone]
    assert utc.name == problem.name == "t"


def test_year_bounds_take_the_local_year_and_the_utc_year_for_the_latest() -> None:
    """min_year reads the year as written (local), max_year the instant's UTC year."""
    fmt = TimeFormat("Europe/Moscow", min_year=2000, max_year=2026)
    values = [
        "1999-12-31 23:59:59",  # before 2000
        "2000-01-01 00:00:00",  # 1999-12-31 21:00 UTC, but written in 2000: kept
        "2026-12-31 23:59:59",  # 2026-12-31 20:59:59 UTC: kept
        "2027-01-01 02:59:59",  # 2026-12-31 23:59:59 UTC: kept
        "2027-01-01 03:00:00",  # 2027-01-01 00:00 UTC: after 2026
        "05.03.24 10:00",  # year 24
    ]
    utc, problem = parse_times(pl.Series(values, dtype=pl.String), fmt)
    assert utc.to_list() == [
        None,
        dt.datetime(1999, 12, 31, 21, 0, tzinfo=UTC),
        dt.datetime(2026, 12, 31, 20, 59, 59, tzinfo=UTC),
        dt.datetime(2026, 12, 31, 23, 59, 59, tzinfo=UTC),
        None,
        None,
    ]
    reasons = problem.to_list()
    assert reasons[0] is not None and "in the year 1999, outside" in reasons[0]
    assert reasons[1:4] == [None, None, None]
    assert reasons[4] is not None and "in the year 2027, outside" in reasons[4]
    assert reasons[5] is not None and "two-digit year" in reasons[5]


def test_an_instant_after_not_after_is_refused() -> None:
    fmt = TimeFormat("UTC", not_after=dt.datetime(2025, 3, 5, 12, 0, tzinfo=UTC))
    values = ["2025-03-05 12:00:00", "2025-03-05 12:00:01"]
    utc, problem = parse_times(pl.Series(values, dtype=pl.String), fmt)
    assert utc.to_list() == [dt.datetime(2025, 3, 5, 12, 0, tzinfo=UTC), None]
    assert problem[0] is None and "is after" in problem[1]


# Zones whose rules are awkward for a conversion by hours: DST by 30 minutes (Lord Howe),
# offsets of 45 minutes (Chatham), DST by 2 hours (Troll), transitions at midnight and
# DST suspended for Ramadan (Casablanca, Gaza), zones that changed their standard offset
# (Moscow 2011 and 2014, Kyiv), fixed offsets (Kolkata), and the usual European and
# American rules.
AWKWARD_ZONES = [
    "Europe/Berlin",
    "America/New_York",
    "America/Santiago",
    "America/Sao_Paulo",
    "Australia/Lord_Howe",
    "Pacific/Chatham",
    "Antarctica/Troll",
    "Africa/Casablanca",
    "Asia/Gaza",
    "Europe/Moscow",
    "Europe/Kyiv",
    "Asia/Kolkata",
    "UTC",
]


@pytest.mark.parametrize("zone", AWKWARD_ZONES)
def test_local_times_convert_by_hours_as_they_do_one_by_one(zone: str) -> None:
    """local_to_utc shifts whole hours at once: every local time from 2010 to 2016 (every
    7 minutes and 13 seconds, so every minute of the hour and most seconds come up) gives
    the instant the zone's rules give that value alone, including the skipped hours (null)
    and the repeated ones (the earlier instant)."""
    step = dt.timedelta(minutes=7, seconds=13)
    naive = pl.datetime_range(
        dt.datetime(2010, 1, 1), dt.datetime(2016, 12, 31), step, time_unit="us", eager=True
    )
    naive = naive.sample(fraction=1.0, shuffle=True, seed=7)  # the values in any order
    naive = naive.scatter([3, 500, 9000], None)
    one_by_one = naive.dt.replace_time_zone(
        zone, ambiguous="earliest", non_existent="null"
    ).dt.convert_time_zone("UTC")
    by_hours = local_to_utc(naive, zone)
    assert by_hours.dtype == pl.Datetime("us", "UTC")
    assert by_hours.equals(one_by_one)
    assert by_hours.null_count() >= 3


def test_local_times_spanning_centuries_and_nulls_convert_one_by_one() -> None:
    naive = pl.Series(
        "t", [dt.datetime(24, 3, 5, 10), None, dt.datetime(2025, 3, 30, 2, 30)], pl.Datetime("us")
    )
    utc = local_to_utc(naive, "Europe/Berlin")
    assert utc.to_list() == [dt.datetime(24, 3, 5, 9, 6, 32, tzinfo=UTC), None, None]
    empty = local_to_utc(pl.Series("t", [None, None], pl.Datetime("us")), "Europe/Berlin")
    assert empty.dtype == pl.Datetime("us", "UTC") and empty.null_count() == 2


def test_a_configured_format_with_an_offset_reads_absolute_instants() -> None:
    # Read as New York local time, the offset was dropped and the zone applied again:
    # 23:30 -05:00 on 31 January landed at 09:30 UTC on 1 February (cohort February).
    fmt = TimeFormat("America/New_York", "%d.%m.%Y %H:%M %z")
    values = pl.Series(["31.01.2025 23:30 -0500", "28.02.2025 23:30 +0300", "01.02.2025 10:00"])
    utc, problem = parse_times(values, fmt)
    assert utc.to_list() == [
        dt.datetime(2025, 2, 1, 4, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 2, 28, 20, 30, tzinfo=dt.UTC),
        dt.datetime(2025, 2, 1, 15, 0, tzinfo=dt.UTC),  # no offset: local, as before
    ]
    assert problem.to_list() == [None] * 3


def test_a_date_whose_midnight_the_zone_skips_is_the_days_first_instant() -> None:
    # Cairo moved its clocks from 00:00 to 01:00 on 25 April 2025: the day began at 01:00.
    utc, problem = parse_times(
        pl.Series(["2025-04-25", "25.04.2025", "2025-04-25 00:30"]), TimeFormat("Africa/Cairo")
    )
    day_start = dt.datetime(2025, 4, 24, 22, 0, tzinfo=dt.UTC)
    assert utc.to_list() == [day_start, day_start, None]
    assert problem[2].startswith("'2025-04-25 00:30' does not exist in Africa/Cairo")


def test_iso_with_a_space_a_fraction_and_an_offset_or_utc_is_absolute() -> None:
    values = pl.Series(
        ["2025-01-31 23:30:00.123+03:00", "2025-11-02 01:30-05:00", "2025-01-31 23:30:00 UTC"]
    )
    utc, problem = parse_times(values, TimeFormat("America/New_York"))
    assert utc.to_list() == [
        dt.datetime(2025, 1, 31, 20, 30, 0, 123000, tzinfo=dt.UTC),
        dt.datetime(2025, 11, 2, 6, 30, tzinfo=dt.UTC),  # the autumn hour, told by its offset
        dt.datetime(2025, 1, 31, 23, 30, tzinfo=dt.UTC),
    ]
    assert problem.to_list() == [None] * 3
