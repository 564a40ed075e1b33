"""Streaming ingest (batches far smaller than the files), and files loaded side by side in
two processes, land exactly what whole-file ingest in one process lands: same rows, same
rejects with the same row numbers, same ledger counts."""

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


WAYS = ("batched", "batched in two processes")


@pytest.fixture(scope="module")
def runs(tmp_path_factory):
    base = tmp_path_factory.mktemp("stream")
    inbox = base / "inbox"
    write_demo_exports(inbox, base / "expected")
    # A 2 MB budget: ~200 KiB batches (~100 KiB in each of two processes), so every demo
    # file (0.8-2.1 MB) is read in several batches.
    batched = {"stream_min_bytes": 0, "memory_budget_mb": 2}
    return {
        "whole": _ingest(base / "whole", inbox, stream_min_bytes=1 << 60, processes=1),
        "batched": _ingest(base / "batched", inbox, **batched, processes=1),
        "batched in two processes": _ingest(base / "two", inbox, **batched, processes=2),
    }


@pytest.mark.parametrize("way", WAYS)
@pytest.mark.parametrize("table", TABLES)
def test_batched_ingest_lands_the_same_rows(runs, table, way):
    (whole_config, _), (config, _) = runs["whole"], runs[way]
    a = _rows(whole_config.landing_dir, table)
    b = _rows(config.landing_dir, table).select(a.columns)
    assert a.height > 0
    assert a.sort(a.columns, nulls_last=True).equals(b.sort(a.columns, nulls_last=True))


@pytest.mark.parametrize("way", WAYS)
def test_batched_ingest_keeps_the_ledger_counts_and_messages(runs, way):
    (_, whole), (_, summary) = runs["whole"], runs[way]
    rows = lambda s: [(f.path, f.status, f.rows_total, f.rows_accepted, f.rows_rejected,  # noqa: E731
                       f.message) for f in s.files]  # fmt: skip
    assert rows(whole) == rows(summary)
    assert any(f.status == "duplicate" for f in summary.files)
    assert summary.rows_rejected > 0


@pytest.mark.parametrize("way", WAYS)
def test_ledger_rows_are_the_same_in_plan_order(runs, way):
    (whole_config, _), (config, _) = runs["whole"], runs[way]
    whole, other = io.read_ledger(whole_config.landing_dir), io.read_ledger(config.landing_dir)
    assert whole.height > 0
    assert whole.drop("received_at").equals(other.drop("received_at"))


def test_batch_parts_are_published_only_for_loaded_files(runs):
    (batched_config, _) = runs["batched"]
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
