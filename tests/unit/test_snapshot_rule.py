"""A CRM export's snapshot time comes from the data, never the clock: the date in the file
name, else the latest value of a mapped modified-at column, else the latest time the
file's accepted rows state. Expected instants are worked out by hand in the comments
(Europe/Moscow is UTC+3 all year since 2014)."""

from __future__ import annotations

import datetime as dt
import os

from pipeline import io
from pipeline.ingest import check_file, ingest_inbox
from tests.unit._fixtures_ingest import assert_invariant, ledger, make_config, put, table

UTC = dt.UTC
SNAPSHOT_TABLES = ("crm_deals", "crm_deal_phones", "crm_deal_attributes")

AMOCRM_SOURCE = """
  - name: crm
    kind: crm
    preset: amocrm
    files: "amo/*.csv"
"""
# An amoCRM deals export of 2019 as the export button writes it (cp1251, `;`, CRLF).
AMOCRM_HEADER = (
    "ID;Название сделки;Бюджет;Ответственный;Дата создания сделки;Кем создана сделка;"
    "Дата редактирования;Кем редактирована;Дата закрытия;Теги;Этап сделки;Воронка;"
    "Мобильный телефон;Город;Источник"
)
AMOCRM_ROWS = (
    "101;Двери;15000;Смирнова А.;03.06.2019 10:00:00;Смирнова А.;05.06.2019 12:00:00;"
    "Смирнова А.;;;Замер назначен;P;+7 916 123-45-67;Москва;Сайт",
    "102;Окна;20000;Петров;10.06.2019 09:15:00;Петров;28.06.2019 17:45:00;Петров;"
    "28.06.2019 17:45:00;;Успешно реализовано;P;8 903 123 45 67;Тула;Звонок",
    "103;Дверь;500;Смирнова А.;20.06.2019 11:00:00;Смирнова А.;21.06.2019 08:00:00;"
    "Смирнова А.;;;Переговоры;P;;Москва;Сайт",
)
# The latest «Дата редактирования»: 28.06.2019 17:45 Moscow.
LAST_EDIT = dt.datetime(2019, 6, 28, 14, 45, tzinfo=UTC)

GENERIC_SOURCE = """
  - name: crm
    kind: crm
    preset: generic
    files: "crm/*.csv"
    columns: {deal_id: "ID", crm_pipeline: "Pipeline", stage: "Stage", created_at: "Opened",
              closed_at: "Closed", manager: "Owner", client_phone: "Phone", city: "City"}
    status: {won: ["Won"], lost: ["Lost"]}
    formats: {date: "%d.%m.%Y %H:%M"}
"""
GENERIC_HEADER = "ID;Pipeline;Stage;Opened;Closed;Owner;Phone;City"
GENERIC_ROWS = (
    "1;P;A;01.03.2019 10:00;;Иванов;+79161234567;Москва",
    "2;P;Won;02.03.2019 11:30;15.04.2019 18:00;Петров;89031234567;Тула",
    # open: its close date is a plan (2030), not a time the export has seen
    "3;P;A;05.03.2019 09:00;01.01.2030 00:00;Иванов;;Москва",
    # rejected (bad creation date): its times count for nothing
    "4;P;A;31.05.2019 25:00;;Иванов;;Москва",
)
# The latest time of the accepted rows: deal 2 closed 15.04.2019 18:00 Moscow.
LATEST_ROW_TIME = dt.datetime(2019, 4, 15, 15, 0, tzinfo=UTC)


def csv_text(header: str, *rows: str) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def ingest(config, **kwargs):
    summary = ingest_inbox(config, settle_seconds=0, **kwargs)
    assert_invariant(config)
    return summary


def snapshot_values(config) -> dict[str, set]:
    """Every distinct snapshot_at of each table that carries one."""
    return {name: set(table(config, name)["snapshot_at"].to_list()) for name in SNAPSHOT_TABLES}


def test_the_date_in_the_file_name_wins(tmp_path) -> None:
    config = make_config(tmp_path, AMOCRM_SOURCE)
    text = csv_text(AMOCRM_HEADER, *AMOCRM_ROWS)
    put(config, "amo/amocrm_export_leads_2019-06-30_2100.csv", text, "cp1251")
    [result] = ingest(config).files
    # 30.06.2019 21:00 Moscow, though the rows' last edit is two days earlier
    named = dt.datetime(2019, 6, 30, 18, 0, tzinfo=UTC)
    assert snapshot_values(config) == {name: {named} for name in SNAPSHOT_TABLES}
    assert "snapshot 2019-06-30 18:00 UTC (from the file name)" in result.message


