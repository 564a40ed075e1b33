"""Issue 14 item 8: an XLSX zip bomb fails fast with a clear error.

A 6 MB file named .csv holding a workbook of 3 million rows took 104 s and 4 GB in
`voronka check` and was accepted. A workbook is now measured before it is read: rows per
sheet beyond Excel's own limit, an unpacked size above the cap, or a compression ratio no
real export has fail the file, saying which cap."""

from __future__ import annotations

import time
import zipfile
from pathlib import Path

import pytest

from pipeline.ingest import check_file
from tests.reliability.inbox_cases import (
    deal,
    deals_file,
    ingest,
    ledger,
    make_project,
    put,
    table,
    xlsx,
)

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" '
    'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-'
    'officedocument.spreadsheetml.worksheet+xml"/></Types>'
)
RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
WORKBOOK = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" '
    'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
    '<sheets><sheet name="Deals" sheetId="1" r:id="rId1"/></sheets></workbook>'
)
WORKBOOK_RELS = (
    '<?xml version="1.0" encoding="UTF-8"?>'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
    'relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>'
)


def workbook(path: Path, rows: int, cell: str | None = None) -> Path:
    """A minimal .xlsx at `path` whose one sheet holds `rows` rows of one cell: `cell`, or
    the row's number (which compresses like real data)."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as book:
        book.writestr("[Content_Types].xml", CONTENT_TYPES)
        book.writestr("_rels/.rels", RELS)
        book.writestr("xl/workbook.xml", WORKBOOK)
        book.writestr("xl/_rels/workbook.xml.rels", WORKBOOK_RELS)
        with book.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(
                b'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.'
                b'openxmlformats.org/spreadsheetml/2006/main"><sheetData>'
            )
            for start in range(0, rows, 10_000):
                block = [
                    f'<row r="{n}"><c r="A{n}"><v>{n if cell is None else cell}</v></c></row>'
                    for n in range(start + 1, min(rows, start + 10_000) + 1)
                ]
                sheet.write("".join(block).encode())
            sheet.write(b"</sheetData></worksheet>")
    return path


@pytest.fixture
def config(tmp_path):
    return make_project(tmp_path)


def test_three_million_rows_named_csv_fail_in_seconds(config) -> None:
    (config.inbox_dir / "crm").mkdir(parents=True)
    path = workbook(config.inbox_dir / "crm" / "deals_2025-03-01.csv", 3_000_000, "x")
    assert path.stat().st_size < 16 * 1024**2  # small on disk

    started = time.monotonic()
    report = check_file(config, path)
    assert time.monotonic() - started < 10
    assert report.status == "failed"
    assert "zip bomb" in report.message

    with pytest.raises(Exception, match="zip bomb"):
        ingest(config)
    assert ledger(config)["status"].to_list() == ["failed"]
    assert table(config, "crm_deals").height == 0


def test_a_sheet_beyond_excels_row_limit_fails_naming_the_limit(config) -> None:
    (config.inbox_dir / "crm").mkdir(parents=True)
    path = workbook(config.inbox_dir / "crm" / "deals_2025-03-01.xlsx", 1_100_000)
    report = check_file(config, path)
    assert report.status == "failed"
    assert "more than 1,048,576 rows" in report.message


def test_a_workbook_unpacking_to_a_thousand_times_its_size_fails(config) -> None:
    (config.inbox_dir / "crm").mkdir(parents=True)
    path = workbook(config.inbox_dir / "crm" / "deals_2025-03-01.xlsx", 3, "A" * 20_000_000)
    report = check_file(config, path)
    assert report.status == "failed"
    assert "times its size" in report.message and "zip bomb" in report.message


def test_an_ordinary_workbook_still_loads(config) -> None:
    rows = [line.split(";") for line in deals_file(deal(1), deal(2)).splitlines()]
    put(config, "crm/deals_2025-03-01.xlsx", xlsx(rows))
    [result] = ingest(config).files
    assert (result.status, result.rows_accepted) == ("loaded", 2)
