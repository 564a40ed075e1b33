"""Extract: one module per preset turns an export (`Export`: its bytes, or its path to be
read in batches) into raw, all-string polars frames with canonical column names plus the
records it could not read, one `RawFile` per batch (a file read whole is one batch).

The presets are declared in `registry.PRESETS` (kind, name, reader, columns, the keys they
honour). Nothing here imports Dagster or touches the landing folder.
"""

from __future__ import annotations

from collections.abc import Iterator

from pipeline.config import Source
from pipeline.sources import registry
from pipeline.sources.errors import LayoutError, MissingColumnsError, SourceError
from pipeline.sources.raw import Export, RawFile

UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")


def read_batches(export: Export, source: Source) -> Iterator[RawFile]:
    """One export → its RawFile batches, by the source's preset. Raises SourceError."""
    if export.peek(2) in UTF16_BOMS:
        raise SourceError(
            "the file is UTF-16 text (Excel's «Unicode text» / «Текст в Юникоде»), which no "
            "preset reads: save the export as CSV UTF-8 («CSV UTF-8 (разделитель — запятая)») "
            "or as a workbook (.xlsx)"
        )
    return registry.preset_of(source).reader(export, source)


def read_file(data: bytes, name: str, source: Source) -> RawFile:
    """Bytes of one export, read whole → its one RawFile. Raises SourceError."""
    (raw,) = read_batches(Export(name, data=data), source)
    return raw


__all__ = ["Export", "LayoutError", "MissingColumnsError", "RawFile", "SourceError",
           "read_batches", "read_file"]  # fmt: skip
