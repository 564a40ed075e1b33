"""Ingest end to end on tiny inbox files: ledger, duplicates, encodings, rejects, failures.

Every test that ingests checks the invariant rows_total = rows_accepted + rows_rejected
for every loaded file, from the ledger and the written parts (`ingest` helper).
"""

from __future__ import annotations

import codecs
import datetime as dt
import io as bytes_io
import os

import polars as pl
import pytest
import xlsxwriter

from pipeline.config import Formats
from pipeline.ingest import IngestError, check_file, ingest_inbox
from pipeline.sources.tabular import read_table
from tests.unit._fixtures_ingest import (
    CRM_SOURCE,
    DEALS_HEADER,
    HISTORY_SOURCE,
    deals_csv,
    ingest,
    ledger,
    make_config,
    put,
    table,
)

UTC = dt.UTC
DEAL_1 = (
    "1;Розница;Замер назначен;Смирнова А.;1\u00a0234\u00a0567,00;01.03.2025 10:00;"
    '"8 (916) 123-45-67, +7 (495) 123-45-67";Москва'
)
DEAL_2 = "2;Розница;Успешно реализовано;Петров;12 000 руб.;01.03.2025 11:30;89031234567;Тула"


def deals_rows(config) -> list[dict]:
    return table(config, "crm_deals").sort("deal_id").drop("file_id").to_dicts()


# --- the ledger ----------------------------------------------------------------------


def test_same_bytes_under_another_name_are_a_duplicate(tmp_path) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1))
    put(config, "crm/deals_2025-03-01_copy.csv", deals_csv(DEAL_1))
    summary = ingest(config)
    assert [f.status for f in summary.files] == ["loaded", "duplicate"]
    assert "crm/deals_2025-03-01.csv" in summary.files[1].message
    assert table(config, "crm_deals").height == 1
    assert ledger(config)["status"].to_list() == ["loaded", "duplicate"]


def test_same_file_dropped_again_later_is_a_duplicate_and_a_rerun_adds_nothing(tmp_path) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1))
    ingest(config)
    assert ingest(config).files == []  # unchanged inbox: nothing new, no new ledger rows
    put(config, "crm/deals_again_2025-03-01.csv", deals_csv(DEAL_1))
    [again] = ingest(config).files
    assert again.status == "duplicate"
    assert ledger(config).height == 2
    assert table(config, "crm_deals").height == 1


def test_header_only_and_empty_files_are_status_empty(tmp_path) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_a.csv", DEALS_HEADER + "\r\n")
    put(config, "crm/deals_b.csv", b"")
    summary = ingest(config)
    assert [f.status for f in summary.files] == ["empty", "empty"]
    assert table(config, "crm_deals").height == 0


def test_files_still_being_written_are_skipped_and_not_in_the_ledger(tmp_path) -> None:
    config = make_config(tmp_path, CRM_SOURCE.replace("crm/deals_*.csv", "crm/deals_*"))
    put(config, "crm/deals_1.csv.part", deals_csv(DEAL_1))
    [result] = ingest(config).files
    assert result.status == "incomplete"
    assert ledger(config).height == 0


def test_ingest_creates_every_landing_table_even_with_an_empty_inbox(tmp_path) -> None:
    config = make_config(tmp_path)
    ingest_inbox(config, settle_seconds=0)
    for name in ("files", "crm_deals", "calls", "rejected_rows", "crm_stage_events"):
        # (in the table folder, or in its NULL-month folder for month-partitioned tables)
        assert list((config.landing_dir / name).rglob("_schema.parquet")), name


# --- encodings, delimiters, quoting --------------------------------------------------


