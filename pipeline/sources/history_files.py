"""The reader vendor stage-history files share (Bitrix24 stage history, Pipedrive deal
flow, Salesforce OpportunityHistory): header file → long raw frame `deal_id, stage,
entered_at[, manager]` for `transform.history`.

A preset may mark records that add no stage entry (another field's change, a deleted
row) in `_skip_reason`: they are accepted and counted in the file's notes, so
rows_total = accepted + rejected still holds without inventing events.
"""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile, records_frame
from pipeline.sources.tabular import read_table


@dataclass(frozen=True)
class HistoryPreset:
    name: str
    columns: tuple[Column, ...]  # deal_id, stage, entered_at, manager and `_<helper>` columns


def read_history(data: bytes, name: str, source: Source, preset: HistoryPreset) -> RawFile:
    table = read_table(data, name, source.formats)
    raw = RawFile.from_table(table)
    if table.rows_total == 0:
        return raw
    labels = presets.resolve_columns(
        table.header,
        preset.columns,
        dict(source.columns),
        file_name=name,
        source=source,
        preset=preset.name,
    )
    frame = records_frame(table.header, table.rows)
    raw.frame = frame.select(
        *(pl.col(column).alias(key) for key, column in labels.items()), "_row", "_raw"
    )
    raw.labels = {key: column for key, column in labels.items() if not key.startswith("_")}
    return raw
