"""No silent keys: for every preset of every kind (`sources.registry.PRESETS`) and every
optional source key, the key either changes what a sample export reads, or the config
refuses it (exit 2) naming the key and its line.

Each sample is a tiny export in its vendor's layout with, on purpose: a row whose date is
written `10/03/2025 …` (read only with `formats.date`), naive local times (moved by
`timezone`), Cyrillic text (written in cp1251, it fails with `formats.encoding: utf-8`)
and, for deals, an amount `1,5` (1.5 with the default decimal comma, 15 with
`decimal: "."`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pytest
import yaml

from pipeline.config import Config, ConfigError, load_config
from pipeline.funnel_tables import outcome_stage_rows
from pipeline.ingest import normalize_file
from pipeline.sources import SourceError, registry


@dataclass(frozen=True)
class Sample:
    text: str
    source: dict  # the source's keys beyond name and files
    other_delimiter: str  # a delimiter that is not the file's
    variants: dict = field(default_factory=dict)  # key → source keys that change the read


def lines(*rows: str) -> str:
    return "\n".join(rows) + "\n"


DEALS_COLUMNS = {
    "deal_id": "ID", "crm_pipeline": "Pipeline", "stage": "Stage", "created_at": "Opened",
    "manager": "Owner", "amount": "Amount", "client_phone": "Phone",
}  # fmt: skip
HISTORY_COLUMNS = {"deal_id": "Deal", "stage": "Stage", "entered_at": "Changed", "manager": "Who"}
CALL_COLUMNS = {
    "started_at": "When", "caller": "From", "callee": "To", "talk_s": "Talk",
    "disposition": "Result", "manager": "Agent",
}  # fmt: skip

SAMPLES: dict[tuple[str, str], Sample] = {
    ("crm", "generic"): Sample(
        lines(
            "ID;Pipeline;Stage;Opened;Owner;Amount;Phone;Closed",
            "1;P;A;01.03.2025 10:00;Иванов;1,5;89000000001;",
            "2;P;B;10/03/2025 10:00:00;Петров;2;+79000000002;05.03.2025 12:00",
        ),
        {"kind": "crm", "preset": "generic", "columns": DEALS_COLUMNS},
        ",",
        {
            "columns": {"columns": {**DEALS_COLUMNS, "manager": "Pipeline"}},
            "stage": {
                "columns": {k: v for k, v in DEALS_COLUMNS.items() if k != "stage"},
                "stage": {"value": "A"},
            },
            "stage_dates": {"stage_dates": {"C": "Opened"}},
            "status": {"status": {"won": ["B"]}},
        },
    ),
    ("crm", "amocrm"): Sample(
        lines(
            "ID;Название сделки;Бюджет;Ответственный;Дата создания сделки;Дата закрытия;"
            "Этап сделки;Воронка;Мобильный телефон;Город",
            "101;Двери;1,5;Смирнова А.;01.03.2025 10:00:00;;Замер;Розница;8 900 000-00-01;Москва",
            "102;Окна;2000;Петров;10/03/2025 10:00:00;05.03.2025 12:00:00;Успешно реализовано;"
            "Розница;89000000002;Тула",
        ),
        {"kind": "crm", "preset": "amocrm"},
        ",",
        {
            "columns": {"columns": {"manager": "Город"}},
            "stage_dates": {"stage_dates": {"Замер": "Дата создания сделки"}},
            "status": {"status": {"won": ["Замер"]}},
        },
    ),
    ("crm", "bitrix24"): Sample(
        lines(
            "ID;Название сделки;Стадия сделки;Воронка;Ответственный;Сумма;Дата создания;"
            "Дата изменения;Телефон",
            "1;Двери;Новая;Общая;Смирнова;1,5;01.03.2025 10:00:00;02.03.2025 10:00:00;89000000001",
            "2;Окна;Сделка успешна;Общая;Петров;2000;10/03/2025 10:00:00;05.03.2025 12:00:00;"
            "89000000002",
        ),
        {"kind": "crm", "preset": "bitrix24"},
        ",",
        {
            "columns": {"columns": {"manager": "Название сделки"}},
            "stage_dates": {"stage_dates": {"Новая": "Дата изменения"}},
            "status": {"status": {"won": ["Новая"]}},
        },
    ),
    ("crm", "hubspot"): Sample(
        lines(
            "Record ID,Deal Name,Deal Stage,Pipeline,Amount,Create Date,Close Date,Deal owner,"
            "Is Closed Won,Is closed lost,Phone Number",
            '1001,Двери,Appointment,Sales,"1,5",2025-03-01 10:00,,Смирнова,false,false,'
            "8 900 000-00-01",
            "1002,Окна,Closed Won,Sales,2000,10/03/2025 10:00:00,2025-03-05 12:00,Петров,"
            "true,false,",
        ),
        {"kind": "crm", "preset": "hubspot"},
        ";",
        {
            "columns": {"columns": {"manager": "Deal Name"}},
            "stage_dates": {"stage_dates": {"Won": "Create Date"}},
            "status": {"status": {"won": ["Appointment"]}},
        },
    ),
    ("crm", "pipedrive"): Sample(
        lines(
            "Deal - ID,Deal - Title,Deal - Value,Deal - Stage,Deal - Status,Deal - Owner,"
            "Deal - Deal created,Deal - Won time,Person - Phone",
            '1,Двери,"1,5",Qualified,open,Смирнова,2025-03-01 10:00:00,,89000000001',
            "2,Окна,2000,Closed,won,Петров,10/03/2025 10:00:00,2025-03-05 12:00:00,89000000002",
        ),
        {"kind": "crm", "preset": "pipedrive"},
        ";",
        {
            "columns": {"columns": {"manager": "Deal - Title"}},
            "stage_dates": {"stage_dates": {"Won": "Deal - Deal created"}},
            "status": {"status": {"won": ["open"]}},
        },
    ),
    ("crm", "salesforce"): Sample(
        lines(
            "Id,Name,StageName,Amount,CreatedDate,CloseDate,Owner Name,IsWon,IsClosed,Phone",
            '006A,Двери,Prospecting,"1,5",2025-03-01T10:00:00,2025-04-01,Смирнова,false,false,'
            "8 900 000-00-01",
            "006B,Окна,Closed Won,2000,10/03/2025 10:00:00,2025-03-05,Петров,true,true,",
        ),
        {"kind": "crm", "preset": "salesforce"},
        ";",
        {
            "columns": {"columns": {"manager": "Name"}},
            "stage_dates": {"stage_dates": {"Won": "CloseDate"}},
            "status": {"status": {"won": ["Prospecting"]}},
        },
    ),
    ("crm_history", "generic"): Sample(
        lines(
            "Deal;Stage;Changed;Who;Signed",
            "1;A;01.03.2025 10:00;Иванов;05.03.2025 10:00",
            "2;B;10/03/2025 10:00:00;Петров;",
        ),
        {
            "kind": "crm_history",
            "preset": "generic",
            "history_of": "crm",
            "columns": HISTORY_COLUMNS,
        },
        ",",
        {
            "columns": {"columns": {**HISTORY_COLUMNS, "manager": "Stage"}},
            "stage_dates": {
                "columns": {"deal_id": "Deal", "manager": "Who"},
                "stage_dates": {"Won": "Signed"},
            },
            "status": {"status": {"won": ["A"]}},
        },
    ),
    ("crm_history", "bitrix24"): Sample(
        lines(
            "ID,TYPE_ID,OWNER_ID,CREATED_TIME,CATEGORY_ID,STAGE_SEMANTIC_ID,STAGE_ID",
            "1,1,101,2025-03-10 10:00:00,0,P,Новая",
            "2,2,101,10/03/2025 12:00:00,0,S,WON",
        ),
        {"kind": "crm_history", "preset": "bitrix24", "history_of": "crm"},
        ";",
        {
            "columns": {"columns": {"stage": "STAGE_SEMANTIC_ID"}},
            "status": {"status": {"won": ["Новая"]}},
        },
    ),
    ("crm_history", "pipedrive"): Sample(
        lines(
            "item_id,field_key,old_value,new_value,log_time,user_id",
            "101,stage_id,1,Договор,2025-03-10 10:00:00,7",
            "102,stage_id,1,3,10/03/2025 12:00:00,7",
        ),
        {"kind": "crm_history", "preset": "pipedrive", "history_of": "crm"},
        ";",
        {
            "columns": {"columns": {"stage": "old_value"}},
            "status": {"status": {"won": ["Договор"]}},
        },
    ),
    ("crm_history", "salesforce"): Sample(
        lines(
            "Id,OpportunityId,StageName,CreatedDate,IsDeleted",
            "H1,006A,Переговоры,2025-03-10T10:00:00,false",
            "H2,006B,Closed Won,10/03/2025 12:00:00,false",
        ),
        {"kind": "crm_history", "preset": "salesforce", "history_of": "crm"},
        ";",
        {
            "columns": {"columns": {"stage": "Id"}},
            "status": {"status": {"won": ["Переговоры"]}},
        },
    ),
    ("calls", "asterisk"): Sample(
        lines(
            '"","79000000001","74950000000","from-trunk","""Иван"" <79000000001>",'
            '"SIP/trunk-001","SIP/101-002","Dial","SIP/101","2025-03-10 10:00:00",'
            '"2025-03-10 10:00:05","2025-03-10 10:03:05","185","180","ANSWERED","DOCUMENTATION"',
            '"","79000000002","74950000000","from-trunk","","SIP/trunk-003","SIP/101-004","Dial",'
            '"SIP/101","10/03/2025 11:00:00","","10/03/2025 11:00:20","20","0","NO ANSWER",'
            '"DOCUMENTATION"',
        ),
        {"kind": "calls", "preset": "asterisk"},
        ";",
    ),
    ("calls", "mango"): Sample(
        lines(
            "Дата и время;Тип звонка;Кто звонил;Кому звонили;Линия;Сотрудник;Ожидание;"
            "Длительность разговора;Статус;ID звонка",
            "10.03.2025 10:00:00;Входящий;8 900 000-00-01;+7 495 000-00-00;+7 495 000-00-00;101;"
            "5;180;Отвечен;1001",
            "10/03/2025 10:30:00;Входящий;+7 900 000-00-02;+7 495 000-00-00;+7 495 000-00-00;;20;0;"
            "Пропущен;1002",
        ),
        {"kind": "calls", "preset": "mango"},
        ",",
        {"columns": {"columns": {"manager": "Линия"}}},
    ),
    ("calls", "sipuni"): Sample(
        lines(
            "Тип;Статус;Время;Исходящая линия;Откуда;Куда;Кто ответил;Длительность звонка;"
            "Длительность разговора;ID записи",
            "Входящий;Отвечен;10.03.2025 10:00:00;;79000000001;74950000000;101;185;180;rec1",
            "Входящий;Не отвечен;10/03/2025 10:30:00;;89000000002;74950000000;;20;0;rec2",
        ),
        {"kind": "calls", "preset": "sipuni"},
        ",",
        {"columns": {"columns": {"answered_by": "Откуда"}}},
    ),
    ("calls", "twilio"): Sample(
        lines(
            "sid,start_time,end_time,duration,from,to,direction,status",
            # a CSV saved again by a spreadsheet loses the numbers' `+`
            "CA1,10.03.2025 10:00:00,,180,79000000001,client:Смирнова,inbound,completed",
            "CA2,10/03/2025 10:30:00,,0,+79000000002,+74950000000,inbound,no-answer",
        ),
        {"kind": "calls", "preset": "twilio"},
        ";",
        {"columns": {"columns": {"start": "end_time"}}},
    ),
    ("calls", "generic"): Sample(
        lines(
            "When;From;To;Talk;Result;Agent",
            "10.03.2025 10:00:00;8 900 000-00-01;101;180;Отвечен;Смирнова",
            "10/03/2025 10:30:00;+7 900 000-00-02;101;0;Пропущен;",
            "10.03.2025 11:00:00;+7 495 000-00-00;+7 900 000-00-03;60;Отвечен;",
        ),
        {"kind": "calls", "preset": "generic", "columns": CALL_COLUMNS},
        ",",
        {
            "columns": {"columns": {k: v for k, v in CALL_COLUMNS.items() if k != "manager"}},
            "own_lines": {"own_lines": ["+7 495 000-00-00"]},
        },
    ),
}