def test_cp1251_utf8_and_bom_give_identical_rows(tmp_path) -> None:
    rows = []
    for index, encode in enumerate(
        [
            lambda t: t.encode("cp1251"),
            lambda t: t.encode("utf-8"),
            lambda t: codecs.BOM_UTF8 + t.encode("utf-8"),
        ]
    ):
        config = make_config(tmp_path / str(index))
        put(config, "crm/deals_2025-03-01.csv", encode(deals_csv(DEAL_1, DEAL_2)))
        [result] = ingest(config).files
        rows.append(
            (deals_rows(config), table(config, "crm_deal_phones").drop("file_id").to_dicts())
        )
        assert result.encoding == ["cp1251", "utf-8", "utf-8-sig"][index]
    assert rows[0] == rows[1] == rows[2]


def test_semicolon_file_with_comma_decimals_and_nbsp_grouping(tmp_path) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1, DEAL_2), "cp1251")
    [result] = ingest(config).files
    assert result.delimiter == ";"
    first, second = deals_rows(config)
    assert first["amount"] == 1234567.0
    assert (second["amount"], second["currency"]) == (12000.0, "RUB")
    assert first["created_at"] == dt.datetime(2025, 3, 1, 7, 0, tzinfo=UTC)
    assert first["manager"] == "Смирнова Анна"  # alias mapped
    assert second["manager"] == "Петров"  # unknown name kept as written
    assert (first["status"], second["status"]) == ("open", "won")
    assert first["snapshot_at"] == dt.datetime(2025, 2, 28, 21, 0, tzinfo=UTC)


def test_quoted_delimiters_and_embedded_newlines(tmp_path) -> None:
    config = make_config(tmp_path)
    row = '3;"Розница; опт";"Замер\r\nназначен";Смирнова А.;100;01.03.2025 10:00;;"Москва, центр"'
    put(config, "crm/deals_2025-03-01.csv", deals_csv(row, DEAL_2))
    ingest(config)
    [deal, _] = sorted(deals_rows(config), key=lambda r: r["deal_id"], reverse=True)
    assert deal["crm_pipeline"] == "Розница; опт"
    assert deal["stage"] == "Замер\r\nназначен"
    city = table(config, "crm_deal_attributes").filter(pl.col("deal_id") == "3")
    assert city["value"].to_list() == ["Москва, центр"]


def test_comma_delimited_utf8_file_is_sniffed(tmp_path) -> None:
    config = make_config(tmp_path)
    text = deals_csv(DEAL_2.replace(";", ","), header=DEALS_HEADER.replace(";", ","))
    put(config, "crm/deals_2025-03-01.csv", text.replace("12 000 руб.", '"12 000,00"'))
    [result] = ingest(config).files
    assert (result.delimiter, result.rows_accepted) == (",", 1)
    assert deals_rows(config)[0]["amount"] == 12000.0


# --- rejects -------------------------------------------------------------------------


def test_truncated_last_line_is_rejected_not_a_crash(tmp_path) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_a.csv", deals_csv(DEAL_1, DEAL_2).rstrip("\r\n") + '\r\n3;Розница;"Зам')
    put(config, "crm/deals_b.csv", deals_csv(DEAL_1, DEAL_2) + "3;Розница;Замер")
    summary = ingest(config)
    assert [(f.rows_total, f.rows_accepted, f.rows_rejected) for f in summary.files] == [
        (3, 2, 1)
    ] * 2
    rejects = table(config, "rejected_rows").sort("reason")
    assert rejects["row_number"].to_list() == [3, 3]
    assert "cut short" in rejects["reason"][0]
    assert "3 fields, the header 8" in rejects["reason"][1]
    assert set(rejects["raw"].to_list()) == {'3;Розница;"Зам', "3;Розница;Замер"}


def test_unparseable_dates_are_rejected_with_column_expected_and_reason(tmp_path) -> None:
    config = make_config(tmp_path)
    bad = DEAL_2.replace("01.03.2025 11:30", "вчера")
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1, bad))
    ingest(config)
    [reject] = table(config, "rejected_rows").to_dicts()
    assert reject["row_number"] == 2
    assert reject["column"] == "Дата создания"
    assert reject["expected"].startswith("%d.%m.%Y %H:%M")
    assert reject["reason"] == "'вчера' is not a date/time"
    assert reject["raw"] == bad


