"""Manager names → the configured canonical names (alias table from voronka.yaml).
Unknown names stay as written, trimmed: data_quality reports them, nothing is guessed."""

from __future__ import annotations

import polars as pl

from pipeline.config import normalize_person_name
from pipeline.names import display_name


def canonical_manager(name: str | None, aliases: dict[str, str]) -> str | None:
    if name is None:
        return None
    trimmed = display_name(name)  # NFKC, no zero-width or bidi characters, single spaces
    if not trimmed:
        return None
    return aliases.get(normalize_person_name(trimmed), trimmed)


def map_managers(values: pl.Series, aliases: dict[str, str]) -> pl.Series:
    distinct = values.drop_nulls().unique().to_list()
    table = {value: canonical_manager(value, aliases) for value in distinct}
    return values.replace_strict(table, default=None, return_dtype=pl.String)
