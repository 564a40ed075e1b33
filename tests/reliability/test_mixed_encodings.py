"""Issue 14 item 6: a file mixing encodings is never read as mojibake.

A cp1251 export with five rows pasted in as UTF-8 was read whole as cp1251: those deals
landed with garbled stage, manager and pipeline («Р—Р°РјРµСЂ»), out of every funnel and
not even in unmapped_stages. Now each line of such a file is decoded in its own encoding
and the ledger's `encoding` says which lines were the other one; a line that is neither
fails the file naming the line."""

from __future__ import annotations

import pytest

from tests.reliability.inbox_cases import (
    DEALS_HEADER,
    deal,
    ingest,
    ledger,
    make_project,
    put,
    table,
)

STAGES = ("Замер назначен", "Договор подписан")
MANAGERS = ("Смирнова Анна", "Щукина Ольга")


def mixed_export(main: str, other: str, other_rows: set[int] | range, rows: int = 20) -> bytes:
    lines = [DEALS_HEADER.encode(main)]
    for n in range(1, rows + 1):
        line = deal(n, stage=STAGES[n % 2], owner=MANAGERS[n % 2])
        lines.append(line.encode(other if n in other_rows else main))
    return b"\r\n".join(lines) + b"\r\n"


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "in batches"])
def test_utf8_lines_in_a_cp1251_file_are_decoded_as_utf8_and_named(tmp_path, streamed) -> None:
    config = make_project(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", mixed_export("cp1251", "utf-8", {3, 7, 8, 15, 20}))
    options = {"stream_min_bytes": 0} if streamed else {}
    [result] = ingest(config, **options).files

    assert (result.status, result.rows_accepted) == ("loaded", 20)
    deals = table(config, "crm_deals")
    assert set(deals["stage"]) == set(STAGES)
    assert set(deals["manager"]) == set(MANAGERS)
    # the header is line 1: data rows 3, 7, 8, 15, 20 are lines 4, 8, 9, 16, 21
    assert result.encoding == "cp1251; utf-8 in lines 4, 8, 9, 16, 21"
    assert ledger(config)["encoding"].to_list() == [result.encoding]


@pytest.mark.parametrize("streamed", [False, True], ids=["whole", "in batches"])
def test_the_main_encoding_counts_every_line_whichever_batch_it_is_in(tmp_path, streamed) -> None:
    """2,000 cp1251 rows, then 700 pasted in as UTF-8: in 64 KiB batches the cp1251 lines
    fill batches of their own, which hold nothing that looks like UTF-8; they still count
    towards the main encoding, as when the file is read whole."""
    config = make_project(tmp_path)
    export = mixed_export("cp1251", "utf-8", range(2001, 2701), rows=2700)
    put(config, "crm/deals_2025-03-01.csv", export)
    options = {"stream_min_bytes": 0, "memory_budget_mb": 0} if streamed else {}
    [result] = ingest(config, **options).files

    assert (result.status, result.rows_accepted) == ("loaded", 2700)
    # the header is line 1: data rows 2001… are lines 2002…
    listed = ", ".join(str(line) for line in range(2002, 2022))
    assert result.encoding == f"cp1251; utf-8 in lines {listed} and 680 more"


def test_a_utf8_line_with_a_byte_cp1251_lacks_is_still_read(tmp_path) -> None:
    """«И» is D0 98 in UTF-8, and 0x98 is the one byte cp1251 does not define."""
    config = make_project(tmp_path)
    data = mixed_export("cp1251", "utf-8", {4}).replace("Смирнова".encode(), "Иванова".encode())
    put(config, "crm/deals_2025-03-01.csv", data)
    [result] = ingest(config).files
    assert result.rows_accepted == 20
    assert "Иванова Анна" in table(config, "crm_deals")["manager"].to_list()


def test_cp1251_lines_in_a_utf8_file_are_decoded_as_cp1251(tmp_path) -> None:
    config = make_project(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", mixed_export("utf-8", "cp1251", {2}))
    [result] = ingest(config).files
    assert set(table(config, "crm_deals")["stage"]) == set(STAGES)
    assert result.encoding == "utf-8; cp1251 in lines 3"


def test_a_line_in_neither_encoding_fails_the_file_naming_it(tmp_path) -> None:
    config = make_project(tmp_path)
    data = mixed_export("cp1251", "utf-8", {3})
    data = data.replace(b"D0005;", b"D0005\x98;")  # 0x98 alone: neither UTF-8 nor cp1251
    put(config, "crm/deals_2025-03-01.csv", data)
    with pytest.raises(Exception, match="line 6"):
        ingest(config)
    assert ledger(config)["status"].to_list() == ["failed"]
    assert table(config, "crm_deals").height == 0