def test_unparseable_phone_drops_the_phone_not_the_deal(tmp_path) -> None:
    config = make_config(tmp_path)
    put(
        config,
        "crm/deals_2025-03-01.csv",
        deals_csv(DEAL_2.replace("89031234567", "12-34, 89031234567")),
    )
    [result] = ingest(config).files
    assert result.rows_accepted == 1
    assert table(config, "crm_deal_phones")["client_phone"].to_list() == ["+79031234567"]
    assert "1 phone value(s) not understood" in result.message


def test_a_deal_written_twice_lands_each_of_its_phones_once(tmp_path) -> None:
    config = make_config(tmp_path)
    again = DEAL_2.replace("89031234567", '"+7 903 123-45-67, 84951234567"')
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_2, again, DEAL_1))
    ingest(config)
    phones = table(config, "crm_deal_phones").select("deal_id", "client_phone").rows()
    # deal 2: 89031234567 in both rows, 84951234567 once; deal 1: its two phones
    assert sorted(phones) == [
        ("1", "+74951234567"),
        ("1", "+79161234567"),
        ("2", "+74951234567"),
        ("2", "+79031234567"),
    ]


def test_reject_ratio_above_the_limit_fails_the_file_landing_nothing(tmp_path) -> None:
    config = make_config(tmp_path, max_reject_ratio=0.02)
    bad = DEAL_2.replace("01.03.2025 11:30", "x")
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1, bad))
    with pytest.raises(
        IngestError, match=r"crm/deals_2025-03-01\.csv: failed: 50\.0% of rows rejected"
    ) as error:
        ingest_inbox(config, settle_seconds=0)
    assert table(config, "crm_deals").height == 0
    assert table(config, "rejected_rows").height == 0
    [row] = ledger(config).to_dicts()
    assert (row["status"], row["rows_total"], row["rows_rejected"]) == ("failed", 2, 1)
    assert "first reject: row 2" in row["message"]
    assert error.value.summary is not None
    assert [f.status for f in error.value.summary.files] == ["failed"]


def test_a_copy_of_a_failed_file_keeps_its_counts_in_the_ledger(tmp_path) -> None:
    """The same too-dirty bytes under a second name, in the same run: the copy is not read
    again and shares the first's fate, its counts too (they were 0 of 0 beside a message
    saying 1 of 2 rejected)."""
    config = make_config(tmp_path, max_reject_ratio=0.02)
    dirty = deals_csv(DEAL_1, DEAL_2.replace("01.03.2025 11:30", "x"))
    put(config, "crm/deals_2025-03-01.csv", dirty)
    put(config, "crm/deals_2025-03-01 (copy).csv", dirty)
    with pytest.raises(IngestError):
        ingest_inbox(config, settle_seconds=0)
    counts = {
        row["path"]: (row["status"], row["rows_total"], row["rows_accepted"], row["rows_rejected"])
        for row in ledger(config).to_dicts()
    }
    assert set(counts.values()) == {("failed", 2, 1, 1)} and len(counts) == 2, counts


# --- columns -------------------------------------------------------------------------


def test_missing_required_column_fails_loudly_naming_column_preset_and_found_columns(
    tmp_path,
) -> None:
    config = make_config(tmp_path)
    header = DEALS_HEADER.replace("Дата создания", "Создана")
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1, header=header))
    put(config, "crm/deals_2025-03-02.csv", deals_csv(DEAL_2))
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0)
    message = str(error.value)
    assert "'Дата создания' (created_at) not found" in message
    assert "preset 'generic'" in message and "'Создана'" in message
    statuses = dict(zip(ledger(config)["path"], ledger(config)["status"], strict=True))
    assert statuses == {"crm/deals_2025-03-01.csv": "failed", "crm/deals_2025-03-02.csv": "loaded"}
    assert table(config, "crm_deals")["deal_id"].to_list() == ["2"]  # nothing of the failed file


