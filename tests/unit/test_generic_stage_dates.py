"""An opportunity table (generic `kind: crm` with `stage_dates`): one date column per
stage; each filled date is one exact stage entry, a blank adds none, a date that does not
parse rejects the row naming the column. Expected entries are written out by hand
(Europe/Moscow is UTC+3: a date alone is 00:00 local, 21:00 UTC the day before)."""

from __future__ import annotations

import datetime as dt

import polars as pl
import pytest

from pipeline.ingest import check_file, ingest_inbox
from tests.unit._fixtures_ingest import assert_invariant, make_config, put, table

UTC = dt.UTC
SOURCE = """
  - name: crm
    kind: crm
    preset: generic
    files: "crm/*.csv"
    columns: {deal_id: "Сделка", created_at: "Создана", manager: "Менеджер",
              crm_pipeline: "Воронка"}
    stage: {value: "Новая"}
    stage_dates: {"Встреча": "Дата встречи", "КП: отправлено": "Дата КП",
                  "Договор": "Дата договора"}
    formats: {date: "%d.%m.%Y"}
"""
TEXT = (
    "Сделка;Создана;Менеджер;Воронка;Дата встречи;Дата КП;Дата договора\r\n"
    "O-1;01.04.2024;Иванов;P;03.04.2024;10.04.2024;20.04.2024\r\n"
    "O-2;02.04.2024;Петров;P;05.04.2024;;\r\n"
    "O-3;03.04.2024;Иванов;P;;;\r\n"
    "O-4;04.04.2024;Петров;P;31.04.2024;;\r\n"  # 31 April does not exist
)


def midnight_moscow(day: int) -> dt.datetime:
    return dt.datetime(2024, 4, day - 1, 21, 0, tzinfo=UTC)


EXPECTED_ENTRIES = [
    ("O-1", "Встреча", midnight_moscow(3), "Иванов"),
    ("O-1", "КП: отправлено", midnight_moscow(10), "Иванов"),
    ("O-1", "Договор", midnight_moscow(20), "Иванов"),
    ("O-2", "Встреча", midnight_moscow(5), "Петров"),
]


@pytest.mark.parametrize("stream_min_bytes", [1 << 60, 0], ids=["whole", "streamed"])
def test_each_filled_stage_date_is_one_exact_entry(tmp_path, stream_min_bytes) -> None:
    config = make_config(tmp_path, SOURCE)
    put(config, "crm/opportunities.csv", TEXT, "cp1251")
    [result] = ingest_inbox(config, settle_seconds=0, stream_min_bytes=stream_min_bytes).files
    assert_invariant(config)
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (4, 3, 1)
    all_events = table(config, "crm_stage_events")
    events = all_events.filter(pl.col("is_exact")).sort("deal_id", "entered_at")
    found = events.select("deal_id", "stage", "entered_at", "manager").rows()
    assert found == EXPECTED_ENTRIES
    assert events["entered_after"].null_count() == 4
    assert table(config, "crm_deals")["deal_id"].sort().to_list() == ["O-1", "O-2", "O-3"]
    # Landing holds only the rows read from the file; each deal's stage as the export
    # shows it is inferred in dbt (int_stage_entries_inferred), beside these.
    assert all_events.height == 4


def test_a_bad_stage_date_rejects_the_row_naming_the_column_and_format(tmp_path) -> None:
    config = make_config(tmp_path, SOURCE)
    put(config, "crm/opportunities.csv", TEXT, "cp1251")
    ingest_inbox(config, settle_seconds=0)
    [reject] = table(config, "rejected_rows").to_dicts()
    assert (reject["row_number"], reject["column"]) == (4, "Дата встречи")
    assert "31.04.2024" in reject["reason"]
    assert reject["expected"].startswith("%d.%m.%Y")


def test_the_snapshot_counts_the_stage_dates_of_accepted_rows(tmp_path) -> None:
    config = make_config(tmp_path, SOURCE)
    put(config, "crm/opportunities.csv", TEXT, "cp1251")
    ingest_inbox(config, settle_seconds=0)
    # the latest time of the accepted rows: O-1's contract date, 20.04.2024
    assert set(table(config, "crm_deals")["snapshot_at"].to_list()) == {midnight_moscow(20)}


def test_check_lists_what_becomes_a_stage_entry(tmp_path) -> None:
    config = make_config(tmp_path, SOURCE)
    path = put(config, "crm/opportunities.csv", TEXT, "cp1251")
    report = check_file(config, path)
    text = report.render()
    for stage, column in (
        ("Встреча", "Дата встречи"),
        ("КП: отправлено", "Дата КП"),
        ("Договор", "Дата договора"),
    ):
        line = next(line for line in text.splitlines() if line.endswith(f"← {column}"))
        assert f"entered stage {stage!r}" in line
    assert "row 4, column 'Дата встречи'" in text
    assert report.stages_seen == {"Встреча": 2, "Новая": 3, "Договор": 1, "КП: отправлено": 1}
    assert "snapshot:   2024-04-19 21:00 UTC (latest date in the rows)" in text


AMOCRM_SOURCE = """
  - name: crm
    kind: crm
    preset: amocrm
    files: "amo/*.csv"
    stage_dates: {"Замер": "Дата замера"}
"""


def test_stage_dates_on_a_vendor_preset_are_entries_not_attributes(tmp_path) -> None:
    config = make_config(tmp_path, AMOCRM_SOURCE)
    text = (
        "ID;Дата создания сделки;Этап сделки;Воронка;Ответственный;Дата замера\r\n"
        "7;01.04.2024 10:00:00;Замер;P;Иванов;02.04.2024 15:30:00\r\n"
        "8;01.04.2024 11:00:00;Новая;P;Петров;\r\n"
    )
    put(config, "amo/amocrm_export_leads_2024-04-05.csv", text, "cp1251")
    ingest_inbox(config, settle_seconds=0)
    assert_invariant(config)
    events = table(config, "crm_stage_events").filter(pl.col("is_exact"))
    # 02.04.2024 15:30 Moscow
    assert events.select("deal_id", "stage", "entered_at", "is_exact").rows() == [
        ("7", "Замер", dt.datetime(2024, 4, 2, 12, 30, tzinfo=UTC), True)
    ]
    assert "Дата замера" not in table(config, "crm_deal_attributes")["name"].to_list()
