"""Vendor stage-history files as exact crm_stage_events: Bitrix24 crm.stagehistory.list,
Pipedrive deal flow, Salesforce OpportunityHistory (deleted rows skipped). Every test
checks rows_total = rows_accepted + rows_rejected per file (`ingest`)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.ingest import IngestError, ingest_inbox
from tests.unit._fixtures_ingest import ingest, make_config, put, table

UTC = dt.UTC


def sources(preset: str) -> str:
    return f"""
  - name: crm
    kind: crm
    preset: {preset}
    files: "crm/deals*.csv"
  - name: crm_log
    kind: crm_history
    history_of: crm
    preset: {preset}
    files: "crm/history*.csv"
"""


def events(config) -> list[tuple]:
    rows = table(config, "crm_stage_events").sort("deal_id", "entered_at")
    assert rows["is_exact"].all() and rows["entered_after"].is_null().all()
    assert set(rows["source"].to_list()) == {"crm"}  # events belong to the deals source
    return rows.select("deal_id", "stage", "entered_at").rows()


def test_bitrix24_stage_history_rows_are_exact_entries(tmp_path) -> None:
    config = make_config(tmp_path, sources("bitrix24"))
    put(
        config,
        "crm/history_2025-03-07.csv",
        "ID;TYPE_ID;OWNER_ID;CREATED_TIME;CATEGORY_ID;STAGE_SEMANTIC_ID;STAGE_ID\n"
        "1;1;102;2025-03-02T11:30:00+03:00;0;P;NEW\n"
        "2;2;102;2025-03-03T12:00:00+03:00;0;P;PREPARATION\n"
        "3;3;102;2025-03-05T00:00:00+03:00;0;S;WON\n"
        "4;1;103;2025-03-03T09:00:00+03:00;2;P;C2:NEW\n"
        "5;3;103;2025-03-06T00:00:00+03:00;2;F;C2:LOSE\n"
        "6;2;104;вчера;0;P;NEW\n",
    )
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (6, 5, 1)
    assert "1 entries into a won stage" in result.message
    assert "1 entries into a lost stage" in result.message
    assert events(config) == [
        ("102", "NEW", dt.datetime(2025, 3, 2, 8, 30, tzinfo=UTC)),
        ("102", "PREPARATION", dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("102", "WON", dt.datetime(2025, 3, 4, 21, 0, tzinfo=UTC)),
        ("103", "C2:NEW", dt.datetime(2025, 3, 3, 6, 0, tzinfo=UTC)),
        ("103", "C2:LOSE", dt.datetime(2025, 3, 5, 21, 0, tzinfo=UTC)),
    ]
    [reject] = table(config, "rejected_rows").to_dicts()
    assert (reject["row_number"], reject["column"]) == (6, "CREATED_TIME")


def test_pipedrive_flow_keeps_stage_changes_and_accepts_other_fields_without_events(
    tmp_path,
) -> None:
    config = make_config(tmp_path, sources("pipedrive"))
    put(
        config,
        "crm/history_flow.csv",
        "item_id,field_key,old_value,new_value,log_time,user_id\n"
        "102,stage_id,1,3,2025-03-03 12:00:00,11\n"
        "102,value,1000,25000,2025-03-04 10:00:00,11\n"
        "102,status,open,won,2025-03-05 00:00:00,11\n"
        "102,stage_id,3,5,2025-03-05 00:00:00,11\n"
        "103,stage_id,1,2,2025-03-04 09:00:00,12\n",
    )
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (5, 5, 0)
    assert "1 record(s) add no stage entry: a change of value, not of stage_id" in result.message
    assert events(config) == [
        ("102", "3", dt.datetime(2025, 3, 3, 9, 0, tzinfo=UTC)),
        ("102", "5", dt.datetime(2025, 3, 4, 21, 0, tzinfo=UTC)),
        ("103", "2", dt.datetime(2025, 3, 4, 6, 0, tzinfo=UTC)),
    ]


def test_salesforce_history_skips_deleted_rows_and_unchanged_stages(tmp_path) -> None:
    config = make_config(tmp_path, sources("salesforce"))
    put(
        config,
        "crm/history_OpportunityHistory.csv",
        "Id,OpportunityId,StageName,Amount,CloseDate,Probability,ForecastCategory,"
        "CreatedById,CreatedDate,IsDeleted\n"
        "h1,102,Prospecting,1000,2025-03-31,10,Pipeline,005B,2025-03-02T08:30:00.000Z,false\n"
        "h2,102,Prospecting,25000,2025-03-31,10,Pipeline,005B,2025-03-03T08:30:00.000Z,false\n"
        "h3,102,Negotiation,25000,2025-03-31,50,Pipeline,005B,2025-03-04T08:30:00.000Z,true\n"
        "h4,102,Closed Won,25000,2025-03-05,100,Closed,005B,2025-03-04T21:00:00.000Z,false\n"
        "h5,103,Prospecting,500,2025-03-31,10,Pipeline,005A,2025-03-03T06:00:00.000Z,false\n",
    )
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (5, 5, 0)
    assert "deleted in Salesforce" in result.message and "did not change" in result.message
    assert events(config) == [
        ("102", "Prospecting", dt.datetime(2025, 3, 2, 8, 30, tzinfo=UTC)),
        ("102", "Closed Won", dt.datetime(2025, 3, 4, 21, 0, tzinfo=UTC)),
        ("103", "Prospecting", dt.datetime(2025, 3, 3, 6, 0, tzinfo=UTC)),
    ]


def test_salesforce_report_history_in_day_first_dates_skips_the_later_repeat(tmp_path) -> None:
    """A History report's Edit Date is the user's locale. Sorted as text, 12.05 came before
    20.04: the real entry into Qualification (20.04) was skipped as the repeat, and the
    amount change of 12.05 landed as the entry."""
    config = make_config(tmp_path, sources("salesforce"))
    put(
        config,
        "crm/history_StageHistory_2026-06-01.csv",
        "Opportunity ID,Stage,Amount,Probability (%),Close Date,Edit Date\n"
        "006A1,Prospecting,20000,10,20.06.2026,10.04.2026 09:00\n"
        "006A1,Qualification,20000,20,20.06.2026,20.04.2026 09:00\n"
        "006A1,Qualification,25000,20,20.06.2026,12.05.2026 09:00\n",
    )
    [result] = ingest(config).files
    assert (result.rows_total, result.rows_accepted) == (3, 3)
    assert events(config) == [
        ("006A1", "Prospecting", dt.datetime(2026, 4, 10, 6, 0, tzinfo=UTC)),
        ("006A1", "Qualification", dt.datetime(2026, 4, 20, 6, 0, tzinfo=UTC)),
    ]


@pytest.mark.parametrize(
    ("preset", "header", "missing"),
    [
        ("bitrix24", "ID;TYPE_ID;OWNER_ID;CREATED;STAGE_ID", "CREATED_TIME"),
        ("pipedrive", "item_id,field,old_value,new_value,log_time", "field_key"),
        ("salesforce", "Id,OpportunityId,Stage Name,CreatedDate", "StageName"),
    ],
)
def test_history_file_with_a_renamed_column_fails_naming_it(
    tmp_path, preset, header, missing
) -> None:
    config = make_config(tmp_path, sources(preset))
    put(config, "crm/history_1.csv", header + "\n" + ",".join(["1"] * 5) + "\n")
    with pytest.raises(IngestError, match=rf"'{missing}'.*preset '{preset}'"):
        ingest_inbox(config, settle_seconds=0)
