"""The inbox sensor's decision (pure): stable new files go to ingest, once; files still
being written (temporary names, or a size/mtime that changed since the last tick) wait."""

from __future__ import annotations

from pipeline.defs.sensors import InboxCursor, run_key_for, scan_inbox

HASHES = {"crm/deals_1.csv": "a" * 64, "pbx/Master.csv": "b" * 64, "crm/copy.csv": "a" * 64}


def tick(observed, cursor, known=frozenset()):
    hashed = []

    def file_hash(name):
        hashed.append(name)
        return HASHES[name]

    scan = scan_inbox(observed, InboxCursor.loads(cursor.dumps()), file_hash, set(known))
    return scan, hashed


def test_a_new_file_is_ingested_once_it_kept_its_size_for_a_tick():
    observed = {"crm/deals_1.csv": (100, 1)}
    first, _ = tick(observed, InboxCursor())
    assert first.new == {} and first.waiting == ["crm/deals_1.csv"]
    second, _ = tick(observed, first.cursor)
    assert second.new == {"crm/deals_1.csv": "a" * 64}
    assert run_key_for(second.new) == "a" * 64


def test_a_file_already_requested_is_not_requested_again():
    observed = {"crm/deals_1.csv": (100, 1)}
    first, _ = tick(observed, InboxCursor())
    second, _ = tick(observed, first.cursor)
    third, _ = tick(observed, second.cursor)
    assert second.new == {"crm/deals_1.csv": "a" * 64}
    assert third.new == {} and third.waiting == []


def test_a_growing_file_is_left_for_the_next_tick():
    first, _ = tick({"pbx/Master.csv": (100, 1)}, InboxCursor())
    second, hashed = tick({"pbx/Master.csv": (250, 2)}, first.cursor)
    assert second.new == {} and second.waiting == ["pbx/Master.csv"] and hashed == []
    third, _ = tick({"pbx/Master.csv": (250, 2)}, second.cursor)
    assert third.new == {"pbx/Master.csv": "b" * 64}


def test_a_temporary_name_is_never_read_even_when_stable():
    observed = {"crm/deals_2.csv.part": (100, 1)}
    first, _ = tick(observed, InboxCursor())
    second, hashed = tick(observed, first.cursor)
    assert second.new == {} and second.waiting == ["crm/deals_2.csv.part"] and hashed == []


def test_a_copy_under_another_name_or_an_already_loaded_file_is_not_new():
    observed = {"crm/deals_1.csv": (100, 1), "crm/copy.csv": (100, 5)}
    first, _ = tick(observed, InboxCursor())
    second, _ = tick(observed, first.cursor)
    assert list(second.new) == ["crm/copy.csv"]  # same bytes: one of the two names
    loaded, _ = tick(
        {"pbx/Master.csv": (1, 1)}, InboxCursor(signatures={"pbx/Master.csv": (1, 1)}), {"b" * 64}
    )
    assert loaded.new == {}


def test_several_new_files_share_one_run_key_made_of_their_hashes():
    key = run_key_for({"x": "a" * 64, "y": "b" * 64})
    assert key == run_key_for({"y": "b" * 64, "x": "a" * 64}) and len(key) == 64
    assert key not in ("a" * 64, "b" * 64)


def test_the_cursor_survives_a_round_trip():
    cursor = InboxCursor({"a.csv": (1, 2)}, {"f" * 64})
    assert InboxCursor.loads(cursor.dumps()) == cursor
    assert InboxCursor.loads(None) == InboxCursor()
    # A cursor of an older version (with its own cache of hashes) still reads.
    older = '{"hashes": {"a.csv": [[1, 2], "ffff"]}, "requested": [], "signatures": {}}'
    assert InboxCursor.loads(older) == InboxCursor()