def test_undated_amocrm_export_takes_its_latest_edit(tmp_path) -> None:
    config = make_config(tmp_path, AMOCRM_SOURCE)
    put(config, "amo/amocrm_export_leads.csv", csv_text(AMOCRM_HEADER, *AMOCRM_ROWS), "cp1251")
    [result] = ingest(config).files
    assert result.encoding == "cp1251" and result.rows_accepted == 3
    assert snapshot_values(config) == {name: {LAST_EDIT} for name in SNAPSHOT_TABLES}
    expected_note = "snapshot 2019-06-28 14:45 UTC (from column 'Дата редактирования')"
    assert expected_note in result.message
    assert expected_note in ledger(config)["message"][0]


def test_a_file_of_years_past_keeps_its_own_time_and_month_folder(tmp_path) -> None:
    config = make_config(tmp_path, AMOCRM_SOURCE)
    put(config, "amo/amocrm_export_leads.csv", csv_text(AMOCRM_HEADER, *AMOCRM_ROWS), "cp1251")
    ingest(config)
    [row_month] = {part.parent.name for part in io.table_parts(config.landing_dir, "crm_deals")}
    assert row_month == "month=2019-06"
    assert max(table(config, "crm_deals")["snapshot_at"]).year == 2019


def test_without_a_modified_column_the_latest_row_time_is_the_snapshot(tmp_path) -> None:
    config = make_config(tmp_path, GENERIC_SOURCE)
    put(config, "crm/deals.csv", csv_text(GENERIC_HEADER, *GENERIC_ROWS), "cp1251")
    [result] = ingest(config).files
    assert (result.rows_accepted, result.rows_rejected) == (3, 1)
    assert snapshot_values(config) == {name: {LATEST_ROW_TIME} for name in SNAPSHOT_TABLES}
    assert "snapshot 2019-04-15 15:00 UTC (latest date in the rows)" in result.message


def test_the_same_undated_file_with_two_mtimes_gets_the_same_snapshot(tmp_path) -> None:
    found = []
    for folder, mtime in (("a", 1_000_000_000), ("b", 1_800_000_000)):
        config = make_config(tmp_path / folder, GENERIC_SOURCE)
        path = put(config, "crm/deals.csv", csv_text(GENERIC_HEADER, *GENERIC_ROWS), "cp1251")
        os.utime(path, (mtime, mtime))
        ingest(config)
        found.append(set(table(config, "crm_deals")["snapshot_at"].to_list()))
    assert found == [{LATEST_ROW_TIME}, {LATEST_ROW_TIME}]


EDITS = ("02.03.2019 09:00", "20.04.2019 08:00", "")  # «Updated» of GENERIC_ROWS[:3]


def test_generic_modified_at_column_gives_the_snapshot(tmp_path) -> None:
    source = GENERIC_SOURCE.replace('city: "City"}', 'city: "City", modified_at: "Updated"}')
    config = make_config(tmp_path, source)
    rows = [f"{row};{edit}" for row, edit in zip(GENERIC_ROWS[:3], EDITS, strict=True)]
    put(config, "crm/deals.csv", csv_text(GENERIC_HEADER + ";Updated", *rows))
    [result] = ingest(config).files
    # latest «Updated»: 20.04.2019 08:00 Moscow (later than every other time of the rows)
    edited = dt.datetime(2019, 4, 20, 5, 0, tzinfo=UTC)
    assert snapshot_values(config) == {name: {edited} for name in SNAPSHOT_TABLES}
    assert "(from column 'Updated')" in result.message


def test_an_unparseable_modified_at_rejects_the_row_naming_the_column(tmp_path) -> None:
    source = GENERIC_SOURCE.replace('city: "City"}', 'city: "City", modified_at: "Updated"}')
    config = make_config(tmp_path, source)
    rows = [f"{GENERIC_ROWS[0]};вчера", f"{GENERIC_ROWS[1]};16.04.2019 10:00"]
    put(config, "crm/deals.csv", csv_text(GENERIC_HEADER + ";Updated", *rows))
    ingest(config)
    [reject] = table(config, "rejected_rows").to_dicts()
    assert (reject["row_number"], reject["column"]) == (1, "Updated")
    assert "%d.%m.%Y %H:%M" in reject["expected"]
    assert set(table(config, "crm_deals")["snapshot_at"].to_list()) == {
        dt.datetime(2019, 4, 16, 7, 0, tzinfo=UTC)  # 16.04.2019 10:00 Moscow
    }


