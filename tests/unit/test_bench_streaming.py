"""Streaming ingest (batches far smaller than the files) lands exactly what whole-file
ingest lands: same rows, same rejects with the same row numbers, same ledger counts."""

from __future__ import annotations

import shutil

import polars as pl
import pytest

from pipeline import io
from pipeline.config import load_config
from pipeline.demo import write_demo_exports
from pipeline.ingest import ingest_inbox, merge_notes
from pipeline.paths import REPO_ROOT

TABLES = ("calls", "crm_deals", "crm_deal_phones", "crm_deal_attributes", "crm_stage_events",
          "rejected_rows")  # fmt: skip


def _rows(landing, table) -> pl.DataFrame:
    """Every part of a landing table, whatever the layout (flat or month folders)."""
    return pl.read_parquet(io.table_parts(landing, table), hive_partitioning=False)


def _ingest(root, inbox, **kwargs):
    root.mkdir()
    shutil.copy(REPO_ROOT / "voronka.yaml", root / "voronka.yaml")
    (root / "data").mkdir()
    (root / "data" / "inbox").symlink_to(inbox)
    config = load_config(root / "voronka.yaml")
    return config, ingest_inbox(config, settle_seconds=0, **kwargs)


@pytest.fixture(scope="module")
def both(tmp_path_factory):
    base = tmp_path_factory.mktemp("stream")
    inbox = base / "inbox"
    write_demo_exports(inbox, base / "expected")
    whole = _ingest(base / "whole", inbox, stream_min_bytes=1 << 60)
    # 64 KiB batches: every demo file is read in several batches.
    batched = _ingest(base / "batched", inbox, stream_min_bytes=0, memory_budget_mb=0)
    return whole, batched


@pytest.mark.parametrize("table", TABLES)
def test_batched_ingest_lands_the_same_rows(both, table):
    (whole_config, _), (batched_config, _) = both
    a = _rows(whole_config.landing_dir, table)
    b = _rows(batched_config.landing_dir, table).select(a.columns)
    assert a.height > 0
    assert a.sort(a.columns, nulls_last=True).equals(b.sort(a.columns, nulls_last=True))


def test_batched_ingest_keeps_the_ledger_counts_and_messages(both):
    (_, whole), (_, batched) = both
    rows = lambda s: [(f.path, f.status, f.rows_total, f.rows_accepted, f.rows_rejected,  # noqa: E731
                       f.message) for f in s.files]  # fmt: skip
    assert rows(whole) == rows(batched)
    assert any(f.status == "duplicate" for f in batched.files)
    assert batched.rows_rejected > 0


def test_batch_parts_are_published_only_for_loaded_files(both):
    (_, _), (batched_config, _) = both
    assert not (batched_config.landing_dir / ".staging").exists() or not any(
        (batched_config.landing_dir / ".staging").iterdir()
    )
    parts = io.table_parts(batched_config.landing_dir, "calls")
    assert any(part.name.endswith("-00001.parquet") for part in parts)


def test_notes_of_batches_add_up():
    merged = merge_notes(
        [["3 client number(s) not understood"], ["2 client number(s) not understood", "x"]]
    )
    assert merged == ["5 client number(s) not understood", "x"]
