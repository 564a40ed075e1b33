"""Issue 14 items 1 and 7: one implausible date must not move the report month.

A closed date in 2035 among 50 deals made the cutoff 2035 (six empty PDFs, an October
cohort printed as mature); "01.11.24" landed as the year 24 and Excel serials 0 and 1 as
1899. Now a time after the file's snapshot (or after the day an undated file is read), a
two-digit year and a year outside quality.min_year…max_year reject the row with the
reason; the rejects are counted in the ledger and the cutoff sees only what landed."""

from __future__ import annotations

import datetime as dt

import duckdb

from pipeline.warehouse import build_warehouse
from tests.reliability.inbox_cases import (
    HISTORY_HEADER,
    cdr,
    deal,
    deals_file,
    ingest,
    ledger,
    make_project,
    put,
    rejects,
    table,
    xlsx,
)

UTC = dt.UTC


def test_a_close_date_in_2035_is_rejected_and_the_cutoff_stays(tmp_path) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    rows = [deal(n, f"{1 + n % 27:02d}.02.2025 10:00") for n in range(48)]
    rows.append(deal(48, "20.02.2025 10:00", "Won", "15.06.2035 10:00"))  # a typo'd year
    rows.append(deal(49, "21.02.2025 10:00", "New", "01.07.2025 00:00"))  # open: a plan
    put(config, "crm/deals_2025-03-01_0600.csv", deals_file(*rows))
    [result] = ingest(config).files

    assert (result.status, result.rows_total, result.rows_rejected) == ("loaded", 50, 1)
    [reject] = rejects(config).to_dicts()
    assert (reject["row_number"], reject["column"]) == (49, "Closed")
    assert "'15.06.2035 10:00' is " in reject["reason"]
    assert "D0048" not in table(config, "crm_deals")["deal_id"].to_list()

    build_warehouse(config)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        [(cutoff, last_month)] = con.execute(
            "select cutoff_at, last_complete_month from marts.data_cutoff"
        ).fetchall()
    assert cutoff.year == 2025 and cutoff.month == 3  # the snapshot, 2025-03-01 03:00 UTC
    assert last_month == dt.date(2025, 2, 1)


def test_times_after_the_snapshot_or_the_ingest_day_are_rejected_with_the_reason(
    tmp_path,
) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.9}")
    soon = dt.date.today() + dt.timedelta(days=40)  # a plausible year, but not yet
    later = f"{soon:%d.%m.%Y} 10:00"
    put(
        config,
        "crm/deals_2025-03-01_0600.csv",
        deals_file(deal(1), deal(2, "01.03.2025 23:00"), deal(3, "05.03.2025 10:00")),
    )
    # no date in the name: the snapshot is the latest plausible time of the rows
    put(config, "crm/deals_undated.csv", deals_file(deal(4, "11.02.2025 12:00"), deal(5, later)))
    history = [HISTORY_HEADER, "D0001;Won;20.02.2025 10:00;", f"D0001;Lost;{later};"]
    put(config, "crm/history.csv", "\n".join(history) + "\n")
    calls = [cdr(1, "2025-02-10 10:00:00"), cdr(2, f"{soon:%Y-%m-%d} 10:00:00")]
    put(config, "pbx/Master.csv", "\n".join(calls) + "\n")
    summary = ingest(config)

    by_path = {f.path: f for f in summary.files}
    assert {path: f.rows_rejected for path, f in by_path.items()} == {
        "crm/deals_2025-03-01_0600.csv": 1,
        "crm/deals_undated.csv": 1,
        "crm/history.csv": 1,
        "pbx/Master.csv": 1,
    }
    reasons = {r["raw"].split(";")[0]: r["reason"] for r in rejects(config).to_dicts()}
    # 01.03 23:00 is within a day of the named snapshot, 01.03 06:00; 05.03 is not
    assert "is after the file's snapshot time 2025-03-01 03:00 UTC" in reasons["D0003"]
    assert "is after the end of the day it was read" in reasons["D0005"]
    assert "is after the end of the day it was read" in reasons["D0001"]  # the history row
    [call_reason] = [r for key, r in reasons.items() if key.startswith('""')]
    assert "is after the end of the day it was read" in call_reason

    # the undated file's snapshot: its latest plausible time, not the rejected one
    snapshot = table(config, "crm_deals").filter(deal_id="D0004")["snapshot_at"].item()
    assert snapshot == dt.datetime(2025, 2, 11, 9, 0, tzinfo=UTC)
    assert ledger(config)["rows_rejected"].sum() == 4


