"""The `mango` preset: Mango Office call statistics, in either of the two layouts Mango
writes — told apart by the first line.

API layout (VPBX `stats/request`): `;`-separated, no header, UTF-8, times in Unix seconds.
Field order is the requested field list, by default `records;start;finish;answer;
from_extension;from_number;to_extension;to_number;disconnect_reason;line_number;
location;entry_id`; `columns: {order: "start;finish;…"}` in the config gives another.
`answer = 0` means not answered (disposition no_answer; Mango's disconnect codes are not
mapped to busy/failed). Direction by which side is an extension: a caller without an
extension is a client (inbound); an extension calling an outside number is outbound;
extension to extension is internal. The manager is the employee side's extension
(`ext:<n>`); the line is `line_number`, else our side's number; talk_s = finish − answer.
call_id = entry_id: an entry is one call, one row per leg (a ring group's or a sequential
ring's agents, a transfer), answered when any leg was; else the sha256 of the record.

Cabinet layout (the web cabinet's «Статистика вызовов» → download as CSV): a header row
of Russian names, local times as text. Mango documents no column list for this file: the
names below are matched tolerantly (case, ё/е, spaces), and `columns:` renames any of
them (`columns: {caller: "Номер клиента"}`). Rows go through the generic call-log rules
(`generic_calls.call_rows`): direction from «Тип звонка», client the caller of an
inbound call or the callee of an outbound one, answered by «Статус» or talk time.
"""

from __future__ import annotations

import datetime as dt
import hashlib

import polars as pl

from pipeline.config import Source
from pipeline.sources import generic_calls, presets
from pipeline.sources.errors import LayoutError, MissingColumnsError, SourceError
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile, records_frame, rejects_frame
from pipeline.sources.tabular import read_table
from pipeline.sources.text import decode, parse_records, split_lines
from pipeline.transform.phones import PLANS

FIELDS = (
    "records",
    "start",
    "finish",
    "answer",
    "from_extension",
    "from_number",
    "to_extension",
    "to_number",
    "disconnect_reason",
    "line_number",
    "location",
    "entry_id",
)
NEEDED = ("start", "finish", "answer", "from_extension", "from_number", "to_extension", "to_number")
LABELS = {
    "call_id": "entry_id",
    "direction": "from_extension/to_extension",
    "started_at": "start",
    "answered_at": "answer",
    "ended_at": "finish",
    "talk_s": "finish − answer",
    "disposition": "answer",
    "client_phone": "from_number/to_number",
    "line": "line_number",
}
UNIX_SECONDS = "Unix seconds (Mango writes times as seconds since 1970, UTC)"
EXPECTED = dict.fromkeys(("started_at", "answered_at", "ended_at"), UNIX_SECONDS)
CABINET_COLUMNS = (
    Column("started_at", ("Дата и время", "Дата/время", "Время звонка", "Начало звонка", "Дата"),
           required=True),
    Column("direction", ("Тип звонка", "Тип вызова", "Направление", "Тип"), required=True),
    Column("caller", ("Кто звонил", "Откуда", "Звонящий", "Номер звонящего"), required=True),
    Column("callee", ("Кому звонили", "Куда", "Вызываемый номер", "Кому"), required=True),
    Column("line", ("Линия", "Номер линии", "Входящая линия")),
    Column("manager", ("Сотрудник", "Ответивший сотрудник", "Кто ответил")),
    Column("talk_s", ("Длительность разговора", "Длительность", "Продолжительность")),
    Column("disposition", ("Статус", "Статус звонка", "Результат", "Результат звонка")),
    Column("call_id", ("ID звонка", "Идентификатор звонка", "ID")),
)  # fmt: skip
CABINET_HINT = (
    "Mango Office's cabinet CSV has a header row with names such as "
    + ", ".join(repr(column.names[0]) for column in CABINET_COLUMNS[:4])
    + "; name yours with columns: {caller: …}, or read the file with preset generic: "
    "columns: {started_at: …, caller: …, callee: …, talk_s: …}"
)


def field_order(source: Source) -> tuple[str, ...]:
    """The configured `columns: {order: …}` or Mango's default field list."""
    configured = source.columns.get("order")
    if not configured:
        return FIELDS
    order = tuple(p.strip() for p in configured.replace(",", ";").split(";") if p.strip())
    unknown = [f for f in order if f not in FIELDS]
    missing = [f for f in NEEDED if f not in order]
    if unknown or missing:
        raise SourceError(
            f"source {source.name!r} (preset 'mango'): columns.order "
            + (f"has unknown field(s) {', '.join(unknown)}; " if unknown else "")
            + (f"lacks {', '.join(missing)}; " if missing else "")
            + f"Mango fields are: {';'.join(FIELDS)}"
        )
    return order


