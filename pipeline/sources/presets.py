"""Shared machinery of the presets whose files have a header row (the list of presets is
`sources.registry`).

A preset declares, per canonical column, the header spellings the vendor writes (Russian
and English where both exist). The file's header is matched tolerantly (case, ё/е,
spaces: `tabular.header_key`); the first spelling found wins; a repeated name keeps its
position (`Источник`, `Источник__2`). `columns:` in voronka.yaml overrides a preset's
spelling by the column's public key (`from`, not the internal `_from`; `deal_name`, not
`attr:deal_name`) or, for CRM deals, adds a column. A required column that is not found
fails the file with MissingColumnsError naming the column, the preset and the columns the
file has; a first line that is data, not column names, fails it with a LayoutError.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pipeline.config import Source, normalize_person_name
from pipeline.sources.errors import LayoutError, MissingColumnsError
from pipeline.sources.raw import records_frame
from pipeline.sources.tabular import Table, find_column, header_key

TRUE_WORDS = ("true", "yes", "1", "да", "истина", "y", "t")
# Dates, times, phones, ids and amounts: a run of 3 digits that column names do not have.
_DATA_VALUE = re.compile(r"\d{3,}")
# First matching prefix wins ("internal" before "in"); Russian, English and vendor words.
DIRECTION_PREFIXES = (
    ("внутр", "internal"),
    ("internal", "internal"),
    ("вход", "inbound"),
    ("in", "inbound"),
    ("исход", "outbound"),
    ("out", "outbound"),
)
DISPOSITION_PREFIXES = (
    ("не отвеч", "no_answer"),
    ("неотвеч", "no_answer"),
    ("без ответа", "no_answer"),
    ("не принят", "no_answer"),
    ("пропущ", "no_answer"),
    ("недозвон", "no_answer"),
    ("отмен", "no_answer"),
    ("no answer", "no_answer"),
    ("no-answer", "no_answer"),
    ("no_answer", "no_answer"),
    ("noanswer", "no_answer"),
    ("missed", "no_answer"),
    ("cancel", "no_answer"),
    ("отвеч", "answered"),
    ("принят", "answered"),
    ("успеш", "answered"),
    ("answered", "answered"),
    ("completed", "answered"),
    ("занят", "busy"),
    ("busy", "busy"),
    ("ошибк", "failed"),
    ("сбой", "failed"),
    ("неудач", "failed"),
    ("fail", "failed"),
    ("congestion", "failed"),
)


@dataclass(frozen=True)
class Column:
    """A canonical column and the header spellings a vendor uses for it."""

    key: str
    names: tuple[str, ...]
    required: bool = False


def where(source: Source, preset: str) -> str:
    return f"source {source.name!r} (preset {preset!r}, kind {source.kind!r})"


def public_key(key: str) -> str:
    """The name a column has in `columns:` of voronka.yaml (`_from` → `from`,
    `attr:deal_name` → `deal_name`)."""
    return key.removeprefix("attr:").lstrip("_")


def looks_like_header(fields: list[str] | None) -> bool:
    """Column names, not data: some text and no value with 3 digits in a row (every data
    record of an export has a date, a phone, an id or an amount)."""
    cells = [cell.strip() for cell in fields or [] if cell.strip()]
    return bool(cells) and not any(_DATA_VALUE.search(cell) for cell in cells)


def header_expected(first: list[str], file_name: str, source: Source, preset: str) -> LayoutError:
    """A header preset given a file whose first line is data: which layout was expected,
    which was found, and what to do."""
    shown = ", ".join(repr(cell) for cell in first[:4]) + (", …" if len(first) > 4 else "")
    return LayoutError(
        f"{file_name}: {where(source, preset)} expects a header row (column names) as the "
        f"first line; this file has no header row, its first line is data: {shown}. "
        + NO_HEADER_HINT[source.kind]
    )


NO_HEADER_HINT = {
    "crm": "Export the file with its column names (or add the header line), then map them "
    "with preset generic: columns: {deal_id: …, created_at: …, stage: …}.",
    "crm_history": "Export the file with its column names (or add the header line), then "
    "map them with preset generic: columns: {deal_id: …, stage: …, entered_at: …}.",
    "calls": "Asterisk's Master.csv reads with preset asterisk and Mango Office's API "
    "statistics with preset mango; any other call log needs its header row, mapped with "
    "preset generic: columns: {started_at: …, caller: …, callee: …, talk_s: …}.",
}


def resolve_columns(
    header: list[str],
    columns: tuple[Column, ...],
    overrides: dict[str, str],
    *,
    file_name: str,
    source: Source,
    preset: str,
) -> dict[str, str]:
    """Canonical key → the file's column. A configured column (`overrides`) replaces the
    preset's spellings and must be present; a required preset column must be present."""
    found: dict[str, str] = {}
    missing: list[str] = []
    declared = {column.key: column for column in columns}
    public = {public_key(key) for key in declared}
    keys = list(declared) + [key for key in overrides if key not in public]
    for key in keys:
        configured = overrides.get(public_key(key)) if key in declared else overrides[key]
        names = (configured,) if configured else declared[key].names
        actual = next((hit for name in names if (hit := find_column(header, name))), None)
        if actual is not None:
            found[key] = actual
        elif configured or declared[key].required:
            spelled = " or ".join(repr(name) for name in names)
            missing.append(f"{spelled} ({public_key(key.split(':')[-1])})")
    if missing and not looks_like_header(header):
        raise header_expected(header, file_name, source, preset)
    if missing:
        raise MissingColumnsError(
            f"{file_name}: column {', '.join(missing)} not found for {where(source, preset)}; "
            "the file has columns: " + ", ".join(repr(c) for c in header)
        )
    return found


