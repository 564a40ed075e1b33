"""Issue 14 item 5: a corrected re-export wins over the export it corrects.

A deals re-export with the same snapshot time (the same file name) and a PBX log
re-exported with a corrected talk time both lost to the old rows: ties were broken by the
files' sha256. Now the later arrival wins (the ledger's received_at, then the path) for
deals, calls and history, in staging (so in the history inferred from snapshots:
stg_landing__crm_deal_snapshots' unit test) and in the incremental build's plan. The
corrected files here are padded (blank lines, which are no records) until their hash
sorts on the side where the old tie-break let the old rows win."""

from __future__ import annotations

import hashlib

import duckdb

from pipeline.warehouse import build_warehouse
from tests.reliability.inbox_cases import (
    HISTORY_HEADER,
    cdr,
    deal,
    deals_file,
    ingest,
    make_project,
    put,
)

DEALS = "crm/deals_2025-03-01_0600.csv"
HISTORY = "crm/history_2025-03-01.csv"
CALLS = "pbx/Master.csv"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def padded(text: str, old: str, *, smaller: bool) -> str:
    """`text` with blank lines added until its sha256 sorts below (or above) old's."""
    while (sha(text) < sha(old)) != smaller:
        text += "\n"
    return text


def test_corrected_reexports_win_over_the_files_they_correct(tmp_path) -> None:
    config = make_project(tmp_path)
    others = [deal(n, f"{n:02d}.02.2025 10:00") for n in range(2, 12)]
    old_deals = deals_file(deal(1, "01.02.2025 10:00"), *others)
    old_history = "\n".join([HISTORY_HEADER, "D0002;New;02.02.2025 11:00;Petrov"]) + "\n"
    calls = [cdr(n, f"2025-02-{n:02d} 10:00:00") for n in range(2, 12)]
    old_calls = "\n".join([cdr(1, "2025-02-01 09:00:00", talk=60), *calls]) + "\n"
    for name, text in ((DEALS, old_deals), (HISTORY, old_history), (CALLS, old_calls)):
        put(config, name, text)
    ingest(config)
    build_warehouse(config)

    # The same exports again, corrected: D0001 was won, the entry's manager was Anna
    # Smirnova, the call lasted 90 s. Deals and history: the old tie-break kept the larger
    # hash; calls: the smaller.
    won = deal(1, "01.02.2025 10:00", "Won", "25.02.2025 12:00")
    new_deals = padded(deals_file(won, *others), old_deals, smaller=True)
    new_history = padded(old_history.replace("Petrov", "Anna Smirnova"), old_history, smaller=True)
    new_calls = padded(
        old_calls.replace(
            cdr(1, "2025-02-01 09:00:00", talk=60), cdr(1, "2025-02-01 09:00:00", talk=90)
        ),
        old_calls,
        smaller=False,
    )
    for name, text in ((DEALS, new_deals), (HISTORY, new_history), (CALLS, new_calls)):
        put(config, name, text)
    assert [f.status for f in ingest(config).files] == ["loaded"] * 3
    progress: list[str] = []
    build_warehouse(config, progress=progress.append)
    assert any(line.startswith("incremental:") for line in progress), progress

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        deal_row = con.execute(
            "select stage, status from staging.stg_landing__crm_deals where deal_id = 'D0001'"
        ).fetchall()
        talk = con.execute(
            "select talk_s from staging.stg_landing__calls where call_id = 'call1.1'"
        ).fetchall()
        manager = con.execute(
            "select manager from staging.stg_landing__crm_stage_events "
            "where deal_id = 'D0002' and is_exact"
        ).fetchall()
        reached = con.execute(
            "select stage_key from marts.funnel_entities "
            "where entity_id like '%D0001' order by stage_key"
        ).fetchall()
    assert deal_row == [("Won", "won")]
    assert talk == [(90,)]
    assert manager == [("Anna Smirnova",)]
    assert ("won",) in reached  # the incremental build recomputed the deal's cohort