def read(data: bytes, name: str, source: Source) -> RawFile:
    text, encoding = decode(data, source.formats.encoding)
    delimiter = ";" if source.formats.delimiter == "auto" else source.formats.delimiter
    records = parse_records(split_lines(text), delimiter)
    if records and presets.looks_like_header(records[0].fields):
        return read_cabinet(data, name, source)
    order = field_order(source)
    good, bad = [], []
    for record in records:
        if record.fields is None or len(record.fields) != len(order):
            reason = record.error or (
                f"the record has {len(record.fields or [])} fields, the field list {len(order)}"
            )
            bad.append((record.number, "(record)", f"{len(order)} fields", record.raw, reason))
        else:
            good.append(record)
    frame = records_frame(list(order), good)
    return RawFile(
        frame=canonical_calls(frame),
        rejects=rejects_frame(bad),
        rows_total=len(good) + len(bad),
        encoding=encoding,
        delimiter=delimiter,
        columns_found=[";".join(order)],
        labels=LABELS,
        expected=EXPECTED,
    )


def read_cabinet(data: bytes, name: str, source: Source) -> RawFile:
    """The cabinet's CSV: a header row, matched by names, read by the call-log rules."""
    if source.columns.get("order"):
        raise LayoutError(
            f"{name}: {presets.where(source, 'mango')} has columns.order for Mango's API "
            "layout (no header row), but this file starts with a header row: drop "
            f"columns.order to read it by its column names. {CABINET_HINT}"
        )
    table = read_table(data, name, source.formats)
    raw = RawFile.from_table(table)
    if table.rows_total == 0:
        return raw
    overrides = {key: column for key, column in source.columns.items() if key != "order"}
    try:
        labels = presets.resolve_columns(
            table.header, CABINET_COLUMNS, overrides, file_name=name, source=source, preset="mango"
        )
    except MissingColumnsError as error:
        raise MissingColumnsError(f"{error}. {CABINET_HINT}") from None
    return generic_calls.call_rows(raw, table, labels, frozenset(), PLANS[source.phone_country])


def unix_to_iso(value: str | None) -> str | None:
    """`1741590000` → `2025-03-10T07:00:00+00:00`; `0`/empty → None; other text unchanged
    (the transform then rejects it, quoting the value)."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    if not text.isdigit():
        return text
    seconds = int(text)
    return dt.datetime.fromtimestamp(seconds, dt.UTC).isoformat() if seconds else None


def _seconds(value: str | None) -> int | None:
    text = (value or "").strip()
    return int(text) if text.isdigit() else None


def _talk_text(answered: bool, talk: int | None) -> str | None:
    """Talk seconds: 0 for a call never answered; unknown when finish precedes answer."""
    if not answered:
        return "0"
    return None if talk is None else str(talk)


def canonical_calls(frame: pl.DataFrame) -> pl.DataFrame:
    rows = []
    for record in frame.iter_rows(named=True):
        rows.append(_call(record))
    columns = ("call_id", "direction", "line", "client_phone", "started_at", "answered_at")
    columns += ("ended_at", "manager", "talk_s", "disposition")
    out = pl.DataFrame(rows, schema=dict.fromkeys(columns, pl.String), orient="row")
    return out.with_columns(frame["_row"], frame["_raw"])


def _call(r: dict) -> tuple:
    get = lambda key: (r.get(key) or "").strip()  # noqa: E731
    from_ext, to_ext = get("from_extension"), get("to_extension")
    if not from_ext:
        direction, client, ours, agent = "inbound", get("from_number"), get("to_number"), to_ext
    elif to_ext:
        direction, client, ours, agent = "internal", "", "", from_ext
    else:
        direction, client, ours, agent = "outbound", get("to_number"), get("from_number"), from_ext
    answer, finish = _seconds(get("answer")), _seconds(get("finish"))
    answered = bool(answer)
    talk = finish - answer if answered and finish is not None and finish >= answer else None
    call_id = get("entry_id") or hashlib.sha256(r["_raw"].encode("utf-8")).hexdigest()
    return (
        call_id,
        direction,
        get("line_number") or ours or None,
        client or None,
        unix_to_iso(get("start")),
        unix_to_iso(get("answer")) if answered else None,
        unix_to_iso(get("finish")),
        f"ext:{agent}" if agent else None,
        _talk_text(answered, talk),
        "answered" if answered else "no_answer",
    )
