"""CRM presets on fixtures in the vendors' real layouts: the same three deals written as an
amoCRM, Bitrix24, HubSpot, Pipedrive and Salesforce export land as the same canonical
rows. Every test that ingests checks rows_total = rows_accepted + rows_rejected per file.
"""

from __future__ import annotations

import datetime as dt
import io as bytes_io

import polars as pl
import pytest
import xlsxwriter

from pipeline.ingest import IngestError, ingest_inbox
from pipeline.sources import read_file
from pipeline.transform.context import NormalizeContext
from pipeline.transform.deals import normalize_deals
from pipeline.transform.times import TimeFormat
from tests.unit._fixtures_ingest import assert_invariant, ingest, ledger, make_config, put, table

UTC = dt.UTC


def source_block(preset: str, files: str, extra: str = "") -> str:
    return f"""
  - name: crm
    kind: crm
    preset: {preset}
    files: "{files}"
{extra}"""


def csv(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


# The same three deals, as each vendor writes them. 101 open (planned close date where
# the vendor has one), 102 won with two phones, 103 lost without a phone.
AMOCRM = csv(
    "ID;Название сделки;Бюджет;Ответственный;Дата создания сделки;Кем создана сделка;"
    "Дата редактирования;Кем редактирована;Дата закрытия;Теги;Примечание;Этап сделки;Воронка;"
    "Полное имя контакта;Компания;Рабочий телефон;Рабочий прямой телефон;Мобильный телефон;"
    "Рабочий email;Город;Источник;Товар;utm_source;Причина отказа;Источник;Товар",
    "101;Двери в офис;1 000;Смирнова А.;01.03.2025 10:00:00;Смирнова А.;01.03.2025 10:05:00;"
    "Смирнова А.;;двери;позвонить;Замер назначен;Розница;Иван Иванов;ООО Ромашка;"
    "8 (916) 123-45-67;;;ivan@example.com;Москва;Сайт;Дверь Браво;yandex;;Реклама;Фурнитура",
    "102;Двери домой;25 000 руб.;Петров;02.03.2025 11:30:00;Петров;05.03.2025 00:00:00;Петров;"
    "05.03.2025 00:00:00;;;Успешно реализовано;Розница;Пётр Петров;;+7 495 123-45-67;;"
    "89031234567;;Тула;Звонок;;;;;",
    "103;Дверь;500;Смирнова А.;03.03.2025 09:00:00;Смирнова А.;06.03.2025 00:00:00;Смирнова А.;"
    "06.03.2025 00:00:00;;;Закрыто и не реализовано;Розница;;;;;;;;Сайт;;;Дорого;;",
)
BITRIX24 = csv(
    "ID;Название сделки;Стадия сделки;Воронка;Ответственный;Сумма;Валюта;Дата создания;"
    "Дата изменения;Контакт;Телефон;Источник;Дата завершения",
    "101;Двери в офис;Замер назначен;Розница;Смирнова А.;1000,00;RUB;01.03.2025 10:00:00;"
    "01.03.2025 10:05:00;Иван Иванов;+7 916 123 45 67;Сайт;31.03.2025",
    "102;Двери домой;Сделка успешна;Розница;Петров;25000,00;RUB;02.03.2025 11:30:00;"
    '05.03.2025 00:00:00;Пётр Петров;"+7 495 123-45-67, 8 903 123-45-67";Звонок;05.03.2025',
    "103;Дверь;Сделка провалена;Розница;Смирнова А.;500,00;RUB;03.03.2025 09:00:00;"
    "06.03.2025 00:00:00;;;Сайт;06.03.2025",
)
HUBSPOT = csv(
    "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Close Date,Create Date,Deal owner,"
    "Is Closed Won,Is closed lost,Phone Number,Mobile Phone Number,"
    'Date entered "Appointment Scheduled (Sales Pipeline)",'
    'Date exited "Appointment Scheduled (Sales Pipeline)",'
    'Date entered "Closed Won (Sales Pipeline)",Date entered "Closed Lost (Sales Pipeline)",'
    'Cumulative time in "Appointment Scheduled (Sales Pipeline)"',
    "101,Office doors,Appointment Scheduled,Sales Pipeline,1000,2025-03-31,2025-03-01 10:00,"
    "Смирнова А.,false,false,+79161234567,,2025-03-01 10:00,,,,120",
    '102,Home doors,Closed Won,Sales Pipeline,"25,000.00",2025-03-05,2025-03-02 11:30,Петров,'
    "true,false,+74951234567,89031234567,2025-03-02 11:30,2025-03-05 00:00,2025-03-05 00:00,,30",
    "103,Door,Closed Lost,Sales Pipeline,500,2025-03-06,2025-03-03 09:00,Смирнова А.,false,"
    "true,,,2025-03-03 09:00,2025-03-06 00:00,,2025-03-06 00:00,40",
)
PIPEDRIVE = csv(
    "Deal - ID,Deal - Title,Deal - Value,Deal - Currency of value,Deal - Stage,Deal - Status,"
    "Deal - Owner,Deal - Pipeline,Deal - Deal created,Deal - Won time,Deal - Lost time,"
    "Deal - Lost reason,Deal - Status__2,Person - Name,Person - Phone - Work,"
    "Person - Phone - Mobile",
    "101,Office doors,1000,RUB,Measure,open,Смирнова А.,Розница,2025-03-01 10:00:00,,,,x,"
    "Ivan,+7 916 123-45-67,",
    '102,Home doors,"25,000.00",RUB,Contract,won,Петров,Розница,2025-03-02 11:30:00,'
    "2025-03-05 00:00:00,,,x,Petr,+74951234567,8 903 123 45 67",
    "103,Door,500,RUB,Measure,lost,Смирнова А.,Розница,2025-03-03 09:00:00,,"
    "2025-03-06 00:00:00,Дорого,x,,,",
)
SALESFORCE = csv(
    "Id,Name,StageName,Amount,CloseDate,CreatedDate,OwnerId,Owner Name,LeadSource,IsClosed,"
    "IsWon,Contact Phone,Contact Mobile Phone",
    "101,Office doors,Needs Analysis,1000.0,2025-03-31,2025-03-01T07:00:00.000Z,005A,"
    "Смирнова А.,Web,false,false,+79161234567,",
    "102,Home doors,Closed Won,25000.0,2025-03-05,2025-03-02T08:30:00.000Z,005B,Петров,"
    "Phone Inquiry,true,true,+74951234567,+79031234567",
    "103,Door,Closed Lost,500.0,2025-03-06,2025-03-03T06:00:00.000Z,005A,Смирнова А.,Web,"
    "true,false,,",
)
EXPECTED_DEALS = [
    ("101", "open", "Смирнова Анна", dt.datetime(2025, 3, 1, 7, 0, tzinfo=UTC), None, 1000.0),
    (
        "102",
        "won",
        "Петров",
        dt.datetime(2025, 3, 2, 8, 30, tzinfo=UTC),
        dt.datetime(2025, 3, 4, 21, 0, tzinfo=UTC),
        25000.0,
    ),
    (
        "103",
        "lost",
        "Смирнова Анна",
        dt.datetime(2025, 3, 3, 6, 0, tzinfo=UTC),
        dt.datetime(2025, 3, 5, 21, 0, tzinfo=UTC),
        500.0,
    ),
]
EXPECTED_PHONES = [("101", "+79161234567"), ("102", "+74951234567"), ("102", "+79031234567")]
FORMATS = {
    "amocrm": ("amo/deals_2025-03-07.csv", AMOCRM, "cp1251"),
    "bitrix24": ("b24/deals_2025-03-07.csv", BITRIX24, "utf-8-sig"),
    "hubspot": ("hubspot/deals_2025-03-07.csv", HUBSPOT, "utf-8"),
    "pipedrive": ("pipedrive/deals_2025-03-07.csv", PIPEDRIVE, "utf-8"),
    "salesforce": ("sf/Opportunity_2025-03-07.csv", SALESFORCE, "utf-8"),
}


def load(tmp_path, preset: str, name: str, content: str | bytes, encoding: str = "utf-8"):
    config = make_config(tmp_path, source_block(preset, name.split("/")[0] + "/*"))
    put(config, name, content, encoding)
    [result] = ingest(config).files
    return config, result


def canonical_deals(config) -> list[tuple]:
    deals = table(config, "crm_deals").sort("deal_id")
    return deals.select("deal_id", "status", "manager", "created_at", "closed_at", "amount").rows()


def canonical_phones(config) -> list[tuple]:
    return (
        table(config, "crm_deal_phones")
        .sort("deal_id", "client_phone")
        .select("deal_id", "client_phone")
        .rows()
    )


@pytest.mark.parametrize("preset", list(FORMATS))
def test_the_same_three_deals_land_the_same_in_every_crm_format(tmp_path, preset) -> None:
    name, content, encoding = FORMATS[preset]
    config, result = load(tmp_path, preset, name, content, encoding)
    assert (result.status, result.rows_total, result.rows_accepted) == ("loaded", 3, 3), result
    assert canonical_deals(config) == EXPECTED_DEALS
    assert canonical_phones(config) == EXPECTED_PHONES


@pytest.mark.parametrize("preset", ["amocrm", "pipedrive"])
def test_lost_reason_comes_from_the_vendor_column(tmp_path, preset) -> None:
    name, content, encoding = FORMATS[preset]
    config, _ = load(tmp_path, preset, name, content, encoding)
    reasons = table(config, "crm_deals").sort("deal_id")["lost_reason"].to_list()
    assert reasons == [None, None, "Дорого"]


def test_amocrm_duplicate_headers_are_kept_by_position(tmp_path) -> None:
    config, _ = load(tmp_path, "amocrm", *FORMATS["amocrm"])
    deal = table(config, "crm_deals").filter(pl.col("deal_id") == "101").row(0, named=True)
    assert deal["lead_source"] == "Сайт"  # the first «Источник»
    attributes = dict(
        table(config, "crm_deal_attributes")
        .filter(pl.col("deal_id") == "101")
        .select("name", "value")
        .rows()
    )
    assert attributes["Источник__2"] == "Реклама"
    assert (attributes["Товар"], attributes["Товар__2"]) == ("Дверь Браво", "Фурнитура")
    assert (attributes["tags"], attributes["city"], attributes["utm_source"]) == (
        "двери",
        "Москва",
        "yandex",
    )
    assert "Примечание" not in attributes and "Рабочий email" not in attributes


def test_amocrm_system_stages_are_won_and_lost_in_every_pipeline(tmp_path) -> None:
    header = "ID;Дата создания сделки;Этап сделки;Воронка;Ответственный"
    rows = [
        "1;01.03.2025 10:00;Успешно реализовано;Розница;Петров",
        "2;01.03.2025 10:00;Закрыто и не реализовано;Розница;Петров",
        "3;01.03.2025 10:00;  успешно   реализовано ;Опт;Петров",
        "4;01.03.2025 10:00;Закрыто и НЕ реализовано;Опт;Петров",
        "5;01.03.2025 10:00;Переговоры;Опт;Петров",
    ]
    config, result = load(tmp_path, "amocrm", "amo/deals_1.csv", csv(header, *rows))
    assert result.rows_accepted == 5
    statuses = table(config, "crm_deals").sort("deal_id").select("crm_pipeline", "status").rows()
    assert statuses == [
        ("Розница", "won"),
        ("Розница", "lost"),
        ("Опт", "won"),
        ("Опт", "lost"),
        ("Опт", "open"),
    ]


def test_amocrm_english_kommo_headers(tmp_path) -> None:
    header = "ID,Lead title,Budget,Responsible user,Created,Stage,Pipeline,Work phone,Tags"
    row = "7,Doors,1500,Смирнова А.,2025-03-01 10:00:00,Closed - won,Retail,+79161234567,vip"
    config, _ = load(tmp_path, "amocrm", "amo/leads.csv", csv(header, row))
    [deal] = table(config, "crm_deals").to_dicts()
    assert (deal["status"], deal["manager"], deal["crm_pipeline"]) == (
        "won",
        "Смирнова Анна",
        "Retail",
    )
    assert canonical_phones(config) == [("7", "+79161234567")]


def xlsx(rows: list[list]) -> bytes:
    buffer = bytes_io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    stamp = book.add_format({"num_format": "dd.mm.yyyy hh:mm:ss"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, dt.datetime):
                sheet.write_datetime(r, c, value, stamp)
            elif value is not None:
                sheet.write(r, c, value)
    book.close()
    return buffer.getvalue()


def as_rows(text: str, delimiter: str = ";") -> list[list]:
    import csv as csv_module

    return [list(r) for r in csv_module.reader(text.splitlines(), delimiter=delimiter)]


@pytest.mark.parametrize("preset", ["amocrm", "bitrix24"])
def test_xlsx_export_lands_like_the_csv(tmp_path, preset) -> None:
    name, content, _ = FORMATS[preset]
    rows = as_rows(content)
    rows[1][4 if preset == "amocrm" else 7] = dt.datetime(2025, 3, 1, 10, 0)  # a real date cell
    config, result = load(tmp_path, preset, name.replace(".csv", ".xlsx"), xlsx(rows))
    assert (result.delimiter, result.rows_accepted) == (None, 3)
    assert canonical_deals(config) == EXPECTED_DEALS
    assert canonical_phones(config) == EXPECTED_PHONES


def test_bitrix24_keeps_the_planned_close_date_only_for_closed_deals(tmp_path) -> None:
    config, _ = load(tmp_path, "bitrix24", *FORMATS["bitrix24"])
    assert table(config, "crm_deals").sort("deal_id")["closed_at"][0] is None


def test_bitrix24_renamed_stages_are_configurable_and_english_labels_work(tmp_path) -> None:
    extra = '    status: {won: ["Оплачено"], lost: ["Отказ"]}\n'
    config = make_config(tmp_path, source_block("bitrix24", "b24/*", extra))
    header = "ID,Deal name,Stage,Responsible,Created on,Amount"
    rows = [
        "1,A,Deal won,Петров,01.03.2025 10:00,10",
        "2,B,Deal lost,Петров,01.03.2025 10:00,10",
        "3,C,Оплачено,Петров,01.03.2025 10:00,10",
        "4,D,Отказ,Петров,01.03.2025 10:00,10",
        "5,E,New,Петров,01.03.2025 10:00,10",
    ]
    put(config, "b24/deals.csv", csv(header, *rows))
    ingest(config)
    deals = table(config, "crm_deals").sort("deal_id")
    assert deals["status"].to_list() == ["won", "lost", "won", "lost", "open"]
    assert set(deals["crm_pipeline"].to_list()) == {"default"}  # one-pipeline portal


def test_bitrix24_money_field_gives_the_amount_and_its_currency(tmp_path) -> None:
    # A money field (`Сумма` from the REST export, a custom money field) writes
    # `<amount>|<currency>`; every deal lands with its amount, none is rejected.
    header = "ID;Название сделки;Стадия сделки;Ответственный;Дата создания;Сумма"
    rows = [
        "1;A;Новая;Петров;01.03.2025 10:00;10000|RUB",
        "2;B;Сделка успешна;Петров;01.03.2025 10:00;1500.50|USD",
        "3;C;Новая;Петров;01.03.2025 10:00;",
    ]
    config, result = load(tmp_path, "bitrix24", "b24/deals.csv", csv(header, *rows))
    assert (result.rows_total, result.rows_accepted) == (3, 3), result
    deals = table(config, "crm_deals").sort("deal_id").select("amount", "currency").rows()
    assert deals == [(10000.0, "RUB"), (1500.5, "USD"), (None, None)]


def test_pipedrive_deleted_deals_are_read_and_left_out(tmp_path) -> None:
    # An export with the «deleted» filter: Pipedrive's own reports leave such deals out.
    header = "Deal - ID,Deal - Stage,Deal - Status,Deal - Deal created,Deal - Value"
    rows = [
        "1,Measure,open,2025-03-01 10:00:00,10",
        "2,Measure,deleted,2025-03-01 11:00:00,20",
        "3,Contract,won,2025-03-02 10:00:00,30",
        "4,Measure,Deleted,not a date,40",
    ]
    config, result = load(tmp_path, "pipedrive", "pd/deals.csv", csv(header, *rows))
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (4, 4, 0)
    deals = table(config, "crm_deals").sort("deal_id").select("deal_id", "status").rows()
    assert deals == [("1", "open"), ("3", "won")]
    assert "2 deal(s) with 'Deal - Status' deleted: left out" in ledger(config)["message"][0]


def test_english_vendor_amounts_keep_their_thousands(tmp_path) -> None:
    # Pipedrive writes English numbers: `1,500` is 1500 there, and a money field's
    # `30,000.00|USD` is 30000 dollars (it was read as 30 with the decimal comma).
    header = "Deal - ID,Deal - Stage,Deal - Status,Deal - Deal created,Deal - Value"
    rows = [
        '1,Measure,open,2025-03-01 10:00:00,"1,500"',
        '2,Measure,won,2025-03-01 11:00:00,"30,000.00|USD"',
        "3,Measure,open,2025-03-01 12:00:00,4500",
    ]
    config, result = load(tmp_path, "pipedrive", "pd/deals.csv", csv(header, *rows))
    assert (result.rows_total, result.rows_accepted) == (3, 3), result
    deals = table(config, "crm_deals").sort("deal_id").select("amount", "currency").rows()
    assert deals == [(1500.0, None), (30000.0, "USD"), (4500.0, None)]


def hubspot_context(source: str = "crm") -> NormalizeContext:
    return NormalizeContext(source=source, file_id="f", times=TimeFormat("Europe/Moscow"))


def test_hubspot_date_entered_columns_are_exact_stage_entries(tmp_path) -> None:
    config = make_config(tmp_path, source_block("hubspot", "hubspot/*"))
    raw = read_file(HUBSPOT.encode(), "hubspot/deals.csv", config.source("crm"))
    ctx = hubspot_context()
    ctx = NormalizeContext(**{**ctx.__dict__, "labels": raw.labels})
    deals = normalize_deals(raw.frame, ctx)
    events = deals.events.sort("deal_id", "entered_at")
    assert events.select("deal_id", "stage", "entered_at", "is_exact").rows() == [
        ("101", "Appointment Scheduled", dt.datetime(2025, 3, 1, 7, 0, tzinfo=UTC), True),
        ("102", "Appointment Scheduled", dt.datetime(2025, 3, 2, 8, 30, tzinfo=UTC), True),
        ("102", "Closed Won", dt.datetime(2025, 3, 4, 21, 0, tzinfo=UTC), True),
        ("103", "Appointment Scheduled", dt.datetime(2025, 3, 3, 6, 0, tzinfo=UTC), True),
        ("103", "Closed Lost", dt.datetime(2025, 3, 5, 21, 0, tzinfo=UTC), True),
    ]
    assert events["entered_after"].is_null().all()
    assert events.filter(pl.col("deal_id") == "102")["manager"].to_list() == ["Петров"] * 2


def test_hubspot_dates_of_the_pipeline_a_deal_left_are_no_entries_of_its_own(tmp_path) -> None:
    # 201 moved from Partner to Sales: its "Appointment Scheduled (Partner Pipeline)" date
    # is a stage of the pipeline it left, not its own "Appointment Scheduled". A column of
    # a pipeline no deal of the file is in ("Old Pipeline") is kept: nothing tells it apart.
    header = (
        "Record ID,Deal Stage,Pipeline,Create Date,"
        'Date entered "Appointment Scheduled (Sales Pipeline)",'
        'Date entered "Appointment Scheduled (Partner Pipeline)",'
        'Date entered "Qualified (Old Pipeline)"'
    )
    rows = [
        "201,Appointment Scheduled,Sales Pipeline,2025-03-01 10:00,"
        "2025-03-09 12:00,2025-03-02 12:00,2025-03-01 11:00",
        "202,Appointment Scheduled,Partner Pipeline,2025-03-01 10:00,,2025-03-03 12:00,",
    ]
    config = make_config(tmp_path, source_block("hubspot", "hubspot/*"))
    put(config, "hubspot/deals_2025-03-10.csv", csv(header, *rows))
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (2, 2, 0)
    events = table(config, "crm_stage_events").sort("deal_id", "entered_at")
    assert events.select("deal_id", "stage", "entered_at").rows() == [
        ("201", "Qualified", dt.datetime(2025, 3, 1, 8, 0, tzinfo=UTC)),
        ("201", "Appointment Scheduled", dt.datetime(2025, 3, 9, 9, 0, tzinfo=UTC)),
        ("202", "Appointment Scheduled", dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
    ]
    assert (
        "1 'Date entered' value(s) of a pipeline other than the deal's left out"
        in (ledger(config)["message"][0])
    )


def test_hubspot_date_entered_of_a_pipeline_named_with_parentheses(tmp_path) -> None:
    # "Sales (EU)": the columns were skipped without a word (the pattern took no
    # parenthesis inside the pipeline's), and the deals' stage times were unknown.
    header = (
        "Record ID,Deal Stage,Pipeline,Create Date,"
        'Date entered "Appointment Scheduled (Sales (EU))",'
        'Date entered "Demo (online) (Sales (EU))"'
    )
    rows = ["301,Demo (online),Sales (EU),2025-03-01 10:00,2025-03-01 10:00,2025-03-04 12:00"]
    config = make_config(tmp_path, source_block("hubspot", "hubspot/*"))
    put(config, "hubspot/deals_2025-03-10.csv", csv(header, *rows))
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted) == (1, 1)
    events = table(config, "crm_stage_events").sort("entered_at")
    assert events.select("stage", "entered_at").rows() == [
        ("Appointment Scheduled", dt.datetime(2025, 3, 1, 7, 0, tzinfo=UTC)),
        ("Demo (online)", dt.datetime(2025, 3, 4, 9, 0, tzinfo=UTC)),
    ]


def test_hubspot_bad_stage_date_rejects_the_deal_naming_the_column(tmp_path) -> None:
    config = make_config(tmp_path, source_block("hubspot", "hubspot/*"))
    content = HUBSPOT.replace(
        "2025-03-02 11:30,2025-03-05 00:00,2025-03-05", "2025-03-02 11:30,x,y"
    )
    put(config, "hubspot/deals_2025-03-07.csv", content)
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (3, 2, 1)
    [reject] = table(config, "rejected_rows").to_dicts()
    assert reject["column"] == 'Date entered "Closed Won (Sales Pipeline)"'


def test_columns_mapping_overrides_and_extends_a_preset(tmp_path) -> None:
    extra = '    columns: {lead_source: "utm_source", product: "Товар__2"}\n'
    config = make_config(tmp_path, source_block("amocrm", "amo/*", extra))
    put(config, "amo/deals_2025-03-07.csv", AMOCRM)
    ingest(config)
    deal = table(config, "crm_deals").filter(pl.col("deal_id") == "101").row(0, named=True)
    assert deal["lead_source"] == "yandex"
    product = table(config, "crm_deal_attributes").filter(
        (pl.col("deal_id") == "101") & (pl.col("name") == "product")
    )
    assert product["value"].to_list() == ["Фурнитура"]


@pytest.mark.parametrize(
    ("preset", "renamed", "column"),
    [
        ("amocrm", "Этап сделки", "stage"),
        ("bitrix24", "Дата создания", "created_at"),
        ("hubspot", "Deal Stage", "stage"),
        ("pipedrive", "Deal - Status", "status"),
        ("salesforce", "CreatedDate", "created_at"),
    ],
)
def test_a_renamed_required_column_fails_the_file_loudly(tmp_path, preset, renamed, column) -> None:
    name, content, encoding = FORMATS[preset]
    config = make_config(tmp_path, source_block(preset, name.split("/")[0] + "/*"))
    header, rest = content.split("\r\n", 1)
    put(config, name, header.replace(renamed, "Переименовано", 1) + "\r\n" + rest, encoding)
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0)
    assert_invariant(config)
    message = str(error.value)
    assert f"{renamed!r}" in message and f"({column})" in message
    assert f"preset {preset!r}" in message and "'Переименовано'" in message
    assert ledger(config)["status"].to_list() == ["failed"]
