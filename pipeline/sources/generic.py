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

from collections.abc import Iterator

import polars as pl

from pipeline.config import Source
from pipeline.names import visible
from pipeline.sources import fastcsv, presets
from pipeline.sources.errors import MissingColumnsError, SourceError
from pipeline.sources.presets import Column
from pipeline.sources.raw import Export, RawFile, records_frame, rejects_frame
from pipeline.sources.tabular import (
    Table,
    dedupe_header,
    is_excel,
    is_totals_row,
    read_table,
    totals_note,
    unnamed_tail,
)
from pipeline.sources.text import Record, sniff_delimiter
from pipeline.transform.deals import ATTRIBUTE_PREFIX, DEAL_COLUMNS
from pipeline.transform.history import STAGE_DATE_PREFIX
from pipeline.transform.rejects import RAW, ROW

PRESET = "generic"
HISTORY_COLUMNS = ("deal_id", "stage", "entered_at", "manager")


def read(export: Export, source: Source) -> Iterator[RawFile]:
    """A CSV batch by batch: polars parses the well-formed records (fastcsv), the csv
    module the rest; the first record is the header. A workbook (whatever its name) is read
    whole by the table reader (`read_whole`), as one batch; so is a file with no header
    record, or one whose header the batch parser does not read back exactly (`_careful`)."""
    if is_excel(export.peek(4), export.name):
        yield read_whole(export.read_bytes(), export.name, source)
        return
    records = fastcsv.Records(export, source.formats.encoding)
    delimiter = sniff_delimiter(records.head_text, source.formats.delimiter)
    head = fastcsv.first_record(records.head_text, delimiter)
    if head is None or head.fields is None:
        yield _careful(export, source, head)
        return
    header = dedupe_header(head.fields)
    shortest = len(header) - unnamed_tail(head.fields)
    labels: dict[str, str] = {}  # resolved at the first data record
    stage = _constant_stage(source) or ""
    header_read = False
    for batch in records.batches(delimiter, len(head.fields)):
        rows = batch.frame
        if not header_read and rows.height:  # the batch that holds the header record
            if not _reads_back(rows, head.fields):
                yield _careful(export, source, head)
                return
            rows, header_read = rows.filter(pl.col("_row") > 1), True
        rows = rows.with_columns(pl.col("_row") - 1)
        # A file read in one batch (not `batched`) ends in this one: a totals row below it
        # is left out. A large file's keeps it, as a rejected record among millions.
        rows, notes = (rows, []) if export.batched else _without_totals_row(rows)
        raw = RawFile(pl.DataFrame(), rejects_frame([]), rows.height, records.encoding,
                      delimiter, header, notes=notes)  # fmt: skip
        if rows.height:
            table = Table(header, [], [], None, delimiter)
            labels = labels or resolve_columns(table, wanted_columns(source), source, export.name)
            raw.frame, raw.rejects = _read_batch(rows, header, labels, source, shortest)
        raw.labels = labels
        raw.plain = batch.plain and visible(stage) == stage  # (a configured stage too)
        yield raw


def _without_totals_row(records: pl.DataFrame) -> tuple[pl.DataFrame, list[str]]:
    """The file's last data records less a totals row below them (tabular.is_totals_row),
    and the note that says so."""
    if not records.height:
        return records, []
    last = records.row(records.height - 1, named=True)
    fields = [last.get(f"f{i}") for i in range(last["_width"] or 0)]
    if not is_totals_row(fields):
        return records, []
    return records.slice(0, records.height - 1), [totals_note(last["_row"], fields)]


def _careful(export: Export, source: Source, head: Record | None) -> RawFile:
    """A file the batch parser cannot take as it is — no record in its first lines (empty,
    or blank), a header it cannot parse or does not read back exactly — read whole by the
    table reader; a batched (large) file with such a header is refused rather than read
    whole into memory."""
    if export.batched and head is not None:
        why = head.error or "its batches read it differently from the careful parser"
        raise SourceError(f"the header line cannot be parsed: {why}")  # as read_table says
    return read_whole(export.read_bytes(), export.name, source)


def _reads_back(records: pl.DataFrame, header: list[str]) -> bool:
    """The file's first record is the header record as the careful parser reads it."""
    first = records.row(0, named=True)
    return (
        first["_row"] == 1
        and first["_error"] is None
        and first["_width"] == len(header)
        and [first[f"f{i}"] for i in range(len(header))] == header
    )


def _read_batch(
    records: pl.DataFrame,
    header: list[str],
    labels: dict[str, str],
    source: Source,
    shortest: int,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Data records (f0…, _width, _row counted from the first data record, _raw, _error)
    → the mapped columns + the records of another width (`shortest`: a record may lack
    the header's unnamed last columns, tabular.unnamed_tail)."""
    width = len(header)
    ok = pl.col("_error").is_null() & pl.col("_width").is_between(shortest, width)
    rejects = []
    for row, raw, error, count in (
        records.filter(~ok).select("_row", "_raw", "_error", "_width").iter_rows()
    ):
        reason = error
        if reason is None:
            reason = f"the record has {count} fields, the header {width}"
            reason += " (a truncated line?)" if count < width else ""
        rejects.append((row, "(record)", f"{width} fields", raw, reason))
    by_name = {name: f"f{i}" for i, name in enumerate(header)}
    frame = records.filter(ok).select(
        *[pl.col(by_name[actual]).alias(key) for key, actual in labels.items()],
        pl.col("_row").alias(ROW),
        pl.col("_raw").alias(RAW),
    )
    return _with_constant_stage(frame, labels, source), rejects_frame(rejects)


def read_whole(data: bytes, name: str, source: Source) -> RawFile:
    """The table reader (tabular: the csv module record by record, or a workbook): the
    file as one batch."""
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
    frame = frame.select(*columns, pl.col(ROW), pl.col(RAW))
    return _with_constant_stage(frame, labels, source)


def _constant_stage(source: Source) -> str | None:
    if source.kind == "crm" and source.stage:
        return source.stage.value
    return None


def _with_constant_stage(
    frame: pl.DataFrame, labels: dict[str, str], source: Source
) -> pl.DataFrame:
    """`stage: {value: …}`: the one stage of a deals file that has no stage column."""
    stage = _constant_stage(source)
    if stage is not None and "stage" not in labels:
        return frame.with_columns(pl.lit(stage, dtype=pl.String).alias("stage"))
    return frame
