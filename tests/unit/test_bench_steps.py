"""The bench's calls-alone step puts the workdir back as the history left it
(bench/steps.py save_state, restore_state) without touching the exports already delivered:
a link to them or a copy changes their stat, and the next ingest would hash them all again
(pipeline/ingest/fingerprints.py), a cost a real inbox never has."""

from __future__ import annotations

import os

from bench.steps import restore_state, save_state
from bench.workdir import DELIVERY, deliver
from pipeline.ingest.fingerprints import file_stat


def test_saving_and_restoring_leaves_the_delivered_exports_untouched(tmp_path):
    exports, workdir = tmp_path / "exports", tmp_path / "work"
    (exports / "pbx").mkdir(parents=True)
    for month in ("2026-09", "2026-10"):
        (exports / "pbx" / f"Master-{month}.csv").write_text(f"{month}\n", encoding="utf-8")
    deliver(exports, workdir / DELIVERY, ["pbx/Master-2026-09.csv"])
    (workdir / "state" / "ingest").mkdir(parents=True)
    (workdir / "state" / "ingest" / "fingerprints.json").write_text("before", encoding="utf-8")
    (workdir / "warehouse.duckdb").write_text("history", encoding="utf-8")
    old = workdir / DELIVERY / "pbx" / "Master-2026-09.csv"
    stat_before = file_stat(old)

    delivered_before = save_state(workdir, tmp_path / "saved")
    deliver(exports, workdir / DELIVERY, ["pbx/Master-2026-10.csv"])
    (workdir / "state" / "ingest" / "fingerprints.json").write_text("after", encoding="utf-8")
    os.replace(workdir / "warehouse.duckdb", workdir / "aside.duckdb")
    (workdir / "warehouse.duckdb").write_text("calls alone", encoding="utf-8")
    restore_state(workdir, tmp_path / "saved", delivered_before)

    assert file_stat(old) == stat_before
    delivered = sorted(p.name for p in (workdir / DELIVERY).rglob("*") if p.is_file())
    assert delivered == ["Master-2026-09.csv"]
    state = workdir / "state" / "ingest" / "fingerprints.json"
    assert state.read_text(encoding="utf-8") == "before"
    assert (workdir / "warehouse.duckdb").read_text(encoding="utf-8") == "history"
    assert not (tmp_path / "saved").exists()
