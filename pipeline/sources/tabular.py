"""Files with a header row, CSV or XLSX → header + data records of the header's width.

Header names match tolerantly (case, ё/е, surrounding and repeated spaces); a repeated
name keeps its position as `Name__2`, `Name__3`. A record with another field count (a
truncated last line, an unquoted delimiter) is rejected with the count it has.
XLSX cells are all read as strings (dates as ISO text or Excel serial numbers, a formula
error as its text, `#DIV/0!`) and cast later in one place; an XLSX record's `raw` is its
cells joined by tabs.

A workbook is read whole into memory, so before reading one (whatever its name: a zip
named .csv is a workbook) its archive is measured: unpacked size, compression ratio and
rows per sheet above the caps below fail the file with the figure and the cap — a zip
bomb (6 MB holding 3 million rows) costs a second, not minutes and gigabytes.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import PurePath

import polars as pl

from pipeline.config import Formats
from pipeline.sources.errors import SourceError
from pipeline.sources.text import Record, decode, parse_records, sniff_delimiter, split_lines
from pipeline.sources.workbook_cells import SheetCells, sheet_cells

EXCEL_SUFFIXES = (".xlsx", ".xlsm", ".xlsb", ".xls", ".ods")
ZIP_MAGIC = b"PK\x03\x04"
# Caps on a workbook, checked before it is read: bigger exports go as CSV (read in batches).
MAX_UNPACKED_BYTES = 512 * 1024**2
MAX_COMPRESSION_RATIO = 100  # unpacked / packed; real workbooks are 5–30
MAX_SHEET_ROWS = 1_048_576  # Excel's own limit per sheet
_SHEET = re.compile(r"^(xl/worksheets/[^/]+\.xml|content\.xml)$")  # xlsx/xlsm, ods
_ROW_TAGS = (b"<row ", b"<row>", b"<table:table-row")


@dataclass
class Table:
    header: list[str]  # deduplicated names in file order
    rows: list[Record]  # data records, numbered 1.. after the header
    rejects: list[tuple[int, str, str, str, str]]
    encoding: str | None
    delimiter: str | None
    notes: list[str] = field(default_factory=list)  # what was read and left out, and why

    @property
    def rows_total(self) -> int:
        return len(self.rows) + len(self.rejects)

    @property
    def is_excel(self) -> bool:
        return self.delimiter is None


def header_key(name: str) -> str:
    """The form header names are compared in."""
    cleaned = name.replace("\ufeff", "").replace("ё", "е").replace("Ё", "Е")
    return " ".join(cleaned.split()).casefold()


def dedupe_header(names: list[str]) -> list[str]:
    seen: dict[str, int] = {}
    result = []
    for position, name in enumerate(names, start=1):
        clean = " ".join(name.replace("\ufeff", "").split()) or f"column_{position}"
        key = header_key(clean)
        seen[key] = seen.get(key, 0) + 1
        result.append(clean if seen[key] == 1 else f"{clean}__{seen[key]}")
    return result


def find_column(header: list[str], wanted: str) -> str | None:
    key = header_key(wanted)
    return next((name for name in header if header_key(name) == key), None)


def is_excel(data: bytes, name: str) -> bool:
    return PurePath(name).suffix.lower() in EXCEL_SUFFIXES or data.startswith(ZIP_MAGIC)


def read_table(data: bytes, name: str, formats: Formats) -> Table:
    if is_excel(data, name):
        records, encoding, delimiter = _excel_records(data), None, None
    else:
        text, encoding = decode(data, formats.encoding)
        delimiter = sniff_delimiter(text, formats.delimiter)
        records = parse_records(split_lines(text), delimiter)
    return _split_header(records, encoding, delimiter)


# Lines a report's title may take above the header row (a workbook's merged title cell).
TITLE_LINES_MAX = 3


# The first filled cell of a totals row a report puts below its table (`Итого: 6 сделок`,
# `Всего`, `Total`): a sum of the rows above, not a row.
_TOTALS = re.compile(r"^\s*(итого|всего)\b|^\s*(grand\s+)?totals?\s*:?\s*$", re.IGNORECASE)


def _split_header(records: list[Record], encoding: str | None, delimiter: str | None) -> Table:
    if not records:
        return Table([], [], [], encoding, delimiter)
    head, *body = records[_header_index(records) :]
    if head.fields is None:
        raise SourceError(f"the header line cannot be parsed: {head.error}")
    header = dedupe_header(head.fields)
    notes = []
    if body and is_totals_row(body[-1].fields):
        notes.append(totals_note(body[-1].number - head.number, body[-1].fields or []))
        body = body[:-1]
    rows, rejects = [], []
    shortest = len(header) - unnamed_tail(head.fields)
    for record in body:
        number = record.number - head.number
        if record.fields is None:
            rejects.append(
                (number, "(record)", f"{len(header)} fields", record.raw, record.error or "")
            )
        elif not shortest <= len(record.fields) <= len(header):
            reason = f"the record has {len(record.fields)} fields, the header {len(header)}"
            if len(record.fields) < len(header):
                reason += " (a truncated line?)"
            rejects.append((number, "(record)", f"{len(header)} fields", record.raw, reason))
        else:  # lacking at most the header's unnamed last columns: empty there
            padded = record.fields + [""] * (len(header) - len(record.fields))
            rows.append(Record(number, padded, record.raw))
    return Table(header, rows, rejects, encoding, delimiter, notes)


def unnamed_tail(names: list[str]) -> int:
    """How many columns at the header's end have no name (`Источник;;;`): a record that
    lacks only those lacks nothing read (a spreadsheet writes their empty cells on some
    rows and not on others)."""
    named = [index for index, name in enumerate(names) if name.strip()]
    return len(names) - 1 - named[-1] if named else 0


def is_totals_row(fields: list[str | None] | None) -> bool:
    """Whether the last record below a table is its totals row (_TOTALS): its first filled
    cell says so."""
    first = _first_filled(fields)
    return first is not None and _TOTALS.search(first) is not None


def totals_note(number: int, fields: list[str | None]) -> str:
    """The ledger's note for a totals row left out (row `number` after the header)."""
    label = (_first_filled(fields) or "").strip()[:40]
    return f"row {number} below the table is a totals row ({label!r}): not read as a record"