# A value for each key, for the presets that must refuse it.
REFUSED = {
    "timezone": {"timezone": "Asia/Vladivostok"},
    "phone_country": {"phone_country": "US"},
    "columns": {"columns": {"deal_id": "ID"}},
    "stage": {"stage": {"value": "A"}},
    "status": {"status": {"won": ["A"]}},
    "stage_dates": {"stage_dates": {"A": "Signed"}},
    "history_of": {"history_of": "crm"},
    "own_lines": {"own_lines": ["+74950000000"]},
    "formats.date": {"formats": {"date": "%d/%m/%Y"}},
    "formats.decimal": {"formats": {"decimal": "."}},
    "formats.encoding": {"formats": {"encoding": "cp1251"}},
    "formats.delimiter": {"formats": {"delimiter": ";"}},
}


def variant(sample: Sample, key: str) -> dict:
    """Source keys that differ from the sample's only in `key`, so as to change the read."""
    common = {
        "timezone": {"timezone": "Asia/Vladivostok"},
        "phone_country": {"phone_country": "US"},  # 89000000002 is no US number
        "formats.date": {"formats": {"date": "%d/%m/%Y %H:%M:%S"}},
        "formats.decimal": {"formats": {"decimal": "."}},
        "formats.encoding": {"formats": {"encoding": "utf-8"}},
        "formats.delimiter": {"formats": {"delimiter": sample.other_delimiter}},
        "history_of": {"history_of": "crm2"},
    }
    return {**sample.source, **(sample.variants.get(key) or common[key])}