def test_extra_column_is_ignored_and_header_matching_is_tolerant(tmp_path) -> None:
    config = make_config(tmp_path)
    header = "Лишняя;" + DEALS_HEADER.replace("ID сделки", "  id СДЕЛКИ ").replace("Этап", "этап")
    put(config, "crm/deals_2025-03-01.csv", deals_csv("x;" + DEAL_2, header=header))
    [result] = ingest(config).files
    assert result.rows_accepted == 1
    assert deals_rows(config)[0]["stage"] == "Успешно реализовано"


def test_duplicate_header_names_are_kept_by_position(tmp_path) -> None:
    sources = CRM_SOURCE.replace('city: "Город"', 'city: "Город"\n      city_2: "Город__2"')
    config = make_config(tmp_path, sources)
    put(
        config,
        "crm/deals_2025-03-01.csv",
        deals_csv(DEAL_2 + ";Тверь", header=DEALS_HEADER + ";Город"),
    )
    ingest(config)
    attributes = table(config, "crm_deal_attributes").sort("name")
    assert attributes.select("name", "value").rows() == [("city", "Тула"), ("city_2", "Тверь")]


def test_constant_stage_and_status_column(tmp_path) -> None:
    sources = CRM_SOURCE.replace('stage: "Этап"', 'status: "Этап"').replace(
        "    status: {won", '    stage: {value: "new"}\n    status: {won'
    )
    config = make_config(tmp_path, sources)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_2))
    ingest(config)
    [deal] = deals_rows(config)
    assert (deal["stage"], deal["status"]) == ("new", "won")


# --- history -------------------------------------------------------------------------


def test_long_history_gives_exact_events_of_the_crm_source(tmp_path) -> None:
    config = make_config(tmp_path, CRM_SOURCE + HISTORY_SOURCE)
    put(
        config,
        "crm/history_2025-03-01.csv",
        "ID сделки;Этап;Дата перехода;Ответственный\n"
        "1;Замер назначен;01.03.2025 10:00;Смирнова А.\n"
        "1;Замер выполнен;03.03.2025 12:00;\n"
        "2;Замер назначен;неизвестно;\n",
        "cp1251",
    )
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (3, 2, 1)
    events = table(config, "crm_stage_events").sort("entered_at").to_dicts()
    assert [e["source"] for e in events] == ["crm", "crm"]
    assert events[0]["manager"] == "Смирнова Анна"
    assert all(e["is_exact"] and e["entered_after"] is None for e in events)


def test_wide_history_gives_one_event_per_filled_date_and_keeps_dateless_records(tmp_path) -> None:
    wide = """
  - name: outcomes
    kind: crm_history
    history_of: crm
    preset: generic
    files: "crm/outcomes*.csv"
    columns: {deal_id: "Lead No"}
    stage_dates: {won: "Signed on", lost: "Dropped on"}
"""
    config = make_config(tmp_path, CRM_SOURCE + wide)
    put(
        config,
        "crm/outcomes.csv",
        "Lead No,Signed on,Dropped on\n1,2025-03-05,\n2,,06.03.2025\n3,,\n",
    )
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted) == (3, 3)
    events = table(config, "crm_stage_events").sort("deal_id")
    assert events.select("deal_id", "stage").rows() == [("1", "won"), ("2", "lost")]


# --- XLSX ----------------------------------------------------------------------------


def test_xlsx_with_excel_dates_serials_and_numbers(tmp_path) -> None:
    config = make_config(tmp_path, CRM_SOURCE.replace("crm/deals_*.csv", "crm/deals_*.xlsx"))
    buffer = bytes_io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    sheet.write_row(0, 0, DEALS_HEADER.split(";"))
    sheet.write_row(1, 0, [1, "Розница", "Замер назначен", "Смирнова А.", 1234.5])
    sheet.write_datetime(
        1, 5, dt.datetime(2025, 3, 1, 10, 0), book.add_format({"num_format": "dd.mm.yyyy hh:mm"})
    )
    sheet.write_row(2, 0, [2, "Розница", "Замер назначен", "", "1 000,00", 45717.5, "89161234567"])
    book.close()
    put(config, "crm/deals_2025-03-01.xlsx", buffer.getvalue())
    [result] = ingest(config).files
    assert (result.rows_accepted, result.delimiter) == (2, None)
    first, second = deals_rows(config)
    assert (first["created_at"], first["amount"]) == (
        dt.datetime(2025, 3, 1, 7, 0, tzinfo=UTC),
        1234.5,
    )
    assert (second["created_at"], second["amount"]) == (
        dt.datetime(2025, 3, 1, 9, 0, tzinfo=UTC),
        1000.0,
    )


