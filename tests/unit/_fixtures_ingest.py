"""Helpers for the ingest tests: a tiny config written to tmp_path, inbox files, and the
ledger/parts invariant check (rows_total = rows_accepted + rows_rejected, per file)."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import polars as pl

from pipeline import io
from pipeline.config import Config, load_config
from pipeline.ingest import MAIN_TABLE, IngestSummary, ingest_inbox

CRM_SOURCE = """
  - name: crm
    kind: crm
    preset: generic
    files: "crm/deals_*.csv"
    columns:
      deal_id: "ID сделки"
      crm_pipeline: "Воронка"
      stage: "Этап"
      manager: "Ответственный"
      amount: "Бюджет"
      created_at: "Дата создания"
      client_phone: "Телефон"
      city: "Город"
    status: {won: ["Успешно реализовано"], lost: ["Закрыто и не реализовано"]}
    formats: {date: "%d.%m.%Y %H:%M"}
"""
HISTORY_SOURCE = """
  - name: crm_history
    kind: crm_history
    history_of: crm
    preset: generic
    files: "crm/history_*.csv"
    columns: {deal_id: "ID сделки", stage: "Этап", entered_at: "Дата перехода",
              manager: "Ответственный"}
    formats: {date: "%d.%m.%Y %H:%M"}
"""
PBX_SOURCE = """
  - name: pbx
    kind: calls
    preset: asterisk
    files: "pbx/Master*.csv"
"""
DEALS_HEADER = "ID сделки;Воронка;Этап;Ответственный;Бюджет;Дата создания;Телефон;Город"


def make_config(
    tmp_path: Path, sources: str = CRM_SOURCE, *, extra: str = "", max_reject_ratio: float = 0.5
) -> Config:
    """voronka.yaml with the given sources block, one funnel, and relative paths in tmp_path."""
    crm = "crm" if "kind: crm\n" in sources else None
    funnel = (
        "crm: [{source: crm, pipeline: P}]\n"
        "    stages:\n"
        "      - {key: a, name: {ru: A, en: A}, crm_stages: [{name: A}]}\n"
        "      - {key: b, name: {ru: B, en: B}, crm_status: won}\n"
        if crm
        else "calls: {source: pbx}\n"
        "    stages:\n"
        "      - {key: a, name: {ru: A, en: A}, calls: {direction: inbound}}\n"
        "      - {key: b, name: {ru: B, en: B}, calls: {answered: true}}\n"
    )
    text = (
        "timezone: Europe/Moscow\n"
        "paths: {inbox: inbox, landing: landing, warehouse: wh/w.duckdb, reports: reports}\n"
        f"quality: {{max_reject_ratio: {max_reject_ratio}}}\n"
        "privacy: {phone_hash_key: test-key}\n"
        "managers:\n"
        '  - {name: "Смирнова Анна", aliases: ["Смирнова А.", "ext:101"]}\n'
        + textwrap.dedent(extra)
        + "sources:"
        + sources
        + "funnels:\n  - id: f\n    name: {ru: F, en: F}\n    "
        + funnel
    )
    tmp_path.mkdir(parents=True, exist_ok=True)
    path = tmp_path / "voronka.yaml"
    path.write_text(text, encoding="utf-8")
    return load_config(path)


def put(config: Config, name: str, content: str | bytes, encoding: str = "utf-8") -> Path:
    path = config.inbox_dir / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content if isinstance(content, bytes) else content.encode(encoding))
    return path


def deals_csv(*rows: str, header: str = DEALS_HEADER) -> str:
    return "\r\n".join([header, *rows]) + "\r\n"


def ingest(config: Config) -> IngestSummary:
    summary = ingest_inbox(config, settle_seconds=0)
    assert_invariant(config)
    return summary


def ledger(config: Config) -> pl.DataFrame:
    return io.read_ledger(config.landing_dir)


def part(config: Config, table: str, file_id: str) -> pl.DataFrame:
    return io.read_part(config.landing_dir, table, file_id)


def table(config: Config, name: str) -> pl.DataFrame:
    """A landing table as dbt sees it: every part, in every month folder (io.read_table)."""
    return io.read_table(config.landing_dir, name)


def assert_invariant(config: Config) -> None:
    """For every loaded file: accepted rows are in its main table, rejects in rejected_rows,
    and rows_total = rows_accepted + rows_rejected."""
    sources = {s.name: s for s in config.sources}
    for row in ledger(config).filter(pl.col("status") == "loaded").iter_rows(named=True):
        kind = sources[row["source"]].kind
        rejected = part(config, "rejected_rows", row["file_id"])
        assert row["rows_total"] == row["rows_accepted"] + row["rows_rejected"], row
        assert rejected.height == row["rows_rejected"], (row, rejected)
        assert rejected["row_number"].n_unique() == rejected.height
        if kind != "crm_history":  # history: a record may add zero or several events
            accepted = part(config, MAIN_TABLE[kind], row["file_id"])
            left_out = _deleted_deals(row["message"]) if kind == "crm" else 0
            assert accepted.height + left_out == row["rows_accepted"], (row, accepted)


def _deleted_deals(message: str | None) -> int:
    """The deals a file's notes say were read and left out as deleted (transform.deals)."""
    found = re.search(r"(\d+) deal\(s\) with '[^']*' deleted", message or "")
    return int(found.group(1)) if found else 0
