"""Raw text values of any export, before the kind's transform: what no value may hold.

- NUL bytes and invisible format characters (zero-width spaces and joiners, the soft
  hyphen, the BOM, bidirectional marks and overrides such as RLO) are removed from every
  value: unseen, they make one manager two, and a bidi override reverses printed text.
  How many values lost one is counted in the file's notes.
- A value longer than MAX_VALUE_CHARS rejects its row, naming the column and the length
  (a 10 MB "name" is no name, and it would reach every table and report).
- Phones a preset normalised from the values before cleaning (`_e164_<column>`) are
  dropped when any value is cleaned: the transform normalises the cleaned values.
- The `raw` text kept of a rejected record is bounded too (RAW_KEPT_CHARS).
"""

from __future__ import annotations

import polars as pl

from pipeline.names import INVISIBLE
from pipeline.transform.context import NormalizeContext
from pipeline.transform.phones import E164_PREFIX
from pipeline.transform.rejects import RAW, ROW, Check, no_rejects, split_rejects

MAX_VALUE_CHARS = 4096
RAW_KEPT_CHARS = 4096


def clean_values(
    frame: pl.DataFrame, ctx: NormalizeContext, plain: bool = False
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """A raw frame (canonical String columns, _row, _raw) → (the rows whose values are all
    within MAX_VALUE_CHARS, cleaned; the rows that are not, as rejects; notes). Cheap
    byte-length tests skip the character-level work for the usual clean file; `plain`:
    the reader knows from the bytes that no value holds a character to remove."""
    columns = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String and name not in (ROW, RAW) and not name.startswith("_")
    ]
    if not columns or frame.height == 0:
        return frame, no_rejects(), []
    accepted, rejects = frame, no_rejects()
    maybe_long = pl.any_horizontal(pl.col(c).str.len_bytes() > MAX_VALUE_CHARS for c in columns)
    if frame.select(maybe_long.any()).item():  # bytes ≥ characters: else none is too long
        accepted, rejects = split_rejects(frame, [_length_check(c, ctx) for c in columns])
    if plain or not _may_hide_characters(accepted):
        return accepted, rejects, []
    dirty = pl.any_horizontal(pl.col(name).str.contains(INVISIBLE) for name in columns)
    touched = accepted.select(dirty.fill_null(False).sum()).item()
    if not touched:
        return accepted, rejects, []
    accepted = accepted.with_columns(pl.col(columns).str.replace_all(INVISIBLE, "")).drop(
        pl.selectors.starts_with(E164_PREFIX)  # normalised from the values before cleaning
    )
    return (
        accepted,
        rejects,
        [f"{touched} row(s) held NUL bytes or invisible/bidi characters (removed)"],
    )


def _length_check(name: str, ctx: NormalizeContext) -> Check:
    length = pl.col(name).str.len_chars()
    return Check(
        ctx.label(name),
        f"at most {MAX_VALUE_CHARS:,} characters",
        pl.when(length > MAX_VALUE_CHARS).then(
            pl.format(
                "the value is {} characters long; at most {} are read",
                length,
                pl.lit(f"{MAX_VALUE_CHARS:,}"),
            )
        ),
    )


def _may_hide_characters(frame: pl.DataFrame) -> bool:
    """Whether any record holds a NUL or a non-ASCII character (every invisible character
    is one of them): ASCII records without NUL hold none."""
    if RAW not in frame.columns or frame.height == 0:
        return frame.height > 0
    raw = pl.col(RAW)
    maybe = (raw.str.len_bytes() != raw.str.len_chars()) | raw.str.contains("\u0000", literal=True)
    return bool(frame.select(maybe.fill_null(False).any()).item())


def bounded_raw(rejects: pl.DataFrame) -> pl.DataFrame:
    """Rejects with their raw text cut to RAW_KEPT_CHARS (the length said) and NUL-free."""
    raw = pl.col("raw").str.replace_all("\u0000", "", literal=True)
    long = raw.str.len_chars() > RAW_KEPT_CHARS
    kept = pl.format(
        "{}… ({} characters in all)", raw.str.slice(0, RAW_KEPT_CHARS), raw.str.len_chars()
    )
    return rejects.with_columns(raw=pl.when(long).then(kept).otherwise(raw))
