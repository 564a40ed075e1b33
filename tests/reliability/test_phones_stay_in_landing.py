"""Issue 14, "partly holding": raw phones stay in landing.

`staging.stg_landing__calls.client_phone`, `intermediate.int_calls_qualified.client_phone`,
the deal phones' and rejected rows' staging views carried raw phone numbers (and the
rejected rows' raw text) into the warehouse. Only landing keeps them now: every model
joins calls to deals, and leaves out excluded numbers, by the keyed hash."""

from __future__ import annotations

import duckdb

from pipeline.warehouse import build_warehouse
from tests.reliability.inbox_cases import (
    FUNNEL,
    cdr,
    deal,
    deals_file,
    ingest,
    make_project,
    put,
)

EXCLUDED = "+79160000003"


def test_no_raw_phone_leaves_landing_and_calls_still_link_by_hash(tmp_path) -> None:
    config = make_project(tmp_path, funnel=f'exclude_phones: ["{EXCLUDED}"]\n' + FUNNEL)
    rows = [deal(1, "10.02.2025 10:00"), deal(3, "10.02.2025 10:00"), deal(4, "32.02.2025")]
    put(config, "crm/deals_2025-03-01.csv", deals_file(*rows))
    calls = [cdr(n, "2025-02-09 10:00:00") for n in (1, 2, 3)]  # deal 1's, nobody's, excluded
    put(config, "pbx/Master.csv", "\n".join(calls) + "\n")
    ingest(config)
    build_warehouse(config)

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        columns = con.execute(
            "select table_schema || '.' || table_name, column_name "
            "from information_schema.columns "
            "where table_schema in ('staging', 'intermediate', 'marts')"
        ).fetchall()
        links = dict(
            con.execute(
                "select call_id, deal_entity_id from intermediate.int_calls_linked_to_deals"
            ).fetchall()
        )
    phones = [(table, column) for table, column in columns if "phone" in column]
    assert phones and all(column.endswith("_hash") for _, column in phones), phones
    assert ("staging.stg_landing__rejected_rows", "raw") not in columns

    # call 1 links to deal 1 by the phone's hash; call 2 has no deal; call 3's number is
    # excluded, so it never counts (it would link to deal 3)
    assert set(links) == {"call1.1", "call2.1"}
    assert links["call1.1"].endswith(":D0001") and links["call2.1"] is None