def write_config(folder: Path, source: dict) -> Config:
    deals = {"kind": "crm", "preset": "generic",
             "columns": {"deal_id": "ID", "created_at": "C", "stage": "S"}}  # fmt: skip
    doc = {
        "timezone": "Europe/Moscow",
        "paths": {"inbox": "inbox", "landing": "landing", "warehouse": "wh/w.duckdb"},
        "privacy": {"phone_hash_key": "test-key"},
        "sources": [
            {"name": "sample", "files": "sample/*.csv", **source},
            {"name": "crm", "files": "crm/*.csv", **deals},
            {"name": "crm2", "files": "crm2/*.csv", **deals},
        ],
        "funnels": [
            {
                "id": "f",
                "name": {"ru": "F", "en": "F"},
                "crm": [{"source": "crm"}],
                "stages": [
                    {"key": "a", "name": {"ru": "A", "en": "A"}, "crm_stages": ["A"]},
                    {"key": "won", "name": {"ru": "W", "en": "W"}, "crm_status": "won"},
                ],
            }
        ],
    }
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "voronka.yaml"
    path.write_text(yaml.safe_dump(doc, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return load_config(path)


def what_is_read(folder: Path, sample: Sample, source: dict, encoding: str = "utf-8") -> tuple:
    """Everything a source's keys can change: the raw rows, the landing rows (or the
    error), and the outcome names the warehouse gets from the config."""
    config = write_config(folder, source)
    outcomes = outcome_stage_rows(config)
    data = sample.text.encode(encoding)
    try:
        normalized = normalize_file(config, config.source("sample"), "sample/x.csv", data, "id")
    except SourceError as error:
        return ("failed", str(error), outcomes)
    tables = {name: frame.to_dicts() for name, frame in normalized.tables.items()}
    return (normalized.raw.frame.to_dicts(), tables, outcomes)


def test_stage_dates_add_stage_entries_in_every_crm_preset(tmp_path) -> None:
    for preset in registry.presets_of("crm"):
        sample = SAMPLES[("crm", preset.name)]
        _, tables, _ = what_is_read(tmp_path / preset.name, sample, variant(sample, "stage_dates"))
        assert len(tables["crm_stage_events"]) == 1, preset.name


CASES = [(p.kind, p.name, key) for p in registry.PRESETS for key in registry.OPTIONAL_KEYS]


def test_every_preset_has_a_sample() -> None:
    assert set(SAMPLES) == {(preset.kind, preset.name) for preset in registry.PRESETS}


@pytest.mark.parametrize(("kind", "preset", "key"), CASES, ids=["-".join(c) for c in CASES])
def test_every_optional_key_changes_what_is_read_or_is_refused(tmp_path, kind, preset, key):
    sample = SAMPLES[(kind, preset)]
    if key in registry.find(kind, preset).honours:
        written = "cp1251" if key == "formats.encoding" else "utf-8"
        read = what_is_read(tmp_path / "base", sample, sample.source, written)
        assert read[0] != "failed", read  # the sample itself loads
        changed = what_is_read(tmp_path / "variant", sample, variant(sample, key), written)
        assert changed != read
        return
    with pytest.raises(ConfigError) as error:
        write_config(tmp_path, {**sample.source, **REFUSED[key]})
    message = str(error.value)
    assert f"sources.0.{key.split('.')[0]} (line " in message, message
    assert f"{key} has no effect on a {kind!r} source with preset {preset!r}" in message


@pytest.mark.parametrize("preset", [p for p in registry.PRESETS if not p.any_column_key])
def test_a_column_key_the_preset_does_not_map_is_refused(tmp_path, preset):
    if "columns" not in preset.honours:
        pytest.skip("the preset takes no columns at all (the walk above refuses the key)")
    sample = SAMPLES[(preset.kind, preset.name)]
    columns = {**sample.source.get("columns", {}), "nosuchkey": "X"}
    with pytest.raises(ConfigError) as error:
        write_config(tmp_path, {**sample.source, "columns": columns})
    message = str(error.value)
    assert "sources.0.columns (line " in message
    assert f"columns.nosuchkey: not a column preset {preset.name!r} maps" in message


def test_a_constant_stage_beside_a_stage_column_is_refused(tmp_path) -> None:
    sample = SAMPLES[("crm", "generic")]
    with pytest.raises(ConfigError, match=r"sources\.0 \(line \d+\): stage has no effect when"):
        write_config(tmp_path, {**sample.source, "stage": {"value": "A"}})


def test_a_history_file_is_long_or_wide_not_both(tmp_path) -> None:
    sample = SAMPLES[("crm_history", "generic")]
    with pytest.raises(ConfigError, match=r"columns\.stage has no effect with stage_dates"):
        write_config(tmp_path, {**sample.source, "stage_dates": {"Won": "Signed"}})