def names_table(values: list[str]) -> set[str]:
    return {normalize_person_name(value) for value in values}


def map_values(values: pl.Series, mapping, default: str | None = None) -> pl.Series:
    """Apply a Python function once per distinct value (a small, readable vectorization)."""
    distinct = values.drop_nulls().unique().to_list()
    table = {value: mapping(value) for value in distinct}
    return values.replace_strict(table, default=default, return_dtype=pl.String)


def status_by_stage(
    stages: pl.Series, won: tuple[str, ...], lost: tuple[str, ...], source: Source
) -> pl.Series:
    """Stage names → open/won/lost by the preset's system names plus `status:` in the config."""
    won_names = names_table([*won, *source.status.won])
    lost_names = names_table([*lost, *source.status.lost])

    def status(stage: str) -> str:
        key = normalize_person_name(stage)
        if key in won_names:
            return "won"
        return "lost" if key in lost_names else "open"

    return map_values(stages, status, default="open")


def is_true(value: str | None) -> bool:
    return value is not None and value.strip().casefold() in TRUE_WORDS


def is_phone_column(name: str) -> bool:
    """Vendors name every phone field with the word (Рабочий телефон, Person - Phone)."""
    key = header_key(name)
    return ("телефон" in key or "phone" in key) and "факс" not in key and "fax" not in key


def join_cells(frame: pl.DataFrame, columns: list[str]) -> pl.Series:
    """Several phone columns → one cell, non-empty values joined with ', '."""
    if not columns:
        return pl.Series("client_phone", [None] * frame.height, dtype=pl.String)
    cleaned = [
        pl.when(pl.col(c).str.strip_chars() == "").then(None).otherwise(pl.col(c)) for c in columns
    ]
    joined = frame.select(pl.concat_str(cleaned, separator=", ", ignore_nulls=True).alias("c"))
    return joined["c"].replace("", None).alias("client_phone")


def call_direction(value: str) -> str:
    """`Входящий`, `inbound`, `outbound-api`, `in`, … → inbound/outbound/internal; other text
    as written (the transform rejects it, quoting it)."""
    key = value.strip().casefold()
    found = (word for prefix, word in DIRECTION_PREFIXES if key.startswith(prefix))
    return next(found, value.strip())


def call_disposition(value: str) -> str:
    """`Отвечен`, `Не отвечен`, `Пропущенный`, `Занято`, `completed`, `no-answer`, … →
    answered/no_answer/busy/failed; other text as written."""
    key = value.strip().casefold()
    found = (word for prefix, word in DISPOSITION_PREFIXES if key.startswith(prefix))
    return "no_answer" if "пропущ" in key else next(found, value.strip())


def extension_manager(value: str | None) -> str | None:
    """An internal number (2–5 digits) → the `ext:<n>` alias; any other text as written."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    return f"ext:{text}" if re.fullmatch(r"\d{2,5}", text) else text


# A workbook's duration cell (`[h]:mm:ss`) as the reader gives it: a time after Excel's day
# zero, 1899-12-31 00:00 (a day or more: 1900-01-DD).
_EXCEL_DURATION = re.compile(
    r"(?:1899-12-31|1900-01-(?P<days>\d\d))[ T](?P<h>\d\d):(?P<m>\d\d):(?P<s>\d\d)(?:\.0+)?"
)


def duration_seconds(value: str | None) -> str | None:
    """`35`, `0:35`, `00:00:35`, a workbook's duration cell `1899-12-31 00:00:35` → `35`
    (text, cast later in one place); other text unchanged (`1:75` is no time: the row is
    rejected naming the column)."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(:[0-5]?\d){1,2}", text):  # minutes and seconds under 60
        seconds = 0
        for part in text.split(":"):
            seconds = seconds * 60 + int(part)
        return str(seconds)
    if excel := _EXCEL_DURATION.fullmatch(text):
        days = int(excel["days"] or 0)
        return str(((days * 24 + int(excel["h"])) * 60 + int(excel["m"])) * 60 + int(excel["s"]))
    return text


def call_frame(
    table: Table,
    labels: dict[str, str],
    to_call: Callable[[dict[str, str], str], tuple],
    names: tuple[str, ...],
) -> pl.DataFrame:
    """A call log's records → one call per record: `to_call(values, raw)` gets the mapped
    values (canonical key → the record's value) and the record's text, returns the values
    of `names`. An all-string frame with _row and _raw."""
    frame = records_frame(table.header, table.rows)
    calls = [
        to_call({key: r[column] for key, column in labels.items()}, r["_raw"])
        for r in frame.iter_rows(named=True)
    ]
    return pl.DataFrame(calls, schema=dict.fromkeys(names, pl.String), orient="row").with_columns(
        frame["_row"], frame["_raw"]
    )


def read_values_key(values: dict[str, str]) -> str:
    """A call's id when its log gives none: the sha256 of the values the preset reads
    (canonical key → value), so a re-export that changes only columns Voronka does not read
    (Sipuni's callback state, a comment) keeps every call's id, and its later arrival
    replaces the first instead of counting each call twice."""
    text = "\t".join(f"{key}={(values[key] or '').strip()}" for key in sorted(values))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
