"""A small project for the ingest-side reliability tests: one generic CRM source (with a
closed date), its history, an Asterisk call log, one funnel; `quality:` as the test
gives it. Malformed exports are generated in the tests."""

from __future__ import annotations

import io as bytes_io
from pathlib import Path

import polars as pl
import xlsxwriter

from pipeline.config import Config, load_config
from pipeline.ingest import IngestSummary, ingest_inbox
from tests.unit._fixtures_ingest import assert_invariant, ledger, put, table

__all__ = ["assert_invariant", "ledger", "put", "table"]

SOURCES = """\
sources:
  - name: crm
    kind: crm
    preset: generic
    files: "crm/deals*"
    columns: {deal_id: "Deal", created_at: "Created", stage: "Stage", manager: "Owner",
              client_phone: "Phone", closed_at: "Closed"}
    status: {won: ["Won"], lost: ["Lost"]}
    formats: {date: "%d.%m.%Y %H:%M"}
  - name: history
    kind: crm_history
    history_of: crm
    preset: generic
    files: "crm/history*"
    columns: {deal_id: "Deal", stage: "Stage", entered_at: "Entered", manager: "Owner"}
    formats: {date: "%d.%m.%Y %H:%M"}
  - name: pbx
    kind: calls
    preset: asterisk
    files: "pbx/Master*.csv"
"""
FUNNEL = """\
funnels:
  - id: sales
    name: {ru: Продажи, en: Sales}
    crm: [{source: crm}]
    calls: {source: pbx}
    window_days: 30
    stages:
      - {key: call, name: {ru: Звонок, en: Call}, calls: {direction: inbound}}
      - {key: lead, name: {ru: Лид, en: Lead}, crm_stages: [{name: "New"}]}
      - {key: won, name: {ru: Оплата, en: Won}, crm_status: won}
"""
DEALS_HEADER = "Deal;Created;Stage;Owner;Phone;Closed"
HISTORY_HEADER = "Deal;Stage;Entered;Owner"


def make_project(
    folder: Path,
    quality: str = "{max_reject_ratio: 0.5}",
    *,
    hash_key: str = "test-key",
    funnel: str = FUNNEL,
    zone: str = "Europe/Moscow",
) -> Config:
    text = (
        f"timezone: {zone}\n"
        "locales: [en]\n"
        "paths: {inbox: inbox, landing: landing, warehouse: warehouse/w.duckdb, "
        "reports: reports}\n"
        f"quality: {quality}\n"
        f"privacy: {{phone_hash_key: {hash_key}}}\n"
        "managers:\n"
        '  - {name: "Anna Smirnova", aliases: ["ext:101"]}\n' + SOURCES + funnel
    )
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "voronka.yaml").write_text(text, encoding="utf-8")
    return load_config(folder / "voronka.yaml")


def deal(
    number: int,
    created: str = "10.02.2025 10:00",
    stage: str = "New",
    closed: str = "",
    owner: str = "Anna Smirnova",
) -> str:
    return f"D{number:04d};{created};{stage};{owner};+7916{number:07d};{closed}"


def deals_file(*rows: str, header: str = DEALS_HEADER) -> str:
    return "\n".join([header, *rows]) + "\n"


def cdr(number: int, start: str, end: str = "", talk: int = 60, src: str = "") -> str:
    """One Asterisk cdr-csv line: an answered inbound call from a client to ext 101."""
    src = src or f"8916{number:07d}"
    end = end or start
    return (
        f'"","{src}","101","from-trunk","""Client"" <{src}>","SIP/trunk-{number:08x}",'
        f'"SIP/101-{number:08x}","Dial","SIP/101","{start}","{start}","{end}",'
        f'{talk + 5},{talk},"ANSWERED","DOCUMENTATION","call{number}.1"'
    )


def xlsx(rows: list[list]) -> bytes:
    """A workbook with one sheet holding `rows` (numbers stay numbers: Excel serials)."""
    buffer = bytes_io.BytesIO()
    book = xlsxwriter.Workbook(buffer)
    sheet = book.add_worksheet()
    for number, row in enumerate(rows):
        sheet.write_row(number, 0, row)
    book.close()
    return buffer.getvalue()


def ingest(config: Config, **kwargs) -> IngestSummary:
    summary = ingest_inbox(config, settle_seconds=0, **kwargs)
    assert_invariant(config)
    return summary


def rejects(config: Config) -> pl.DataFrame:
    return table(config, "rejected_rows").sort("file_id", "row_number")