def _first_filled(fields: list[str | None] | None) -> str | None:
    """The first cell that holds anything (None: none, or an unparsed line)."""
    return next((cell for cell in fields or [] if cell and cell.strip()), None)


def _header_index(records: list[Record]) -> int:
    """The header row's index: the first line with more than one filled cell, past title
    lines of one filled cell above it (`Экспорт сделок 01.03.2026`, a merged title); the
    first line when none of the first few has more."""
    for index, record in enumerate(records[: TITLE_LINES_MAX + 1]):
        if record.fields is None or sum(1 for cell in record.fields if cell.strip()) > 1:
            return index
    return 0


def check_workbook(data: bytes) -> None:
    """Raise SourceError when a zipped workbook exceeds a cap (unpacked size, compression
    ratio, rows of a sheet), without unpacking more than the caps allow."""
    if not data.startswith(ZIP_MAGIC):
        return  # .xls / .xlsb: binary formats, read as they are
    mb = 1024**2
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as error:
        raise SourceError(f"cannot read the workbook: {error}") from None
    stated = sum(member.file_size for member in members)
    if stated > MAX_UNPACKED_BYTES:
        raise SourceError(
            f"the workbook unpacks to {stated / mb:,.0f} MB, above the cap of "
            f"{MAX_UNPACKED_BYTES / mb:,.0f} MB; export CSV instead (read in batches)"
        )
    if stated > MAX_COMPRESSION_RATIO * max(len(data), 1):
        raise SourceError(
            f"the workbook unpacks to {stated / max(len(data), 1):,.0f} times its size "
            f"(cap {MAX_COMPRESSION_RATIO}:1): not a real export (a zip bomb?)"
        )
    unpacked = 0
    for member in members:
        if not _SHEET.match(member.filename):
            continue
        rows, tail = 0, b""
        try:
            with archive.open(member) as sheet:
                while chunk := sheet.read(1 << 20):
                    unpacked += len(chunk)
                    if unpacked > MAX_UNPACKED_BYTES:  # the sizes the archive states lied
                        raise SourceError(
                            f"the workbook unpacks to more than "
                            f"{MAX_UNPACKED_BYTES / mb:,.0f} MB; export CSV instead"
                        )
                    text = tail + chunk  # a tag cut by the chunk's end is whole here
                    rows += _row_tags(text) - _row_tags(tail)
                    tail = text[-20:]
                    if rows > MAX_SHEET_ROWS:
                        raise SourceError(
                            f"sheet {member.filename} holds more than {MAX_SHEET_ROWS:,} rows "
                            "(Excel's own limit): not a real export (a zip bomb?); export "
                            "CSV instead"
                        )
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise SourceError(f"cannot read the workbook: {error}") from None


def _row_tags(text: bytes) -> int:
    return sum(text.count(tag) for tag in _ROW_TAGS)


def _excel_records(data: bytes) -> list[Record]:
    """The records of the workbook's one sheet that holds any. A workbook with records on
    two sheets is refused: reading one of them would drop the other's rows unsaid."""
    if data.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<":
        raise SourceError(
            "the file is a web page (an HTML table) under a workbook's name, not a workbook "
            "(Bitrix24's «Экспорт в Excel» writes one): export CSV («Экспорт в CSV») instead"
        )
    check_workbook(data)
    try:
        sheets = pl.read_excel(
            io.BytesIO(data),
            engine="calamine",
            sheet_id=0,  # every sheet
            has_header=False,
            read_options={"dtypes": "string"},
            drop_empty_rows=False,
            drop_empty_cols=False,
            raise_if_empty=False,
        )
    except Exception as error:  # the engine raises its own types for a broken workbook
        raise SourceError(f"cannot read the workbook: {error}") from None
    cells = sheet_cells(data)
    filled = {
        name: records
        for name, frame in sheets.items()
        if (records := _records(frame, cells.get(name, SheetCells())))
    }
    if len(filled) > 1:
        names = ", ".join(f"'{name}' ({len(records)} rows)" for name, records in filled.items())
        raise SourceError(
            f"the workbook holds rows on {len(filled)} sheets: {names}; one export is one "
            "sheet: save the export's sheet alone (or export CSV) and put it in its place"
        )
    return next(iter(filled.values()), [])


def _records(frame: pl.DataFrame, cells: SheetCells) -> list[Record]:
    """A sheet's rows that hold any value, numbered from 1; a formula error cell holds its
    error's text, a merged cell the value its range shows (workbook_cells.py)."""
    rows = list(frame.iter_rows())

    def shown(row_index: int, column: int, value: object) -> str:
        if value is not None:
            return str(value)
        if (error := cells.errors.get((row_index, column))) is not None:
            return error
        if (top := cells.merged.get((row_index, column))) is not None:
            return shown(top, column, rows[top][column])  # the range's first row, above
        return ""

    records: list[Record] = []
    for row_index, row in enumerate(rows):
        fields = [shown(row_index, column, value) for column, value in enumerate(row)]
        if all(not field.strip() for field in fields):
            continue
        records.append(Record(len(records) + 1, fields, "\t".join(fields)))
    return records
