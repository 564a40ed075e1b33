"""Exports are read from the inbox only: a symbolic link in it to a file outside is
skipped with a warning (a link to /etc/passwd was read, and its first line stored in the
ledger as the file's columns). A link between two inbox folders is a file of the inbox."""

from __future__ import annotations

from tests.reliability.inbox_cases import deal, deals_file, ingest, make_project, put


def test_a_link_to_a_file_outside_the_inbox_is_skipped_one_inside_is_read(tmp_path, caplog):
    config = make_project(tmp_path / "site")
    outside = tmp_path / "elsewhere" / "deals_2025-03-01.csv"
    outside.parent.mkdir()
    outside.write_text(deals_file(deal(1)), encoding="utf-8")
    (config.inbox_dir / "crm").mkdir(parents=True)
    (config.inbox_dir / "crm" / "deals_2025-03-01.csv").symlink_to(outside)
    (config.inbox_dir / "crm" / "deals_passwd.csv").symlink_to("/etc/passwd")
    assert ingest(config).files == []
    assert "a link to a file outside the inbox" in caplog.text

    kept = put(config, "kept/deals_2025-03-02.csv", deals_file(deal(2)))
    (config.inbox_dir / "crm" / "deals_2025-03-02.csv").symlink_to(kept)
    [result] = ingest(config).files
    assert (result.path, result.rows_accepted) == ("kept/deals_2025-03-02.csv", 1)