def test_a_streamed_file_gets_the_latest_time_of_the_whole_file(tmp_path) -> None:
    """Read in 64 KiB batches: the latest edit is in the first batch, and every part of every
    batch carries it; the ledger says the same as for the file read whole."""
    source = GENERIC_SOURCE.replace('city: "City"}', 'city: "City", modified_at: "Updated"}')
    rows = ["1;P;A;01.03.2019 10:00;;Иванов;+79161234567;Москва;30.09.2019 23:30"]
    rows += [
        f"{n};P;A;{1 + n % 28:02d}.0{1 + n % 6}.2019 10:00;;Петров;+7916{n:07d};Тула;"
        f"{1 + n % 28:02d}.0{1 + n % 6}.2019 12:00"
        for n in range(2, 3002)
    ]
    text = csv_text(GENERIC_HEADER + ";Updated", *rows)
    assert len(text.encode()) > 3 * 64 * 1024  # several batches
    # 30.09.2019 23:30 Moscow is 20:30 UTC, still September
    latest = dt.datetime(2019, 9, 30, 20, 30, tzinfo=UTC)
    messages = []
    for folder, stream_min_bytes in (("whole", 1 << 60), ("streamed", 0)):
        config = make_config(tmp_path / folder, source)
        put(config, "crm/deals.csv", text)
        [result] = ingest(config, stream_min_bytes=stream_min_bytes, memory_budget_mb=0).files
        messages.append(result.message)
        assert snapshot_values(config) == {name: {latest} for name in SNAPSHOT_TABLES}
        parts = io.table_parts(config.landing_dir, "crm_deals")
        assert {part.parent.name for part in parts} == {"month=2019-09"}
        assert table(config, "crm_deals").height == 3001
    assert any(part.name.endswith("-00002.parquet") for part in parts)  # the streamed run
    assert messages[0] == messages[1]
    assert "snapshot 2019-09-30 20:30 UTC (from column 'Updated')" in messages[0]


def test_a_streamed_file_named_with_its_date_is_stamped_as_read(tmp_path, monkeypatch) -> None:
    """Rule 1 needs no row: every batch of a dated file comes out with the name's time, so
    its parts are written once, in the month of that time (no rewrite after the last)."""
    rows = [
        f"{n};P;A;{1 + n % 28:02d}.0{1 + n % 6}.2019 10:00;;Петров;+7916{n:07d};Тула"
        for n in range(1, 4001)
    ]
    text = csv_text(GENERIC_HEADER, *rows)
    assert len(text.encode()) > 3 * 64 * 1024  # several batches
    # 2019-07-01 00:00 Moscow is 2019-06-30 21:00 UTC: June's folder
    named = dt.datetime(2019, 6, 30, 21, 0, tzinfo=UTC)
    config = make_config(tmp_path, GENERIC_SOURCE)
    put(config, "crm/deals_2019-07-01.csv", text)

    def no_rewrite(*args, **kwargs):
        raise AssertionError("a dated file's parts are not rewritten")

    monkeypatch.setattr(io, "set_file_column", no_rewrite)
    [result] = ingest(config, stream_min_bytes=0, memory_budget_mb=0).files
    assert result.status == "loaded"
    assert snapshot_values(config) == {name: {named} for name in SNAPSHOT_TABLES}
    parts = io.table_parts(config.landing_dir, "crm_deals")
    assert {part.parent.name for part in parts} == {"month=2019-06"}
    assert any(part.name.endswith("-00002.parquet") for part in parts)
    assert table(config, "crm_deals").height == 4000
    assert "snapshot 2019-06-30 21:00 UTC (from the file name)" in result.message


def test_check_prints_the_snapshot_and_its_rule(tmp_path) -> None:
    config = make_config(tmp_path, AMOCRM_SOURCE)
    path = put(
        config, "amo/amocrm_export_leads.csv", csv_text(AMOCRM_HEADER, *AMOCRM_ROWS), "cp1251"
    )
    text = check_file(config, path).render()
    assert "snapshot:   2019-06-28 14:45 UTC (from column 'Дата редактирования')" in text
    assert "modified_at" in text and "← Дата редактирования" in text
    assert not config.landing_dir.exists()


def test_check_says_when_the_snapshot_is_the_latest_row_time(tmp_path) -> None:
    config = make_config(tmp_path, GENERIC_SOURCE)
    path = put(config, "crm/deals.csv", csv_text(GENERIC_HEADER, *GENERIC_ROWS))
    text = check_file(config, path).render()
    assert "snapshot:   2019-04-15 15:00 UTC (latest date in the rows)" in text
