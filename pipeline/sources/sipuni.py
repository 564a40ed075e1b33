"""The `sipuni` preset: Sipuni call statistics, `;`-separated with a Russian header
(`Тип;Статус;Время;…;Откуда;Куда;Кто ответил;Длительность звонка;Длительность
разговора;…`), matched by name.

Тип: входящий → inbound, исходящий → outbound, внутренний → internal. Статус: отвечен →
answered, не отвечен → no_answer, занят/занято → busy, ошибка/сбой → failed. Inbound:
client = Откуда, line = Куда; outbound: client = Куда, line = Исходящая линия. Manager =
Кто ответил for inbound calls, Откуда (the caller) for outbound and internal ones — an
internal number becomes `ext:<n>`. talk_s =
Длительность разговора (seconds or m:ss); call_s = Длительность звонка (the end is the
start's instant plus it: transform.calls, so a call across a DST change ends when it did).
call_id = ID записи, else a hash of the columns read. Sipuni's own callback columns
(Новый клиент, Состояние перезвона) are not used: leaks are computed the same way for
every telephony source.
"""

from __future__ import annotations

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile
from pipeline.sources.tabular import read_table

COLUMNS = (
    Column("_type", ("Тип",), required=True),
    Column("_status", ("Статус",), required=True),
    Column("started_at", ("Время",), required=True),
    Column("_from", ("Откуда",), required=True),
    Column("_to", ("Куда",), required=True),
    Column("_answered_by", ("Кто ответил",)),
    Column("_outgoing_line", ("Исходящая линия",)),
    Column("_call_s", ("Длительность звонка",)),
    Column("talk_s", ("Длительность разговора",)),
    Column("_record_id", ("ID записи",)),
)


def read(data: bytes, name: str, source: Source) -> RawFile:
    table = read_table(data, name, source.formats)
    raw = RawFile.from_table(table)
    if table.rows_total == 0:
        return raw
    labels = presets.resolve_columns(
        table.header, COLUMNS, dict(source.columns), file_name=name, source=source, preset="sipuni"
    )
    names = ("call_id", "direction", "line", "client_phone", "started_at", "call_s")
    names += ("manager", "talk_s", "disposition")
    raw.frame = presets.call_frame(table, labels, _call, names)
    raw.labels = {
        "call_id": labels.get("_record_id", "ID записи"),
        "direction": labels["_type"],
        "disposition": labels["_status"],
        "started_at": labels["started_at"],
        "client_phone": f"{labels['_from']}/{labels['_to']}",
        "talk_s": labels.get("talk_s", "Длительность разговора"),
    }
    raw.expected = {
        "direction": "Тип: входящий, исходящий or внутренний",
        "disposition": "Статус: отвечен, не отвечен, занят or ошибка",
    }
    return raw


def _call(r: dict, raw: str) -> tuple:
    get = lambda key: (r.get(key) or "").strip()  # noqa: E731
    kind = presets.call_direction(get("_type"))
    source_side, target_side = get("_from"), get("_to")
    client = {"inbound": source_side, "outbound": target_side}.get(kind)
    line = {"inbound": target_side, "outbound": get("_outgoing_line")}.get(kind)
    agent = source_side if kind in ("outbound", "internal") else get("_answered_by")
    call_s = presets.duration_seconds(get("_call_s"))
    return (
        get("_record_id") or presets.read_values_key(r),
        kind,
        line or None,
        client or None,
        get("started_at"),
        call_s,
        presets.extension_manager(agent),
        presets.duration_seconds(get("talk_s")) or None,
        presets.call_disposition(get("_status")),
    )
