"""The `generic` preset: any CSV/XLSX with a header, mapped by `columns:` in voronka.yaml.

kind crm: the mapping's keys are canonical deal columns (deal_id, created_at, stage, …,
modified_at for the snapshot time); any other key becomes a deal attribute (`attr:<key>`).
`stage: {value: …}` supplies a constant stage when the file has none. `stage_dates:
{stage: column}` (an opportunity table with one date column per stage) gives columns
`stage_date:<n>:<stage>`: each filled date is an exact entry into that stage.
kind crm_history: long format (deal_id, stage, entered_at[, manager]) or wide format
(`stage_dates: {stage: column}`, one date column per stage, as `stage_date:<stage>`).

Every mapped column must be in the header: a renamed column fails the file, naming the
column, the preset and the columns the file does have (a silently missing column would
quietly empty a report).
"""

from __future__ import annotations

import polars as pl

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.errors import MissingColumnsError
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile, records_frame
from pipeline.sources.tabular import Table, read_table
from pipeline.transform.deals import ATTRIBUTE_PREFIX, DEAL_COLUMNS
from pipeline.transform.history import STAGE_DATE_PREFIX

PRESET = "generic"
HISTORY_COLUMNS = ("deal_id", "stage", "entered_at", "manager")


def read(data: bytes, name: str, source: Source) -> RawFile:
    table = read_table(data, name, source.formats)
    base = RawFile.from_table(table)
    if table.rows_total == 0:
        return base
    wanted = wanted_columns(source)
    base.labels = resolve_columns(table, wanted, source, name)
    base.frame = _canonical_frame(table, base.labels, source)
    return base


def wanted_columns(source: Source) -> dict[str, str]:
    """Canonical (or attr:/stage_date:) column → the header name the config expects."""
    required = _required_keys(source)
    absent = [key for key in required if key not in source.columns]
    if absent:
        raise MissingColumnsError(
            f"source {source.name!r} (preset {PRESET!r}, kind {source.kind!r}): voronka.yaml "
            f"'columns' must map {', '.join(absent)} to a column of the file"
        )
    if source.kind == "crm":
        columns = {
            (key if key in DEAL_COLUMNS else ATTRIBUTE_PREFIX + key): column
            for key, column in source.columns.items()
        }
        # numbered as the deals transform reads them (a stage name may hold a ':')
        stage_dates = enumerate(source.stage_dates.items())
        columns.update({f"{STAGE_DATE_PREFIX}{n}:{stage}": col for n, (stage, col) in stage_dates})
        return columns
    columns = {k: v for k, v in source.columns.items() if k in HISTORY_COLUMNS}
    columns.update({STAGE_DATE_PREFIX + stage: col for stage, col in source.stage_dates.items()})
    return columns


def _required_keys(source: Source) -> list[str]:
    if source.kind == "crm":
        return ["deal_id", "created_at"] + ([] if source.stage else ["stage"])
    if source.stage_dates:
        return ["deal_id"]
    return ["deal_id", "stage", "entered_at"]


def resolve_columns(
    table: Table, wanted: dict[str, str], source: Source, name: str
) -> dict[str, str]:
    """Match configured header names to the file's header; fail naming every one missing."""
    columns = tuple(Column(key, (column,), required=True) for key, column in wanted.items())
    return presets.resolve_columns(
        table.header, columns, {}, file_name=name, source=source, preset=PRESET
    )


def _canonical_frame(table: Table, labels: dict[str, str], source: Source) -> pl.DataFrame:
    frame = records_frame(table.header, table.rows)
    columns = [pl.col(actual).alias(key) for key, actual in labels.items()]
    columns += [pl.col("_row"), pl.col("_raw")]
    if source.kind == "crm" and source.stage and "stage" not in labels:
        columns.append(pl.lit(source.stage.value, dtype=pl.String).alias("stage"))
    return frame.select(columns)
