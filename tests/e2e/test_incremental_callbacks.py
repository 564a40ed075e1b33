"""A callback in a later call log reaches a missed call of the month before.

A Sipuni log (Berlin) with a missed call on 31 March 20:00 and a call on 10 April is built;
then a second log brings the manager's call back to that client on 1 April 10:00, 14 hours
after the missed one (callback_hours 24). The incremental build must re-judge March's
missed call (it recomputed the per-call models from April, the new call's month, and kept
March's leak), and equal a fresh project's full build of the same two files. Expected
figures are counted from the rows written here."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from pipeline.config import Config, load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse

CONFIG = """\
timezone: Europe/Berlin
locales: [en]
paths: {inbox: inbox, landing: data/landing, warehouse: data/w.duckdb, reports: data/reports}
calls: {callback_hours: 24}
privacy: {phone_hash_key: test-key}
sources:
  - {name: sip, kind: calls, preset: sipuni, files: "sip/*.csv"}
funnels:
  - id: retail
    name: {ru: "Розница", en: "Retail"}
    calls: {source: sip, lines: ["+74951112233"]}
    stages:
      - {key: call, name: {ru: "Звонок", en: "Call"},
         calls: {direction: inbound, answered: true}}
      - {key: talk, name: {ru: "Разговор", en: "Talk"},
         calls: {direction: outbound, answered: true}}
"""
HEADER = (
    "Тип;Статус;Время;ID схемы звонка;Схема;Исходящая линия;Откуда;Куда;Кто ответил;"
    "Длительность звонка;Длительность разговора;Время ответа;Оценка;ID записи;Метка;Теги;"
    "Инициатор завершения звонка;ID заказа звонка;Запись существует;Новый клиент;"
    "Состояние перезвона;Время перезвона;Информация из CRM;Ответственный из CRM\n"
)
MISSED_AT = "31.03.2026 20:00:00"
FIRST_LOG = (
    f"Входящий;Не отвечен;{MISSED_AT};1;Основная;;+7 916 600-00-02;74951112233;;25;0;;;;;;"
    "клиент;;0;1;Не перезвонили;;;\n"
    "Входящий;Отвечен;10.04.2026 10:00:00;1;Основная;;+7 916 600-00-09;74951112233;101;70;60;;;"
    "rec-9;;;клиент;;1;1;;;;\n"
)
CALLED_BACK_AT = "01.04.2026 10:00:00"
SECOND_LOG = (
    f"Исходящий;Отвечен;{CALLED_BACK_AT};;;74951112233;101;89166000002;89166000002;70;60;5;;"
    "rec-cb;;;;;1;0;;;;\n"
)


def _project(folder: Path, logs: dict[str, str]) -> Config:
    folder.mkdir(parents=True)
    (folder / "voronka.yaml").write_text(CONFIG, encoding="utf-8")
    config = load_config(folder / "voronka.yaml")
    _deliver(config, logs)
    return config


def _deliver(config: Config, logs: dict[str, str]) -> None:
    inbox = config.inbox_dir / "sip"
    inbox.mkdir(parents=True, exist_ok=True)
    for name, body in logs.items():
        (inbox / name).write_bytes((HEADER + body).encode("cp1251"))
    ingest_inbox(config, settle_seconds=0)


def _march_leaks(config: Config) -> list[tuple]:
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        return con.execute(
            "select missed_inbound, not_called_back from marts.call_leaks"
            " where funnel_id = 'retail' and month = date '2026-03-01' and manager = 'all'"
        ).fetchall()


def test_a_callback_in_a_later_log_closes_the_month_befores_leak(tmp_path) -> None:
    berlin = ZoneInfo("Europe/Berlin")
    missed = dt.datetime.strptime(MISSED_AT, "%d.%m.%Y %H:%M:%S").replace(tzinfo=berlin)
    called_back = dt.datetime.strptime(CALLED_BACK_AT, "%d.%m.%Y %H:%M:%S").replace(tzinfo=berlin)
    assert dt.timedelta(0) < called_back - missed <= dt.timedelta(hours=24)
    assert missed.astimezone(dt.UTC).month == 3 and called_back.astimezone(dt.UTC).month == 4

    config = _project(tmp_path / "site", {"sipuni_1.csv": FIRST_LOG})
    build_warehouse(config)
    assert _march_leaks(config) == [(1, 1)]  # no callback known yet: a leak
    _deliver(config, {"sipuni_2.csv": SECOND_LOG})
    progress: list[str] = []
    build_warehouse(config, progress=progress.append)
    assert any(line.startswith("incremental:") for line in progress), progress
    assert _march_leaks(config) == [(1, 0)], progress

    fresh = _project(tmp_path / "fresh", {"sipuni_1.csv": FIRST_LOG, "sipuni_2.csv": SECOND_LOG})
    build_warehouse(fresh)
    assert _march_leaks(fresh) == [(1, 0)]
