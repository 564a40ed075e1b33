"""Formula error cells (`#DIV/0!`, `#N/A`, `#REF!`, …) and merged cells of an XLSX
workbook, by sheet.

The workbook reader gives such a cell as an empty value, so an amount computed by a broken
formula would land as "no amount" unsaid. Read here from the sheet's XML (a cell
`<c r="B3" t="e"><f>…</f><v>#DIV/0!</v></c>`), the error's text is put back in its cell
(tabular.py), so the row fares as the same export saved as CSV: the text is no number, no
date, and the row is rejected with its column and value, or kept as text where a column is
text.

A range merged over several rows (`<mergeCell ref="E3:E5"/>`: one manager's deals in a
hand-made list) shows its value on every row but holds it in its first cell only; the
reader gave the rows below an empty cell (deals of no manager, unsaid). Each cell of the
range's first column takes the range's value. A range within one row (a title over the
columns) is left as it is.

Positions are (row, column) from the sheet's first used row and column: the reader's
frame starts there, not at A1.
"""

from __future__ import annotations

import io
import re
import zipfile
from dataclasses import dataclass, field
from html import unescape
from pathlib import PurePosixPath

Position = tuple[int, int]

_SHEET_ENTRY = re.compile(rb"<sheet\b([^>]*?)/?>")
_RELATIONSHIP = re.compile(rb"<Relationship\b([^>]*?)/?>")
_ATTRIBUTE = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_CELL = re.compile(rb"<c\b([^>]*?)(?:/>|>(.*?)</c>)", re.DOTALL)
_VALUE = re.compile(rb"<(?:v|is)\b")
_ERROR_VALUE = re.compile(rb"<v>([^<]*)</v>")
_REFERENCE = re.compile(r"^([A-Z]+)(\d+)$")
_MERGE = re.compile(rb'<mergeCell\b[^>]*?\bref="([A-Z]+\d+:[A-Z]+\d+)"')


@dataclass(frozen=True)
class SheetCells:
    """A sheet's cells the reader gives empty: formula errors' texts, and each merged cell
    below a range's first with the row of the cell (in its column) whose value it shows."""

    errors: dict[Position, str] = field(default_factory=dict)
    merged: dict[Position, int] = field(default_factory=dict)


def sheet_cells(data: bytes) -> dict[str, SheetCells]:
    """{sheet name: its error and merged cells} of the sheets that hold any; empty for
    anything but an XLSX/XLSM archive."""
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
        sheets = _sheet_paths(archive)
    except (zipfile.BadZipFile, KeyError, OSError):
        return {}
    found: dict[str, SheetCells] = {}
    for name, path in sheets.items():
        try:
            xml = archive.read(path)
        except (KeyError, OSError, zipfile.BadZipFile):
            continue
        has_errors, has_merges = b't="e"' in xml, b"<mergeCell " in xml
        if not (has_errors or has_merges):
            continue
        origin, errors = _origin_and_errors(xml)
        merged = _merged(xml, origin) if has_merges and origin is not None else {}
        if errors or merged:
            found[name] = SheetCells(errors, merged)
    return found


def _sheet_paths(archive: zipfile.ZipFile) -> dict[str, str]:
    """{sheet name: its XML's path in the archive}, from the workbook and its relationships."""
    targets = {}
    for match in _RELATIONSHIP.finditer(archive.read("xl/_rels/workbook.xml.rels")):
        attributes = _attributes(match.group(1))
        target = attributes.get("Target", "")
        path = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
        targets[attributes.get("Id")] = str(PurePosixPath(path))
    paths = {}
    for match in _SHEET_ENTRY.finditer(archive.read("xl/workbook.xml")):
        attributes = _attributes(match.group(1))
        if (target := targets.get(attributes.get("r:id"))) is not None:
            paths[unescape(attributes.get("name", ""))] = target
    return paths


def _origin_and_errors(xml: bytes) -> tuple[Position | None, dict[Position, str]]:
    """The sheet's first used row and column (a cell with a value; None: cells without
    references, whose places cannot be told), and its error cells placed from there, as
    the workbook reader's frame is."""
    errors: dict[tuple[int, int], str] = {}
    first_row = first_column = None
    for match in _CELL.finditer(xml):
        body = match.group(2) or b""
        if not _VALUE.search(body):
            continue
        attributes = _attributes(match.group(1))
        reference = _REFERENCE.match(attributes.get("r", ""))
        if reference is None:
            return None, {}
        row, column = int(reference.group(2)) - 1, _column_index(reference.group(1))
        first_row = row if first_row is None else min(first_row, row)
        first_column = column if first_column is None else min(first_column, column)
        if attributes.get("t") == "e" and (value := _ERROR_VALUE.search(body)):
            errors[(row, column)] = unescape(value.group(1).decode("utf-8", "replace"))
    if first_row is None or first_column is None:
        return None, {}
    origin = (first_row, first_column)
    return origin, {
        (row - first_row, column - first_column): text for (row, column), text in errors.items()
    }


def _merged(xml: bytes, origin: Position) -> dict[Position, int]:
    """Each cell below the first of a range merged over several rows, in the range's first
    column, with the first cell's row; placed from `origin`."""
    merged: dict[Position, int] = {}
    for match in _MERGE.finditer(xml):
        start, end = (_REFERENCE.match(part) for part in match.group(1).decode().split(":"))
        assert start is not None and end is not None  # _MERGE matched two references
        top, column = int(start.group(2)) - 1 - origin[0], _column_index(start.group(1)) - origin[1]
        if top < 0 or column < 0:
            continue  # a range above or left of every value: nothing to show
        for row in range(top + 1, int(end.group(2)) - origin[0]):
            merged[(row, column)] = top
    return merged


def _attributes(text: bytes) -> dict[str, str]:
    return {
        key.decode("ascii", "replace"): value.decode("utf-8", "replace")
        for key, value in _ATTRIBUTE.findall(text)
    }


def _column_index(letters: str) -> int:
    index = 0
    for letter in letters:
        index = index * 26 + ord(letter) - ord("A") + 1
    return index - 1
