"""Issue 14 item 3: an unclosed quote must not swallow the rest of the file.

Near the end of a 3,000-row export one field opened a quote it never closed: the csv
reader took the remaining 100 good rows into that one record, which was rejected, the
reject ratio stayed under the limit and the ledger counted 2,900 rows. Now the line with
the stray quote is rejected alone and reading starts again on the next line, so every
data line is counted (rows_total = the file's data lines) and the good ones land; the
same when the file is read in batches, by a header preset, and for a call log."""

from __future__ import annotations

import pytest

from tests.reliability.inbox_cases import (
    cdr,
    deal,
    deals_file,
    ingest,
    ledger,
    make_project,
    put,
    rejects,
    table,
)
from tests.unit._fixtures_ingest import make_config


def export_with_a_stray_quote(rows: int, bad: int) -> str:
    lines = [deal(n, f"{1 + n % 27:02d}.02.2025 10:00") for n in range(1, rows + 1)]
    lines[bad - 1] = lines[bad - 1].replace(";New;", ';"New;')  # opened, never closed
    return deals_file(*lines)


# In batches (of 64 KB), a stray quote early in a 1.5 MB file leaves no line end with an
# even count of quotes after it: past 1 MB the batch is cut at a line end anyway.
@pytest.mark.parametrize(
    ("rows", "bad"), [(3000, 2900), (30000, 10)], ids=["near the end", "early in a large file"]
)
@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "in batches"])
def test_a_stray_quote_rejects_its_line_and_every_other_line_lands(
    tmp_path, streamed, rows, bad
) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    put(config, "crm/deals_2025-03-01.csv", export_with_a_stray_quote(rows, bad))
    options = {"stream_min_bytes": 0, "memory_budget_mb": 0} if streamed else {}
    [result] = ingest(config, **options).files

    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (rows, rows - 1, 1)
    [reject] = rejects(config).to_dicts()
    assert reject["row_number"] == bad
    assert reject["raw"].startswith(f"D{bad:04d};") and "\n" not in reject["raw"]
    assert "quote" in reject["reason"]
    assert table(config, "crm_deals").height == rows - 1
    assert ledger(config)["rows_total"].to_list() == [rows]


def test_a_quote_closed_many_lines_later_does_not_merge_them(tmp_path) -> None:
    """A second stray quote 80 lines on "closes" the first: one record of 81 lines."""
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    rows = [deal(n) for n in range(1, 201)]
    rows[99] = rows[99].replace(";New;", ';"New;')
    rows[179] = rows[179].replace(";New;", ';New";')
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted) == (200, 199)
    assert rejects(config)["row_number"].to_list() == [100]
    # read on its own, line 180 is a record (its stray quote is a character of the stage)
    assert table(config, "crm_deals").filter(deal_id="D0180")["stage"].item() == 'New"'


@pytest.mark.parametrize("apart", [1, 5, 49])
def test_a_quote_closed_a_few_lines_later_does_not_merge_them(tmp_path, apart) -> None:
    """Two stray quotes in one column a few lines apart read as one legitimate field with
    line breaks and the same number of fields: the lines between would vanish silently."""
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    rows = [deal(n) for n in range(1, 201)]
    rows[99] = rows[99].replace(";New;", ';"New;')
    rows[99 + apart] = rows[99 + apart].replace(";New;", ';New";')
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted) == (200, 199)
    assert rejects(config)["row_number"].to_list() == [100]
    assert table(config, "crm_deals").height == 199


def test_a_note_over_several_lines_is_one_record(tmp_path) -> None:
    """A quoted field with line breaks but few delimiters is a note typed over lines."""
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    rows = [deal(n) for n in range(1, 11)]
    rows[4] = rows[4].replace(";New;", ';"New\nsee the call; tomorrow\nagain";')
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted) == (10, 10)
    stage = table(config, "crm_deals").filter(deal_id="D0005")["stage"].item()
    assert stage == "New\nsee the call; tomorrow\nagain"


def test_a_call_log_recovers_after_a_stray_quote(tmp_path) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    calls = [cdr(n, f"2025-02-{1 + n % 27:02d} 10:00:00") for n in range(1, 301)]
    calls[249] = calls[249].removesuffix('"')  # the last field's quote never closes
    put(config, "pbx/Master.csv", "\n".join(calls) + "\n")
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (300, 299, 1)
    assert rejects(config)["row_number"].to_list() == [250]


AMOCRM = """
  - name: crm
    kind: crm
    preset: amocrm
    files: "amo/*.csv"
"""


def test_a_header_preset_recovers_after_a_stray_quote(tmp_path) -> None:
    config = make_config(tmp_path / "amo", AMOCRM, max_reject_ratio=0.02)
    lines = ["ID;Дата создания сделки;Этап сделки;Воронка;Ответственный"]
    lines += [f"{n};{1 + n % 27:02d}.02.2025 10:00;A;P;Смирнова А." for n in range(1, 101)]
    lines[60] = lines[60].replace(";A;", ';"A;')
    put(config, "amo/leads_2025-03-01.csv", "\r\n".join(lines) + "\r\n", "cp1251")
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (100, 99, 1)
    assert rejects(config)["row_number"].to_list() == [60]