def workbook(*sheets: tuple[str, list[list]]) -> bytes:
    """An XLSX of the named sheets, each its rows (values as written by xlsxwriter)."""
    buffer = bytes_io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    for name, rows in sheets:
        sheet = book.add_worksheet(name)
        for number, row in enumerate(rows):
            sheet.write_row(number, 0, row)
    book.close()
    return buffer.getvalue()


XLSX_SOURCE = CRM_SOURCE.replace("crm/deals_*.csv", "crm/deals_*.xlsx")
XLSX_DEAL = [1, "Розница", "Замер назначен", "Смирнова А.", 1234.5, "01.03.2025 10:00"]


def test_an_xlsx_with_rows_on_two_sheets_fails_naming_them_nothing_dropped_unsaid(tmp_path):
    """Reading the first sheet alone dropped the second's rows with the file reported OK.
    A sheet with no rows at all is no sheet: the one that has them is read."""
    config = make_config(tmp_path, XLSX_SOURCE)
    header = DEALS_HEADER.split(";")
    two = workbook(("Сделки", [header, XLSX_DEAL]), ("Опт", [header, XLSX_DEAL, XLSX_DEAL]))
    put(config, "crm/deals_2025-03-01.xlsx", two)
    with pytest.raises(IngestError, match=r"rows on 2 sheets: 'Сделки' \(2 rows\), 'Опт' \(3 rows"):
        ingest(config)
    (config.inbox_dir / "crm" / "deals_2025-03-01.xlsx").unlink()
    put(
        config,
        "crm/deals_2025-03-02.xlsx",
        workbook(("Пусто", []), ("Сделки", [header, XLSX_DEAL])),
    )
    [result] = [f for f in ingest(config).files if f.path.endswith("03-02.xlsx")]
    assert (result.status, result.rows_total, result.rows_accepted) == ("loaded", 1, 1)


def test_a_title_above_the_header_row_is_not_the_header(tmp_path) -> None:
    """A report's title in a merged cell above the column names (and a blank line): the
    header is the first line with more than one filled cell. The title read as the header
    failed the file: 'no header row, its first line is data'."""
    config = make_config(tmp_path, XLSX_SOURCE)
    header = DEALS_HEADER.split(";")
    rows = [["Экспорт сделок 01.03.2025"], [], header, XLSX_DEAL]
    put(config, "crm/deals_2025-03-02.xlsx", workbook(("Сделки", rows)))
    [result] = ingest(config).files
    assert (result.status, result.rows_total, result.rows_accepted) == ("loaded", 1, 1)


def test_a_totals_row_below_the_table_is_no_record(tmp_path) -> None:
    """A report's `Итого` row under the deals (a sum in the budget column, no deal id) was
    a rejected record, and one of seven rows failed a small export at the 2 % limit. It is
    left out, and the ledger says so; a deal named like a total is still a deal."""
    config = make_config(tmp_path, XLSX_SOURCE)
    header = DEALS_HEADER.split(";")
    deals = [[n, *XLSX_DEAL[1:]] for n in range(1, 7)]
    total = ["Итого: 6 сделок", "", "", "", "=SUM(E3:E8)", ""]
    put(config, "crm/deals_2025-03-02.xlsx", workbook(("Сделки", [header, *deals, total])))
    [result] = ingest(config).files
    assert (result.status, result.rows_total, result.rows_accepted) == ("loaded", 6, 6)
    [row] = ledger(config).filter(pl.col("path") == "crm/deals_2025-03-02.xlsx").to_dicts()
    assert "row 7 below the table is a totals row ('Итого: 6 сделок')" in row["message"]


