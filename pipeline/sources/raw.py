"""What a preset reads (`Export`: one file, whole or in batches) and what it yields for
each batch (`RawFile`: raw all-string rows plus the records it could not read)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import polars as pl

from pipeline.sources.text import Record
from pipeline.transform.rejects import RAW, REJECT_SCHEMA, ROW

if TYPE_CHECKING:
    from pipeline.sources.tabular import Table


@dataclass(frozen=True)
class Export:
    """One export to read: its name (relative to the inbox) and its bytes, in memory or in
    a file. With `batch_bytes`, a reader that can yields batches of about that much text
    (a batch reader needs `path`); without, the whole file is its one batch."""

    name: str
    path: Path | None = None
    data: bytes | None = None
    batch_bytes: int | None = None
    utf8: str | None = None  # batched: the UTF-8 flavour the fingerprint pass found, if any

    @property
    def batched(self) -> bool:
        return self.batch_bytes is not None

    def read_bytes(self) -> bytes:
        if self.data is not None:
            return self.data
        assert self.path is not None, "an Export holds its bytes or their path"
        return self.path.read_bytes()

    def peek(self, size: int) -> bytes:
        """The first `size` bytes (a workbook's magic number)."""
        if self.data is not None:
            return self.data[:size]
        assert self.path is not None, "an Export holds its bytes or their path"
        with self.path.open("rb") as handle:
            return handle.read(size)


@dataclass
class RawFile:
    """One batch of a file (a whole file read at once is one batch). rows_total counts the
    batch's records; the file-level facts (encoding, columns found, labels) are those of
    the file so far, so the last batch's are the whole file's."""

    frame: pl.DataFrame  # canonical column names, all String, plus _row (record number) and _raw
    rejects: pl.DataFrame  # records unreadable as rows: row_number, column, expected, raw, reason
    rows_total: int  # records in the batch, header excluded
    encoding: str | None = None
    delimiter: str | None = None
    columns_found: list[str] = field(default_factory=list)  # header as read (deduplicated)
    labels: dict[str, str] = field(default_factory=dict)  # canonical column → file column
    expected: dict[str, str] = field(default_factory=dict)  # preset wording of expected values
    plain: bool = False  # no value holds a NUL or invisible character (fastcsv.Batch.plain)
    decimal: str | None = None  # amounts' decimal mark where they do not show it (English: ".")
    notes: list[str] = field(default_factory=list)  # what the reader left out, and why

    @classmethod
    def from_table(cls, table: Table) -> RawFile:
        """A header file as read, before any preset mapping: no rows yet, its rejects."""
        return cls(
            frame=pl.DataFrame(),
            rejects=rejects_frame(table.rejects),
            rows_total=table.rows_total,
            encoding=table.encoding,
            delimiter=table.delimiter,
            columns_found=table.header,
            notes=table.notes,
        )


def records_frame(names: list[str], records: list[Record]) -> pl.DataFrame:
    """Records of equal width → all-string frame with _row and _raw."""
    columns: dict[str, list] = {name: [] for name in names}
    for record in records:
        for name, value in zip(names, record.fields or [], strict=True):
            columns[name].append(value)
    frame = pl.DataFrame(columns, schema=dict.fromkeys(names, pl.String))
    return frame.with_columns(
        pl.Series(ROW, [r.number for r in records], dtype=pl.Int64),
        pl.Series(RAW, [r.raw for r in records], dtype=pl.String),
    )


def rejects_frame(rows: list[tuple[int, str, str, str, str]]) -> pl.DataFrame:
    """(row_number, column, expected, raw, reason) tuples → a rejects frame."""
    return pl.DataFrame(rows, schema=REJECT_SCHEMA, orient="row")
