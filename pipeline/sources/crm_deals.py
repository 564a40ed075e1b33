"""The deals-export reader every CRM preset shares: header file (CSV or XLSX) → raw frame
with canonical deal columns, ready for `transform.deals`.

A preset (`CrmPreset`) says how its vendor spells each column, which stage names mean
won/lost (or how else status is written), which columns are phones (all of them are
joined into one `client_phone` cell, split again by the transform) and which become
attributes. `closed_at` is kept only for closed deals: several vendors write the
*expected* close date into the same column while a deal is open. `stage_dates:` in the
config adds stage-date columns to any preset (each filled date an exact stage entry, as
HubSpot's own "Date entered" columns).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import polars as pl

from pipeline.config import Source
from pipeline.sources import presets
from pipeline.sources.presets import Column
from pipeline.sources.raw import RawFile, records_frame
from pipeline.sources.tabular import header_key, read_table
from pipeline.transform.deals import ATTRIBUTE_PREFIX, DEAL_COLUMNS
from pipeline.transform.history import STAGE_DATE_PREFIX

# Preset-internal columns a status rule reads (named in reject messages as "status").
STATUS_HELPERS = ("_status", "_won_flag", "_lost_flag", "_closed_flag")
StatusRule = Callable[[pl.DataFrame, Source], pl.Series]
StageDates = Callable[[list[str]], dict[str, str]]  # header → {stage_date:<n>:<stage>: column}


@dataclass(frozen=True)
class CrmPreset:
    name: str
    columns: tuple[Column, ...]  # deal columns, `attr:<name>` attributes, `_<flag>` helpers
    won: tuple[str, ...] = ()  # stage names that mean won, in every pipeline
    lost: tuple[str, ...] = ()
    status: StatusRule | None = None  # vendor status columns; default: by stage name
    ignored: tuple[str, ...] = ()  # header names that never become attributes
    other_columns_as_attributes: bool = False  # custom fields: every unmapped column
    default_pipeline: str | None = None  # when the vendor writes no pipeline column
    english_numbers: bool = False  # amounts like 1,234.50 (1,500 is 1500: RawFile.decimal)
    stage_dates: StageDates | None = None  # exact stage entries written in the deals file
    post: Callable[[pl.DataFrame], pl.DataFrame] | None = None  # last vendor touch, helpers on


def read_deals(data: bytes, name: str, source: Source, preset: CrmPreset) -> RawFile:
    table = read_table(data, name, source.formats)
    raw = RawFile.from_table(table)
    if table.rows_total == 0:
        return raw
    overrides = {key: column for key, column in source.columns.items()}
    labels = presets.resolve_columns(
        table.header,
        preset.columns,
        overrides,
        file_name=name,
        source=source,
        preset=preset.name,
    )
    labels = {_canonical_key(key): column for key, column in labels.items()}
    if preset.stage_dates:
        labels.update(preset.stage_dates(table.header))
    labels.update(_configured_stage_dates(table.header, name, source, preset))
    frame = records_frame(table.header, table.rows)
    canonical = frame.select(
        *(pl.col(column).alias(key) for key, column in labels.items()), "_row", "_raw"
    )
    phone_columns = _phone_columns(table.header, labels)
    if phone_columns:
        canonical = canonical.with_columns(client_phone=presets.join_cells(frame, phone_columns))
        labels["client_phone"] = ", ".join(phone_columns)
    attributes = _other_attributes(table.header, labels, phone_columns, preset)
    canonical = canonical.with_columns(
        frame[column].alias(ATTRIBUTE_PREFIX + column) for column in attributes
    )
    canonical = _finish(canonical, labels, preset, source)
    raw.frame = canonical.drop([c for c in canonical.columns if _is_helper(c)])
    raw.labels = {key: column for key, column in labels.items() if not _is_helper(key)}
    raw.decimal = "." if preset.english_numbers else None
    return raw


def _configured_stage_dates(
    header: list[str], name: str, source: Source, preset: CrmPreset
) -> dict[str, str]:
    """`stage_dates: {stage: column}` of the config → {stage_date:<n>:<stage>: column}, numbered
    after the header's positions (the preset's own stage-date columns use those)."""
    wanted = tuple(
        Column(f"{STAGE_DATE_PREFIX}{len(header) + n}:{stage}", (column,), required=True)
        for n, (stage, column) in enumerate(source.stage_dates.items())
    )
    return presets.resolve_columns(
        header, wanted, {}, file_name=name, source=source, preset=preset.name
    )


def _canonical_key(key: str) -> str:
    """A configured key that is not a deal column is an attribute (as in the generic preset)."""
    if key in DEAL_COLUMNS or key.startswith((ATTRIBUTE_PREFIX, "_")):
        return key
    return ATTRIBUTE_PREFIX + key


def _is_helper(column: str) -> bool:
    return column.startswith("_") and column not in ("_row", "_raw")


def _phone_columns(header: list[str], labels: dict[str, str]) -> list[str]:
    if "client_phone" in labels:  # configured: exactly that column
        return [labels["client_phone"]]
    used = set(labels.values())
    return [c for c in header if presets.is_phone_column(c) and c not in used]


def _other_attributes(
    header: list[str], labels: dict[str, str], phones: list[str], preset: CrmPreset
) -> list[str]:
    if not preset.other_columns_as_attributes:
        return []
    used = set(labels.values()) | set(phones)
    ignored = {header_key(name) for name in preset.ignored}
    return [
        column
        for column in header
        if column not in used and header_key(column.split("__")[0]) not in ignored
    ]


def _finish(
    frame: pl.DataFrame, labels: dict[str, str], preset: CrmPreset, source: Source
) -> pl.DataFrame:
    if "crm_pipeline" not in frame.columns and preset.default_pipeline:
        frame = frame.with_columns(crm_pipeline=pl.lit(preset.default_pipeline))
    if "stage" not in frame.columns:  # a vendor status rule may not need it; transform does
        return frame
    if preset.status is not None:
        status = preset.status(frame, source)
    else:
        status = presets.status_by_stage(frame["stage"], preset.won, preset.lost, source)
    helpers = [column for key, column in labels.items() if key in STATUS_HELPERS]
    labels.setdefault("status", ", ".join(helpers) or labels.get("stage", "stage"))
    frame = frame.with_columns(status=status)
    if "closed_at" in frame.columns:
        frame = frame.with_columns(
            closed_at=pl.when(pl.col("status") != "open").then(pl.col("closed_at"))
        )
    return preset.post(frame) if preset.post else frame
