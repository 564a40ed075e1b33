"""Raw text values of any export, before the kind's transform: what no value may hold.

- NUL bytes and invisible format characters (zero-width spaces and joiners, the soft
  hyphen, the BOM, bidirectional marks and overrides such as RLO) are removed from every
  value: unseen, they make one manager two, and a bidi override reverses printed text.
  How many values lost one is counted in the file's notes.
- A value longer than MAX_VALUE_CHARS rejects its row, naming the column and the length
  (a 10 MB "name" is no name, and it would reach every table and report).
- The `raw` text kept of a rejected record is bounded too (RAW_KEPT_CHARS).
"""

from __future__ import annotations

import polars as pl

from pipeline.names import INVISIBLE
from pipeline.transform.context import NormalizeContext
from pipeline.transform.rejects import RAW, ROW, Check, split_rejects

MAX_VALUE_CHARS = 4096
RAW_KEPT_CHARS = 4096


def clean_values(
    frame: pl.DataFrame, ctx: NormalizeContext
) -> tuple[pl.DataFrame, pl.DataFrame, list[str]]:
    """A raw frame (canonical String columns, _row, _raw) → (the rows whose values are all
    within MAX_VALUE_CHARS, cleaned; the rows that are not, as rejects; notes)."""
    columns = [
        name
        for name, dtype in frame.schema.items()
        if dtype == pl.String and name not in (ROW, RAW) and not name.startswith("_")
    ]
    if not columns or frame.height == 0:
        return frame, split_rejects(frame, [])[1], []
    checks = [
        Check(
            ctx.label(name),
            f"at most {MAX_VALUE_CHARS:,} characters",
            pl.when(pl.col(name).str.len_chars() > MAX_VALUE_CHARS).then(
                pl.format(
                    "the value is {} characters long; at most {} are read",
                    pl.col(name).str.len_chars(),
                    pl.lit(f"{MAX_VALUE_CHARS:,}"),
                )
            ),
        )
        for name in columns
    ]
    accepted, rejects = split_rejects(frame, checks)
    dirty = pl.any_horizontal(pl.col(name).str.contains(INVISIBLE) for name in columns)
    touched = accepted.select(dirty.fill_null(False).sum()).item()
    if touched:
        accepted = accepted.with_columns(pl.col(columns).str.replace_all(INVISIBLE, ""))
    notes = (
        [f"{touched} row(s) held NUL bytes or invisible/bidi characters (removed)"]
        if touched
        else []
    )
    return accepted, rejects, notes


def bounded_raw(rejects: pl.DataFrame) -> pl.DataFrame:
    """Rejects with their raw text cut to RAW_KEPT_CHARS (the length said) and NUL-free."""
    raw = pl.col("raw").str.replace_all("\u0000", "", literal=True)
    long = raw.str.len_chars() > RAW_KEPT_CHARS
    kept = pl.format(
        "{}… ({} characters in all)", raw.str.slice(0, RAW_KEPT_CHARS), raw.str.len_chars()
    )
    return rejects.with_columns(raw=pl.when(long).then(kept).otherwise(raw))
