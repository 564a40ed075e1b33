"""Issue 14 item 4: the quality gate works every time, in the CLI and in Dagster alike.

A file rejected as too dirty failed the first `voronka ingest` and was loaded into the
marts by the next; in Dagster the blocking check could never clear once a bad file had
landed, even after a corrected re-export. Now a file above quality.max_reject_ratio is
recorded `failed` with nothing of it landed, stays failed on every run while it is in the
inbox, and a corrected export under the same name (or removing the file) retires it;
`voronka ingest` and the check `reject_ratio_within_limit` apply the one rule
(pipeline.ingest.held_files)."""

from __future__ import annotations

import contextlib
import io

import duckdb

from pipeline.cli import main
from pipeline.defs.checks import reject_ratio_within_limit
from pipeline.defs.resources import VoronkaConfig
from tests.reliability.inbox_cases import deal, deals_file, ledger, make_project, put, table

GOOD = [deal(n, f"{1 + n % 27:02d}.02.2025 10:00") for n in range(1, 11)]
DIRTY = GOOD[:7] + [row.replace(".02.2025", ".13.2025") for row in GOOD[7:]]  # 3 of 10 bad
NAME = "crm/deals_2025-03-01.csv"


def voronka(config, *command: str) -> tuple[int, str]:
    output = io.StringIO()
    with contextlib.redirect_stdout(output), contextlib.redirect_stderr(output):
        code = main([*command, "--config", str(config.base_dir / "voronka.yaml")])
    return code, output.getvalue()


def check_passes(config) -> bool:
    result = reject_ratio_within_limit(
        voronka=VoronkaConfig(config_path=str(config.base_dir / "voronka.yaml"))
    )
    return result.passed


def test_a_too_dirty_file_stays_failed_until_a_corrected_export_replaces_it(tmp_path) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    put(config, NAME, deals_file(*DIRTY))

    for _ in range(2):  # the second run must not let it through
        code, output = voronka(config, "ingest")
        assert code == 1, output
        assert "30.0% of rows rejected" in output and NAME in output
        assert table(config, "crm_deals").height == 0  # nothing of it landed
        assert ledger(config)["status"].to_list() == ["failed"]
        assert not check_passes(config)

    put(config, NAME, deals_file(*GOOD))  # the corrected re-export, same name
    code, output = voronka(config, "ingest")
    assert code == 0, output
    assert table(config, "crm_deals").height == 10
    assert check_passes(config)
    assert voronka(config, "ingest")[0] == 0

    assert voronka(config, "build")[0] == 0
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        [(deals,)] = con.execute(
            "select count(distinct entity_id) from marts.funnel_entities where funnel_id = 'sales'"
        ).fetchall()
    assert deals == 10


def test_removing_the_dirty_file_retires_it(tmp_path) -> None:
    config = make_project(tmp_path, quality="{max_reject_ratio: 0.02}")
    path = put(config, NAME, deals_file(*DIRTY))
    put(config, "crm/deals_2025-04-01.csv", deals_file(*GOOD))
    assert voronka(config, "ingest")[0] == 1
    assert not check_passes(config)
    path.unlink()
    assert voronka(config, "ingest")[0] == 0
    assert check_passes(config)
    assert table(config, "crm_deals").height == 10