def test_a_totals_row_of_a_csv_export_is_no_record(tmp_path) -> None:
    # The total's label may follow an empty id cell.
    config = make_config(tmp_path, CRM_SOURCE)
    put(config, "crm/deals_2025-03-03.csv", deals_csv(DEAL_1, DEAL_2, ";Итого;;;12 000 руб.;;;"))
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (2, 2, 0)


def test_a_cell_merged_over_rows_gives_its_value_to_each_row(tmp_path) -> None:
    """A hand-made list merges one manager's cell over her three deals: Excel shows the name
    on each row, but the workbook holds it in the first cell only, and the two rows below
    landed with no manager, unsaid. Each row takes it; a title merged across the columns
    above the header stays a title, and the sheet starts away from A1."""
    header = DEALS_HEADER.split(";")
    deals = [
        ["1", "Розница", "Замер назначен", "Попова М.", "100", "01.03.2025 10:00", "", ""],
        ["2", "Розница", "Замер назначен", None, "200", "01.03.2025 11:00", "", ""],
        ["3", "Розница", "Замер назначен", None, "300", "01.03.2025 12:00", "", ""],
        ["4", "Розница", "Замер назначен", "Васильев О.", "400", "01.03.2025 13:00", "", ""],
    ]
    buffer = bytes_io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("Сделки")
    sheet.merge_range(1, 1, 1, 8, "Сделки за март")  # B2:I2, a title above the header
    sheet.write_row(2, 1, header)
    for number, row in enumerate(deals, start=3):
        for column, value in enumerate(row, start=1):
            if value is not None:
                sheet.write(number, column, value)
    sheet.merge_range(3, 4, 5, 4, "Попова М.")  # E4:E6, the manager of deals 1-3
    book.close()
    config = make_config(tmp_path, XLSX_SOURCE)
    put(config, "crm/deals_2025-03-02.xlsx", buffer.getvalue())
    [result] = ingest(config).files
    assert (result.status, result.rows_total, result.rows_accepted) == ("loaded", 4, 4)
    managers = table(config, "crm_deals").sort("deal_id").select("deal_id", "manager").rows()
    assert managers == [("1", "Попова М."), ("2", "Попова М."), ("3", "Попова М."),
                        ("4", "Васильев О.")]  # fmt: skip


def test_a_record_lacking_only_the_headers_unnamed_last_columns_is_read(tmp_path) -> None:
    """The header ends in two unnamed columns (`Город;;`), and a spreadsheet wrote their
    empty cells on one row and not on the other: the shorter row was rejected as truncated
    though it lacks nothing read. A row short of a named column is still rejected."""
    config = make_config(tmp_path, CRM_SOURCE)
    header = DEALS_HEADER + ";;"
    short_of_a_name = DEAL_2.rsplit(";", 1)[0]
    put(config, "crm/deals_2025-03-02.csv", deals_csv(DEAL_1, DEAL_2 + ";;", header=header))
    put(config, "crm/deals_2025-03-03.csv", deals_csv(DEAL_1, short_of_a_name, header=header))
    results = {f.path: f for f in ingest(config).files}
    first, second = results["crm/deals_2025-03-02.csv"], results["crm/deals_2025-03-03.csv"]
    assert (first.rows_total, first.rows_accepted, first.rows_rejected) == (2, 2, 0)
    assert (second.rows_total, second.rows_accepted, second.rows_rejected) == (2, 1, 1)
    # The vendor presets' table reader (an amoCRM CSV) reads it alike.
    text = deals_csv(DEAL_1, DEAL_2 + ";;", short_of_a_name, header=header)
    table_read = read_table(text.encode("utf-8"), "deals.csv", Formats())
    assert ([len(r.fields) for r in table_read.rows], len(table_read.rejects)) == ([10, 10], 1)