def test_a_day_after_the_named_date_is_a_calendar_day_when_the_clocks_change(tmp_path) -> None:
    """In Berlin 25 October 2026 has 25 hours: a deal created at 23:30 that day, in a file
    named with that date, was rejected as after the snapshot 'plus a day' (24 hours end at
    23:00 on the clock), and the file failed. On 29 March (23 hours) 00:30 of the next day
    was let in. A day after the named date is the next local midnight."""
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.9}", zone="Europe/Berlin")
    put(
        config,
        "crm/deals_2026-10-25.csv",
        deals_file(deal(1, "25.10.2026 23:30"), deal(2, "26.10.2026 00:30")),
    )
    put(
        config,
        "crm/deals_2026-03-29.csv",
        deals_file(deal(3, "29.03.2026 23:30"), deal(4, "30.03.2026 00:30")),
    )
    summary = ingest(config)

    assert {f.path: f.rows_rejected for f in summary.files} == {
        "crm/deals_2026-10-25.csv": 1,
        "crm/deals_2026-03-29.csv": 1,
    }
    rejected = sorted(r["raw"].split(";")[0] for r in rejects(config).to_dicts())
    assert rejected == ["D0002", "D0004"]


def test_two_digit_and_implausible_years_are_rejected(tmp_path) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.9}")
    put(
        config,
        "crm/deals_2025-03-01.csv",
        deals_file(
            deal(1, "01.11.24 10:00"),  # %Y reads "24" as the year 24
            deal(2, "01.11.1999 10:00"),  # before quality.min_year (2000)
            deal(3, "01.11.2024 10:00"),
        ),
    )
    header = ["Deal", "Created", "Stage", "Owner", "Phone", "Closed"]
    put(
        config,
        "crm/deals_book_2025-03-01.xlsx",
        xlsx(
            [
                header,
                ["X1", 0, "New", "Anna Smirnova", "", ""],  # Excel's empty date: 1899-12-30
                ["X2", 1, "New", "Anna Smirnova", "", ""],  # 1899-12-31
                ["X3", 2958465, "New", "Anna Smirnova", "", ""],  # 9999-12-31
                ["X4", 45717.5, "New", "Anna Smirnova", "", ""],  # 2025-03-01 12:00
            ]
        ),
    )
    ingest(config)

    deals = table(config, "crm_deals").sort("deal_id")
    assert deals["deal_id"].to_list() == ["D0003", "X4"]
    assert deals["created_at"].dt.year().to_list() == [2024, 2025]
    rows = rejects(config).to_dicts()
    reasons = {r["raw"].split(";")[0].split("\t")[0]: r["reason"] for r in rows}
    assert "two-digit year" in reasons["D0001"]
    assert "outside the plausible years 2000–" in reasons["D0002"]
    assert set(reasons) == {"D0001", "D0002", "X1", "X2", "X3"}
    assert "year 9999" in reasons["X3"]
    assert "Excel serial" in reasons["X1"] and "Excel serial" in reasons["X2"]


def test_the_plausible_years_are_configurable(tmp_path) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.5, min_year: 1990}")
    put(config, "crm/deals_2025-03-01.csv", deals_file(deal(1, "01.11.1999 10:00")))
    [result] = ingest(config).files
    assert (result.rows_accepted, result.rows_rejected) == (1, 0)
