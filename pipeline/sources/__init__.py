"""Extract: one module per preset turns a file's bytes into a raw, all-string polars frame
with canonical column names, plus the records it could not read (`RawFile`).

The presets are declared in `registry.PRESETS` (kind, name, reader, columns, the keys they
honour). Nothing here imports Dagster or touches the landing folder.
"""

from __future__ import annotations

from pipeline.config import Source
from pipeline.sources import registry
from pipeline.sources.errors import LayoutError, MissingColumnsError, SourceError
from pipeline.sources.raw import RawFile


def read_file(data: bytes, name: str, source: Source) -> RawFile:
    """Bytes of one export → RawFile, by the source's preset. Raises SourceError."""
    return registry.preset_of(source).reader(data, name, source)


__all__ = ["LayoutError", "MissingColumnsError", "RawFile", "SourceError", "read_file"]
