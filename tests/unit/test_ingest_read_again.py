"""A setting changed after a file landed applies to that file too: ingest reads a loaded
file again when the settings of its source changed since it was read (ingest.read_with).
Before, a manager alias, a won stage name or a phone country added later applied only to
the files that arrived after it, and the months already landed kept the old reading."""

from __future__ import annotations

import polars as pl
import pytest

from pipeline import io
from pipeline.config import load_config
from pipeline.ingest import IngestError, ingest_inbox, read_with
from tests.unit._fixtures_ingest import (
    CRM_SOURCE,
    deals_csv,
    ingest,
    ledger,
    make_config,
    put,
    table,
)

ROWS = (
    "1;P;A;Петров П.;1000;01.03.2025 10:00;8 916 123-45-67;Москва",
    "2;P;Оплачено;Петров П.;2000;02.03.2025 10:00;8 916 123-45-68;Москва",
)
# (under `managers:`; the key after it keeps make_config's dedent from moving it)
PETROV = '  - {name: "Петров Пётр", aliases: ["Петров П."]}\nlocales: [ru, en]\n'
PAID = CRM_SOURCE.replace(
    'won: ["Успешно реализовано"]', 'won: ["Успешно реализовано", "Оплачено"]'
)


def landed(tmp_path):
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-05.csv", deals_csv(*ROWS))
    ingest(config)
    return config


def deals(config) -> list[tuple]:
    return table(config, "crm_deals").sort("deal_id").select("manager", "status").rows()


def test_a_manager_alias_added_later_applies_to_the_landed_file(tmp_path) -> None:
    config = landed(tmp_path)
    assert deals(config) == [("Петров П.", "open"), ("Петров П.", "open")]
    before = ledger(config).row(0, named=True)

    config = make_config(tmp_path, extra=PETROV)
    lines: list[str] = []
    summary = ingest_inbox(config, settle_seconds=0, progress=lines.append)
    assert [f.status for f in summary.files] == ["loaded"]
    assert any("read again: its source's settings changed" in line for line in lines), lines
    assert deals(config) == [("Петров Пётр", "open"), ("Петров Пётр", "open")]
    after = ledger(config)
    assert after.height == 1  # the file's one row, replaced
    row = after.row(0, named=True)
    assert row["received_at"] == before["received_at"]  # its arrival orders its copies
    assert row["read_with"] != before["read_with"]
    assert (row["rows_total"], row["rows_accepted"]) == (2, 2)


def test_a_won_stage_name_added_later_closes_the_landed_deals(tmp_path) -> None:
    config = landed(tmp_path)
    config = make_config(tmp_path, PAID)
    ingest(config)
    assert deals(config) == [("Петров П.", "open"), ("Петров П.", "won")]


def test_unchanged_settings_read_nothing_again(tmp_path) -> None:
    config = landed(tmp_path)
    # A funnel's name and the reject limit do not change how the file is read.
    text = (tmp_path / "voronka.yaml").read_text(encoding="utf-8")
    (tmp_path / "voronka.yaml").write_text(
        text.replace("name: {ru: F, en: F}", "name: {ru: Ф, en: Funnel}").replace(
            "max_reject_ratio: 0.5", "max_reject_ratio: 0.4"
        ),
        encoding="utf-8",
    )
    config = make_config(tmp_path, max_reject_ratio=0.4)
    assert ingest(config).files == []


def test_a_file_no_longer_in_the_inbox_keeps_its_reading_and_says_so(tmp_path) -> None:
    config = landed(tmp_path)
    (config.inbox_dir / "crm/deals_2025-03-05.csv").unlink()
    config = make_config(tmp_path, extra=PETROV)
    lines: list[str] = []
    assert ingest_inbox(config, settle_seconds=0, progress=lines.append).files == []
    assert deals(config) == [("Петров П.", "open"), ("Петров П.", "open")]
    assert any("no longer in the inbox: they keep that reading" in line for line in lines)


