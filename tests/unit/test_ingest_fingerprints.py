"""The plan remembers the inbox files' fingerprints (pipeline/ingest/fingerprints.py): a run
hashes only the files it has not seen as they are, and a file written again is hashed
again whatever its size and mtime say."""

from __future__ import annotations

import hashlib
import json
import os
import threading
import time

import pytest

from pipeline.build_settings import available_cpus
from pipeline.ingest import fingerprints, plan_ingest
from pipeline.ingest.fingerprints import fingerprints_path
from tests.unit._fixtures_ingest import deals_csv, ingest, ledger, make_config, put, table

DEAL = "1;Розница;A;Смирнова А.;1000;01.03.2025 10:00;89161234567;Москва"
OTHER_DEAL = "2;Розница;A;Смирнова А.;1000;01.03.2025 10:00;89161234567;Москва"


@pytest.fixture
def hashed(monkeypatch) -> list[str]:
    """The names of the files fastcsv.fingerprint reads, in order."""
    names: list[str] = []
    real = fingerprints.fastcsv.fingerprint

    def counted(path):
        names.append(path.name)
        return real(path)

    monkeypatch.setattr(fingerprints.fastcsv, "fingerprint", counted)
    return names


def test_a_run_hashes_only_the_files_it_has_not_seen(tmp_path, hashed) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL))
    ingest(config)
    assert hashed == ["deals_2025-03-01.csv"]
    put(config, "crm/deals_2025-04-01.csv", deals_csv(OTHER_DEAL))
    [new] = ingest(config).files
    assert new.path == "crm/deals_2025-04-01.csv" and new.status == "loaded"
    assert hashed == ["deals_2025-03-01.csv", "deals_2025-04-01.csv"]
    assert plan_ingest(config, settle_seconds=0).items == []
    assert len(hashed) == 2


def test_the_remembered_ids_are_the_files_sha256(tmp_path) -> None:
    config = make_config(tmp_path)
    data = deals_csv(DEAL).encode()
    put(config, "crm/deals_2025-03-01.csv", data)
    ingest(config)
    remembered = json.loads(fingerprints_path(config).read_text())["files"]
    assert remembered["crm/deals_2025-03-01.csv"]["file_id"] == hashlib.sha256(data).hexdigest()
    assert ledger(config)["file_id"].to_list() == [hashlib.sha256(data).hexdigest()]


def test_a_file_written_again_with_its_size_and_mtime_kept_is_read_again(tmp_path) -> None:
    """A corrected export written over the old one, same length, its mtime set back (as a
    copy that keeps times does): its new bytes are loaded, not taken for the old file."""
    config = make_config(tmp_path)
    path = put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL))
    ingest(config)
    before = os.stat(path)
    corrected = deals_csv(DEAL.replace(";1000;", ";2000;")).encode()
    assert len(corrected) == before.st_size
    path.write_bytes(corrected)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert os.stat(path).st_mtime_ns == before.st_mtime_ns
    [again] = ingest(config).files
    assert again.status == "loaded"
    assert again.file_id == hashlib.sha256(corrected).hexdigest()
    amounts = table(config, "crm_deals").sort("file_id")["amount"].to_list()
    assert sorted(amounts) == [1000, 2000]


def test_a_file_replaced_by_a_rename_is_read_again(tmp_path) -> None:
    config = make_config(tmp_path)
    path = put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL))
    ingest(config)
    before = os.stat(path)
    replacement = path.with_name("upload.tmp")
    replacement.write_text(deals_csv(DEAL.replace(";1000;", ";3000;")))
    os.utime(replacement, ns=(before.st_atime_ns, before.st_mtime_ns))
    os.replace(replacement, path)
    [again] = ingest(config).files
    assert again.status == "loaded"
    assert 3000 in table(config, "crm_deals")["amount"].to_list()


