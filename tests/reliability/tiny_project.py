"""A tiny project written into a test's folder: one generic CRM source mapping only the
canonical deal columns (no attribute columns, so `crm_deal_attributes` stays empty), one
two-stage funnel, relative paths. Deal exports are generated in the test."""

from __future__ import annotations

from pathlib import Path

from pipeline.config import Config, load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse

CONFIG = """\
timezone: Europe/Moscow
locales: [en]
paths: {inbox: inbox, landing: landing, warehouse: warehouse/w.duckdb, reports: reports}
privacy: {phone_hash_key: test-key}
sources:
  - name: crm
    kind: crm
    preset: generic
    files: "crm/deals_*.csv"
    columns: {deal_id: "Deal", created_at: "Created", stage: "Stage", manager: "Owner",
              client_phone: "Phone"}
    status: {won: ["Won"], lost: ["Lost"]}
    formats: {date: "%Y-%m-%d %H:%M", delimiter: ","}
funnels:
  - id: sales
    name: {ru: "Продажи", en: "Sales"}
    crm: [{source: crm}]
    window_days: 30
    stages:
      - {key: lead, name: {ru: "Лид", en: "Lead"}, crm_stages: [{name: "New"}]}
      - {key: won, name: {ru: "Оплата", en: "Won"}, crm_status: won}
"""
HEADER = "Deal,Created,Stage,Owner,Phone\n"


def write_project(folder: Path, zone: str = "Europe/Moscow") -> Config:
    folder.mkdir(parents=True, exist_ok=True)
    text = CONFIG.replace("timezone: Europe/Moscow", f"timezone: {zone}")
    (folder / "voronka.yaml").write_text(text, encoding="utf-8")
    return load_config(folder / "voronka.yaml")


def built_project(
    folder: Path, name: str, rows: list[tuple], zone: str = "Europe/Moscow"
) -> Config:
    """The project (in `zone`) with one deals export `crm/<name>` of `rows`, ingested and
    built."""
    config = write_project(folder, zone)
    put_deals(config, name, rows)
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    return config


def put_deals(config: Config, name: str, rows: list[tuple[str, str, str, str, str]]) -> Path:
    """A deals export `crm/<name>` (the name's date is its snapshot time)."""
    path = config.inbox_dir / "crm" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(HEADER + "".join(",".join(row) + "\n" for row in rows), encoding="utf-8")
    return path


def deals(month: int, count: int, owner: str = "Anna Smirnova") -> list[tuple]:
    """`count` deals created in 2025-<month>, every other one won."""
    return [
        (
            f"D{month:02d}{n:03d}",
            f"2025-{month:02d}-{1 + n % 27:02d} 10:00",
            "Won" if n % 2 else "New",
            owner,
            f"+7916{month:02d}{n:05d}",
        )
        for n in range(count)
    ]