def test_a_formula_error_cell_fares_as_its_text_in_a_csv_export(tmp_path) -> None:
    """A cell whose formula failed (`#DIV/0!` as the amount, `#N/A` as the manager) was read
    as empty: the deal landed with no amount, unsaid. Its text is put back, so the workbook
    lands what the same rows saved as CSV land, rejects and their reasons included, with
    the sheet's first used cell away from A1 (the reader's frame starts there)."""
    header = DEALS_HEADER.split(";")
    rows = [
        ["1", "Розница", "Замер назначен", "Смирнова А.", "100", "01.03.2025 10:00", "", ""],
        ["2", "Розница", "Замер назначен", "Смирнова А.", "#DIV/0!", "01.03.2025 11:00", "", ""],
        ["3", "Розница", "Замер назначен", "#N/A", "300", "01.03.2025 12:00", "", "Тула"],
    ]
    buffer = bytes_io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet("Сделки")
    sheet.write_row(2, 1, header)
    for number, row in enumerate(rows, start=3):
        for column, value in enumerate(row, start=1):
            if value.startswith("#"):
                sheet.write_formula(number, column, "=1/0", None, value)
            else:
                sheet.write(number, column, value)
    book.close()

    landed = {}
    for suffix, data in (
        ("xlsx", buffer.getvalue()),
        ("csv", "\n".join(";".join(line) for line in [header, *rows]) + "\n"),
    ):
        config = make_config(
            tmp_path / suffix, CRM_SOURCE.replace("deals_*.csv", f"deals_*.{suffix}")
        )
        put(config, f"crm/deals_2025-03-02.{suffix}", data)
        [result] = ingest(config).files
        rejects = table(config, "rejected_rows").select("row_number", "column", "reason").rows()
        deals = table(config, "crm_deals").sort("deal_id").select("deal_id", "amount", "manager")
        landed[suffix] = ((result.rows_total, result.rows_rejected), rejects, deals.rows())
    assert landed["xlsx"] == landed["csv"]
    counts, rejects, deals = landed["xlsx"]
    assert counts == (3, 1)
    assert rejects == [(2, "Бюджет", rejects[0][2])] and "#DIV/0!" in rejects[0][2]
    assert [deal_id for deal_id, *_ in deals] == ["1", "3"]


def test_a_utf16_export_is_refused_naming_its_encoding(tmp_path) -> None:
    """Excel's «Unicode text» is UTF-16: read as cp1251, its header was garbage and the
    file failed with 'column not found' and a list of mojibake names."""
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1).encode("utf-16"))
    with pytest.raises(IngestError, match=r"UTF-16 text .*save the export as CSV UTF-8"):
        ingest(config)


def test_an_html_table_named_xls_is_refused_saying_what_it_is(tmp_path) -> None:
    config = make_config(tmp_path, CRM_SOURCE.replace("crm/deals_*.csv", "crm/deals_*.xls"))
    put(config, "crm/deals_2025-03-01.xls", "<html><body><table><tr><td>ID</td></tr></table>")
    with pytest.raises(IngestError, match=r"a web page \(an HTML table\).*export CSV"):
        ingest(config)


def test_an_excel_serial_time_lands_on_its_minute(tmp_path) -> None:
    """A serial is a float fraction of a day, which the workbook reader writes with 9
    decimals: 18:30 read 18:29:59.999972 (and a PDF printed 18:29) before rounding to the
    millisecond."""
    config = make_config(tmp_path, XLSX_SOURCE)
    local = dt.datetime(2025, 3, 1, 18, 30)
    serial = (local - dt.datetime(1899, 12, 30)) / dt.timedelta(days=1)
    row = [*XLSX_DEAL[:5], serial]
    put(config, "crm/deals_2025-03-02.xlsx", workbook(("Сделки", [DEALS_HEADER.split(";"), row])))
    ingest(config)
    [deal] = deals_rows(config)
    assert deal["created_at"] == dt.datetime(2025, 3, 1, 15, 30, tzinfo=UTC)  # Moscow, UTC+3