def test_a_file_that_changes_while_it_is_hashed_is_not_remembered(tmp_path, monkeypatch) -> None:
    config = make_config(tmp_path)
    path = put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL))
    real = fingerprints.fastcsv.fingerprint

    def appended_meanwhile(file):
        result = real(file)
        with file.open("ab") as handle:
            handle.write(b"\n")
        return result

    monkeypatch.setattr(fingerprints.fastcsv, "fingerprint", appended_meanwhile)
    plan_ingest(config, settle_seconds=0)
    assert "crm/deals_2025-03-01.csv" not in _remembered(config)
    monkeypatch.setattr(fingerprints.fastcsv, "fingerprint", real)
    [planned] = plan_ingest(config, settle_seconds=0).items
    assert planned.file_id == hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.mark.parametrize(
    "text",
    [
        "not json",
        '{"version": 1, "files": {"crm/deals_2025-03-01.csv": {"stat": [1]}}}',
        '{"version": 1, "files": {"crm/deals_2025-03-01.csv": '
        '{"stat": [1, 2, 3, 4], "file_id": 5, "utf8": null}}}',
        '{"version": 0, "files": {}}',
        "[]",
    ],
)
def test_a_fingerprints_file_that_cannot_be_read_is_ignored(tmp_path, hashed, text) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL))
    fingerprints_path(config).parent.mkdir(parents=True, exist_ok=True)
    fingerprints_path(config).write_text(text)
    [loaded] = ingest(config).files
    assert loaded.status == "loaded" and hashed == ["deals_2025-03-01.csv"]
    assert list(_remembered(config)) == ["crm/deals_2025-03-01.csv"]


def test_files_gone_from_the_inbox_are_forgotten(tmp_path) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL))
    gone = put(config, "crm/deals_2025-04-01.csv", deals_csv(OTHER_DEAL))
    ingest(config)
    assert sorted(_remembered(config)) == ["crm/deals_2025-03-01.csv", "crm/deals_2025-04-01.csv"]
    gone.unlink()
    ingest(config)
    assert list(_remembered(config)) == ["crm/deals_2025-03-01.csv"]


def _remembered(config) -> dict:
    path = fingerprints_path(config)
    return json.loads(path.read_text())["files"] if path.exists() else {}


def test_files_not_looked_at_stay_remembered_while_unchanged(tmp_path) -> None:
    """The inbox sensor hashes only the files new to it: saving keeps what the plan
    remembered of the others, as long as they are as they were."""
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(DEAL))
    other = put(config, "crm/deals_2025-04-01.csv", deals_csv(OTHER_DEAL))
    ingest(config)
    remembered = _remembered(config)
    new = put(config, "crm/deals_2025-05-01.csv", deals_csv(OTHER_DEAL, DEAL))
    sensor = fingerprints.Fingerprints(config)
    sensor.of("crm/deals_2025-05-01.csv", new)
    sensor.save()
    assert _remembered(config) == {
        **remembered,
        "crm/deals_2025-05-01.csv": _remembered(config)["crm/deals_2025-05-01.csv"],
    }
    with other.open("ab") as handle:
        handle.write(b"3;x\r\n")
    fingerprints.Fingerprints(config).save()
    assert sorted(_remembered(config)) == ["crm/deals_2025-03-01.csv", "crm/deals_2025-05-01.csv"]


def test_new_files_are_hashed_side_by_side_each_to_its_own_sha256(tmp_path, monkeypatch) -> None:
    config = make_config(tmp_path)
    deals = {
        f"crm/deals_2025-0{month}-01.csv": deals_csv(DEAL.replace("01.03", f"01.0{month}"))
        for month in range(1, 7)
    }
    for name, text in deals.items():
        put(config, name, text)
    threads: set[int] = set()
    real = fingerprints.fastcsv.fingerprint

    def on_a_thread(path):
        threads.add(threading.get_ident())
        time.sleep(0.05)  # long enough for the other threads to start theirs
        return real(path)

    monkeypatch.setattr(fingerprints.fastcsv, "fingerprint", on_a_thread)
    planned = plan_ingest(config, settle_seconds=0).to_load

    assert [file.path for file in planned] == sorted(deals)
    assert [file.file_id for file in planned] == [
        hashlib.sha256(deals[file.path].encode()).hexdigest() for file in planned
    ]
    assert len(threads) == min(len(deals), available_cpus())
