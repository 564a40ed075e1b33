"""Presets that can be read in bounded batches (Asterisk CDR, generic CSV): one batch of
records → the same raw frame and rejects their careful readers give.

`asterisk.read` and `generic.read` (the csv module, record by record) stay the reference
and read XLSX; these functions reuse their column rules, so a batch's frame is the frame
the careful reader gives for those records. A file below the streaming size is read as
one batch (`read_asterisk`, `read_generic`: the readers `registry` declares for these
presets, which it marks streamable).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import polars as pl

from pipeline.config import Source
from pipeline.sources import asterisk, fastcsv, generic
from pipeline.sources.errors import SourceError
from pipeline.sources.raw import RawFile, rejects_frame
from pipeline.sources.tabular import Table, dedupe_header, is_excel
from pipeline.sources.text import Record, decode, sniff_delimiter
from pipeline.transform.rejects import RAW, ROW


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


# --- whole files as one batch ----------------------------------------------------------


def read_asterisk(data: bytes, name: str, source: Source) -> RawFile:
    """`asterisk.read`, the file parsed as one batch (polars for well-formed records)."""
    text, encoding = decode(data, source.formats.encoding)
    layout = asterisk_layout(source)
    head = fastcsv.first_record(text, layout.delimiter)
    asterisk.refuse_header(head.fields if head else None, name, source)
    records = fastcsv.parse_batch(text, layout.delimiter, layout.max_width, 1).frame
    frame, rejects = asterisk_batch(records, layout)
    fields = asterisk.FIELDS
    return RawFile(
        frame=frame,
        rejects=rejects,
        rows_total=records.height,
        encoding=encoding,
        delimiter=layout.delimiter,
        columns_found=[f"{w} fields: {', '.join(fields[:w])}" for w in sorted(layout.widths)],
        labels=asterisk.LABELS,
        expected=asterisk.EXPECTED,
    )


def read_generic(data: bytes, name: str, source: Source) -> RawFile:
    """`generic.read`, a CSV file parsed as one batch (polars for well-formed records).
    XLSX, a file with no record and a header the batch does not read back exactly go to
    `generic.read`."""
    if is_excel(data, name):
        return generic.read(data, name, source)
    text, encoding = decode(data, source.formats.encoding)
    delimiter = sniff_delimiter(text, source.formats.delimiter)
    head = fastcsv.first_record(text, delimiter)
    if head is None or head.fields is None:
        return generic.read(data, name, source)
    width = len(head.fields)
    records = fastcsv.parse_batch(text, delimiter, width, 1).frame
    first = records.row(0, named=True) if records.height else None
    if (
        first is None
        or first["_row"] != 1
        or first["_error"] is not None
        or first["_width"] != width
        or [first[f"f{i}"] for i in range(width)] != head.fields
    ):
        return generic.read(data, name, source)
    rows = records.filter(pl.col("_row") > 1).with_columns(pl.col("_row") - 1)
    raw = RawFile(
        frame=pl.DataFrame(),
        rejects=rejects_frame([]),
        rows_total=rows.height,
        encoding=encoding,
        delimiter=delimiter,
        columns_found=dedupe_header(head.fields),
    )
    if rows.height == 0:
        return raw
    layout = generic_layout(source, name, head, delimiter)
    raw.frame, raw.rejects = generic_batch(rows, layout, source)
    raw.labels = layout.labels
    return raw