def test_deals_with_an_empty_pipeline_are_counted_in_the_notes(tmp_path) -> None:
    """A pipeline cell left empty (a merged cell): the deal lands, in no funnel naming a
    pipeline, and the file's notes say how many."""
    config = make_config(tmp_path)
    empty = DEAL_2.replace(";Розница;", ";;", 1)
    assert empty != DEAL_2
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL_1, empty), "cp1251")
    [result] = ingest(config).files
    assert "1 deal(s) with an empty 'Воронка'" in result.message


# --- check ---------------------------------------------------------------------------


def test_check_file_reports_without_writing_anything(tmp_path) -> None:
    config = make_config(tmp_path, max_reject_ratio=0.02)
    path = put(
        config,
        "crm/deals_2025-03-01.csv",
        deals_csv(DEAL_1, DEAL_2.replace("01.03.2025 11:30", "99.03.2025 11:30")),
        "cp1251",
    )
    report = check_file(config, path)
    assert not config.landing_dir.exists()
    assert (report.source, report.preset, report.encoding, report.delimiter) == (
        "crm",
        "generic",
        "cp1251",
        ";",
    )
    assert (report.rows_total, report.rows_accepted, report.rows_rejected) == (2, 1, 1)
    assert report.column_mapping["created_at"] == "Дата создания"
    assert report.stages_seen == {"Замер назначен": 1}
    text = report.render()
    assert "'99.03.2025 11:30' is not a date/time" in text and "would FAIL ingest" in text


def test_check_file_names_the_missing_column(tmp_path) -> None:
    config = make_config(tmp_path)
    outside = tmp_path / "elsewhere" / "deals_x.csv"
    outside.parent.mkdir()
    outside.write_text(
        deals_csv(DEAL_2, header=DEALS_HEADER.replace("Этап", "Стадия")), encoding="utf-8"
    )
    report = check_file(config, outside, "crm")
    assert report.status == "failed"
    assert "'Этап' (stage) not found" in report.message


def test_check_file_without_a_matching_source_asks_for_one(tmp_path) -> None:
    config = make_config(tmp_path)
    path = put(config, "other/file.csv", "a;b\n1;2\n")
    with pytest.raises(IngestError, match="pass --source"):
        check_file(config, path)


def test_latest_row_time_not_mtime_is_the_snapshot_when_the_name_has_no_date(tmp_path) -> None:
    config = make_config(tmp_path)
    path = put(config, "crm/deals_latest.csv", deals_csv(DEAL_2))
    os.utime(path, (1_700_000_000, 1_700_000_000))
    ingest(config)
    # DEAL_2 was created 01.03.2025 11:30 Moscow (UTC+3): the only time the file states
    assert deals_rows(config)[0]["snapshot_at"] == dt.datetime(2025, 3, 1, 8, 30, tzinfo=UTC)


def test_dst_change_in_a_berlin_source(tmp_path) -> None:
    berlin = HISTORY_SOURCE.replace(
        "    preset: generic", "    preset: generic\n    timezone: Europe/Berlin"
    )
    config = make_config(tmp_path, CRM_SOURCE + berlin)
    put(
        config,
        "crm/history_1.csv",
        "ID сделки;Этап;Дата перехода;Ответственный\n"
        "1;A;31.03.2024 02:30;\n"  # skipped hour: does not exist
        "2;A;27.10.2024 02:30;\n"  # repeated hour: the earlier instant
        "3;A;31.03.2024 03:00;\n",
    )
    [result] = ingest(config).files
    assert (result.rows_accepted, result.rows_rejected) == (2, 1)
    [reject] = table(config, "rejected_rows").to_dicts()
    assert reject["row_number"] == 1 and "does not exist in Europe/Berlin" in reject["reason"]
    events = table(config, "crm_stage_events").sort("deal_id")["entered_at"].to_list()
    assert events == [
        dt.datetime(2024, 10, 27, 0, 30, tzinfo=UTC),
        dt.datetime(2024, 3, 31, 1, 0, tzinfo=UTC),
    ]
