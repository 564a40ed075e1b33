"""Shared machinery of the vendor presets whose files have a header row (amocrm, bitrix24,
hubspot, pipedrive, salesforce, sipuni, twilio, and the vendor history files).

A preset declares, per canonical column, the header spellings the vendor writes (Russian
and English where both exist). The file's header is matched tolerantly (case, ё/е,
spaces: `tabular.header_key`); the first spelling found wins; a repeated name keeps its
position (`Источник`, `Источник__2`). `columns:` in voronka.yaml overrides a preset's
spelling or adds a column. A required column that is not found fails the file with
MissingColumnsError naming the column, the preset and the columns the file has.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import polars as pl

from pipeline.config import Source, normalize_person_name
from pipeline.sources.errors import MissingColumnsError
from pipeline.sources.tabular import find_column, header_key

TRUE_WORDS = ("true", "yes", "1", "да", "истина", "y", "t")
_ENGLISH_GROUPED = r"^-?\d{1,3}(,\d{3})+(\.\d+)?$"


@dataclass(frozen=True)
class Column:
    """A canonical column and the header spellings a vendor uses for it."""

    key: str
    names: tuple[str, ...]
    required: bool = False


def where(source: Source, preset: str) -> str:
    return f"source {source.name!r} (preset {preset!r}, kind {source.kind!r})"


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
    keys = list(declared) + [key for key in overrides if key not in declared]
    for key in keys:
        configured = overrides.get(key)
        names = (configured,) if configured else declared[key].names
        actual = next((hit for name in names if (hit := find_column(header, name))), None)
        if actual is not None:
            found[key] = actual
        elif configured or declared[key].required:
            spelled = " or ".join(repr(name) for name in names)
            missing.append(f"{spelled} ({key.split(':')[-1].lstrip('_')})")
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


def english_amount(text: str | None) -> str | None:
    """`1,234.50` (English grouping) → `1234.50`, so the default comma-decimal parser reads it."""
    if text is None:
        return None
    stripped = text.strip()
    if re.match(_ENGLISH_GROUPED, stripped):
        return stripped.replace(",", "")
    return text


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


def extension_manager(value: str | None) -> str | None:
    """An internal number (2–5 digits) → the `ext:<n>` alias; any other text as written."""
    if value is None or not value.strip():
        return None
    text = value.strip()
    return f"ext:{text}" if re.fullmatch(r"\d{2,5}", text) else text


def duration_seconds(value: str | None) -> str | None:
    """`35`, `0:35`, `00:00:35` → `35` (text, cast later in one place); other text unchanged."""
    if value is None:
        return None
    text = value.strip()
    if re.fullmatch(r"\d+(:\d{1,2}){1,2}", text):
        seconds = 0
        for part in text.split(":"):
            seconds = seconds * 60 + int(part)
        return str(seconds)
    return text
