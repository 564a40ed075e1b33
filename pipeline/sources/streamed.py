"""Presets that can be read in bounded batches (Asterisk CDR, generic CSV): one batch of
records → the same raw frame and rejects their whole-file readers give.

`asterisk.read` and `generic.read` stay the reference (and serve XLSX and small files);
these functions reuse their column rules, so a batch's frame is the frame the whole-file
reader would give for those records.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline.config import Source
from pipeline.sources import asterisk, generic
from pipeline.sources.errors import SourceError
from pipeline.sources.raw import rejects_frame
from pipeline.sources.tabular import Table, dedupe_header, is_excel
from pipeline.sources.text import Record
from pipeline.transform.rejects import RAW, ROW

STREAMED = {("calls", "asterisk"), ("crm", "generic"), ("crm_history", "generic")}


def can_stream(source: Source, name: str) -> bool:
    return (source.kind, source.preset) in STREAMED and not is_excel(b"", name)


@dataclass
class Layout:
    """What a streamed file's header (or preset) fixes for every batch."""

    delimiter: str
    max_width: int
    header: list[str] = field(default_factory=list)  # generic: deduplicated header
    labels: dict[str, str] = field(default_factory=dict)
    expected: dict[str, str] = field(default_factory=dict)
    columns_found: list[str] = field(default_factory=list)
    widths: set[int] = field(default_factory=set)


def asterisk_layout(source: Source) -> Layout:
    delimiter = "," if source.formats.delimiter == "auto" else source.formats.delimiter
    return Layout(delimiter, len(asterisk.FIELDS), labels=asterisk.LABELS,
                  expected=asterisk.EXPECTED)  # fmt: skip


def generic_layout(source: Source, name: str, head: Record, delimiter: str) -> Layout:
    if head.fields is None:
        raise SourceError(f"the header line cannot be parsed: {head.error}")
    header = dedupe_header(head.fields)
    layout = Layout(delimiter, len(header), header=header, columns_found=header)
    table = Table(header, [], [], None, delimiter)
    layout.labels = generic.resolve_columns(table, generic.wanted_columns(source), source, name)
    return layout


def asterisk_batch(frame: pl.DataFrame, layout: Layout) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Records (f0…, _width, _row, _raw, _error) → canonical call columns + rejects."""
    widths = asterisk.WIDTHS
    ok = pl.col("_error").is_null() & pl.col("_width").is_in(widths)
    bad = frame.filter(~ok)
    good = frame.filter(ok)
    layout.widths.update(good["_width"].unique().to_list())
    names = list(asterisk.FIELDS)
    good = good.select(
        *[pl.col(f"f{i}").fill_null("").alias(n) for i, n in enumerate(names)],
        pl.col("_row").alias(ROW),
        pl.col("_raw").alias(RAW),
    )
    rejects = [
        (
            row,
            "(record)",
            "16, 17 or 18 fields",
            raw,
            error or f"the record has {width} fields; Asterisk cdr-csv writes 16, 17 or 18",
        )
        for row, raw, error, width in bad.select("_row", "_raw", "_error", "_width").iter_rows()
    ]
    return asterisk.canonical_calls(good), rejects_frame(rejects)


def generic_batch(
    frame: pl.DataFrame, layout: Layout, source: Source
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Data records (header already dropped, _row counted from the first data record)."""
    width = len(layout.header)
    ok = pl.col("_error").is_null() & (pl.col("_width") == width)
    bad = frame.filter(~ok)
    good = frame.filter(ok)
    rejects = []
    for row, raw, error, count in bad.select("_row", "_raw", "_error", "_width").iter_rows():
        if error is not None:
            reason = error
        else:
            reason = f"the record has {count} fields, the header {width}"
            if count < width:
                reason += " (a truncated line?)"
        rejects.append((row, "(record)", f"{width} fields", raw, reason))
    by_name = {name: f"f{i}" for i, name in enumerate(layout.header)}
    columns = [pl.col(by_name[actual]).alias(key) for key, actual in layout.labels.items()]
    columns += [pl.col("_row").alias(ROW), pl.col("_raw").alias(RAW)]
    if source.kind == "crm" and source.stage and "stage" not in layout.labels:
        columns.append(pl.lit(source.stage.value, dtype=pl.String).alias("stage"))
    return good.select(columns), rejects_frame(rejects)
