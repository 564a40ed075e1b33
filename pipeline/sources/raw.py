"""The value every preset returns: raw all-string rows plus file-level rejects."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import polars as pl

from pipeline.sources.text import Record
from pipeline.transform.rejects import RAW, REJECT_SCHEMA, ROW

if TYPE_CHECKING:
    from pipeline.sources.tabular import Table


@dataclass
class RawFile:
    frame: pl.DataFrame  # canonical column names, all String, plus _row (record number) and _raw
    rejects: pl.DataFrame  # records unreadable as rows: row_number, column, expected, raw, reason
    rows_total: int  # records in the file, header excluded
    encoding: str | None = None
    delimiter: str | None = None
    columns_found: list[str] = field(default_factory=list)  # header as read (deduplicated)
    labels: dict[str, str] = field(default_factory=dict)  # canonical column → file column
    expected: dict[str, str] = field(default_factory=dict)  # preset wording of expected values

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