def test_a_ledger_from_before_the_settings_were_kept_is_read_again(tmp_path) -> None:
    config = landed(tmp_path)
    path = io.ledger_path(config.landing_dir)
    io.write_parquet_atomic(pl.read_parquet(path).drop("read_with"), path)
    io.ensure_landing(config.landing_dir)  # every build and ingest starts with it
    assert "read_with" in pl.read_parquet_schema(path)
    assert ledger(config)["read_with"].to_list() == [None]
    assert [f.status for f in ingest(config).files] == ["loaded"]
    assert ledger(config)["read_with"].null_count() == 0


def test_a_file_that_fails_when_read_again_keeps_its_reading_and_the_ingest_says_so(
    tmp_path,
) -> None:
    config = landed(tmp_path)
    before = ledger(config).row(0, named=True)
    wrong = CRM_SOURCE.replace('manager: "Ответственный"', 'manager: "Manager"')
    config = make_config(tmp_path, wrong)
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0)
    assert "it keeps the reading it had" in str(error.value)
    assert "Manager" in str(error.value)  # the column the new settings look for
    assert ledger(config).row(0, named=True) == before  # still loaded, as it was read
    assert deals(config) == [("Петров П.", "open"), ("Петров П.", "open")]
    # Put right, it reads, and keeps its first arrival.
    config = make_config(tmp_path, extra=PETROV)
    assert [f.status for f in ingest(config).files] == ["loaded"]
    assert ledger(config)["received_at"].to_list() == [before["received_at"]]
    assert deals(config) == [("Петров Пётр", "open"), ("Петров Пётр", "open")]


def test_bytes_gone_under_their_name_are_read_again_under_a_copys_name(tmp_path) -> None:
    config = landed(tmp_path)
    original = config.inbox_dir / "crm/deals_2025-03-05.csv"
    put(config, "crm/deals_2025-03-05_copy.csv", original.read_bytes())
    assert [f.status for f in ingest(config).files] == ["duplicate"]
    original.unlink()
    config = make_config(tmp_path, extra=PETROV)
    lines: list[str] = []
    summary = ingest_inbox(config, settle_seconds=0, progress=lines.append)
    assert [(f.path, f.status) for f in summary.files] == [
        ("crm/deals_2025-03-05_copy.csv", "loaded")
    ]
    assert not any("no longer in the inbox" in line for line in lines), lines
    assert deals(config) == [("Петров Пётр", "open"), ("Петров Пётр", "open")]
    statuses = ledger(config).sort("path").select("path", "status").rows()
    assert statuses == [
        ("crm/deals_2025-03-05.csv", "duplicate"),  # its bytes' loaded name is the copy's now
        ("crm/deals_2025-03-05_copy.csv", "loaded"),
    ]
    assert ingest(config).files == []  # read once


def test_a_renamed_source_reads_its_files_again_under_its_new_name(tmp_path) -> None:
    config = landed(tmp_path)
    text = (tmp_path / "voronka.yaml").read_text(encoding="utf-8")
    (tmp_path / "voronka.yaml").write_text(
        text.replace("- name: crm\n", "- name: deals\n").replace("source: crm,", "source: deals,"),
        encoding="utf-8",
    )
    config = load_config(tmp_path / "voronka.yaml")
    assert [f.status for f in ingest(config).files] == ["loaded"]
    assert set(table(config, "crm_deals")["source"].to_list()) == {"deals"}
    assert ledger(config).select("source", "status").rows() == [("deals", "loaded")]


def test_the_order_of_a_status_list_reads_nothing_again(tmp_path) -> None:
    config = make_config(tmp_path, PAID)
    put(config, "crm/deals_2025-03-05.csv", deals_csv(*ROWS))
    ingest(config)
    reordered = CRM_SOURCE.replace(
        'won: ["Успешно реализовано"]', 'won: ["Оплачено", "Успешно реализовано"]'
    )
    assert ingest(make_config(tmp_path, reordered)).files == []


def test_readers_that_land_other_rows_read_every_file_again(tmp_path, monkeypatch) -> None:
    config = landed(tmp_path)
    assert ingest(config).files == []
    monkeypatch.setattr(read_with, "READERS_VERSION", read_with.READERS_VERSION + 1)
    assert [f.status for f in ingest(config).files] == ["loaded"]
