"""Asterisk Master.csv through ingest: widths 16/17/18, directions, missed calls, rejects."""

from __future__ import annotations

import datetime as dt

import polars as pl

from tests.unit._fixtures_ingest import PBX_SOURCE, ingest, ledger, make_config, put, table

UTC = dt.UTC


def cdr(
    src: str = "89161234567",
    dst: str = "74951112233",
    dcontext: str = "from-trunk",
    channel: str = "SIP/trunk-00000001",
    dstchannel: str = "SIP/101-0000001a",
    start: str = "2025-03-10 10:00:00",
    answer: str = "2025-03-10 10:00:05",
    end: str = "2025-03-10 10:03:05",
    billsec: str = "180",
    disposition: str = "ANSWERED",
    accountcode: str = "",
    extra: tuple[str, ...] = ("1710054000.1",),
) -> str:
    fields = [
        f'"{accountcode}"',
        f'"{src}"',
        f'"{dst}"',
        f'"{dcontext}"',
        f'"""Client"" <{src}>"',
        f'"{channel}"',
        f'"{dstchannel}"',
        '"Dial"',
        '"SIP/101,30"',
        f'"{start}"',
        f'"{answer}"',
        f'"{end}"',
        "185",
        billsec,
        f'"{disposition}"',
        '"DOCUMENTATION"',
        *(f'"{value}"' for value in extra),
    ]
    return ",".join(fields)


def load(tmp_path, *lines: str) -> pl.DataFrame:
    config = make_config(tmp_path, PBX_SOURCE)
    put(config, "pbx/Master.csv", "\n".join(lines) + "\n")
    ingest(config)
    return table(config, "calls").sort("started_at")


def test_asterisk_16_17_and_18_columns_all_load(tmp_path) -> None:
    calls = load(
        tmp_path,
        cdr(extra=()),
        cdr(start="2025-03-10 11:00:00", end="2025-03-10 11:03:05", extra=("1710057600.17",)),
        cdr(
            start="2025-03-10 12:00:00",
            end="2025-03-10 12:03:05",
            extra=("pbx1-1710061200.18", "note"),
        ),
    )
    assert calls.height == 3
    assert calls["call_id"].to_list()[1:] == ["1710057600.17", "pbx1-1710061200.18"]
    assert len(calls["call_id"][0]) == 64  # a hash when there is no uniqueid


def test_a_17th_field_that_is_no_uniqueid_is_the_userfield(tmp_path) -> None:
    """cdr-csv with `loguserfield` and no `loguniqueid` writes the userfield 17th. Read as
    the uniqueid, every call tagged "sales" was one call: 7 calls landed, 1 counted."""
    lines = [
        cdr(
            src=f"8916123450{n}",
            channel=f"SIP/trunk-0000000{n}",
            start=f"2025-03-1{n} 10:00:00",
            answer=f"2025-03-1{n} 10:00:05",
            end=f"2025-03-1{n} 10:03:05",
            extra=("sales",),
        )
        for n in range(7)
    ]
    config = make_config(tmp_path, PBX_SOURCE)
    put(config, "pbx/Master.csv", "\n".join(lines) + "\n")
    ingest(config)
    ids = table(config, "calls")["call_id"]
    assert ids.n_unique() == 7 and "sales" not in ids.to_list()


def test_ring_group_legs_without_a_uniqueid_are_one_call(tmp_path) -> None:
    """A 16-field log (loguniqueid is off by default) writes a ring group's legs as
    records of their own, sharing the inbound channel and start: one call, whose answered
    leg is kept (stg_landing__call_copies), never a missed call beside it."""
    unanswered = cdr(
        dstchannel="SIP/101-0000001a", answer="", billsec="0", disposition="NO ANSWER", extra=()
    )
    answered = cdr(dstchannel="SIP/102-0000001b", extra=())
    other = cdr(channel="SIP/trunk-00000002", start="2025-03-10 10:00:30", extra=())
    calls = load(tmp_path, unanswered, answered, other)
    legs = calls.filter(pl.col("started_at") == calls["started_at"].min())
    assert legs["call_id"].n_unique() == 1
    assert calls["call_id"].n_unique() == 2


def test_inbound_answered_call_is_read_by_the_conventions(tmp_path) -> None:
    [call] = load(tmp_path, cdr()).to_dicts()
    assert call["direction"] == "inbound"
    assert call["client_phone"] == "+79161234567"
    assert call["line"] == "+74951112233"
    assert call["manager"] == "Смирнова Анна"  # ext:101 is an alias in the config
    assert call["started_at"] == dt.datetime(2025, 3, 10, 7, 0, tzinfo=UTC)
    assert call["answered_at"] == dt.datetime(2025, 3, 10, 7, 0, 5, tzinfo=UTC)
    assert (call["talk_s"], call["disposition"]) == (180, "answered")


def test_missed_call_with_empty_answer_has_no_answered_at(tmp_path) -> None:
    [call] = load(tmp_path, cdr(answer="", billsec="0", disposition="NO ANSWER")).to_dicts()
    assert call["answered_at"] is None
    assert (call["disposition"], call["talk_s"]) == ("no_answer", 0)


def test_outbound_and_internal_calls(tmp_path) -> None:
    calls = load(
        tmp_path,
        cdr(
            src="102",
            dst="84957654321",
            dcontext="from-internal",
            channel="PJSIP/102-0001",
            dstchannel="SIP/trunk-1",
            accountcode="74957770000",
            start="2025-03-10 09:00:00",
        ),
        cdr(
            src="101",
            dst="102",
            dcontext="from-internal",
            channel="SIP/101-0002",
            dstchannel="SIP/102-0003",
            start="2025-03-10 09:30:00",
            disposition="BUSY",
        ),
    ).to_dicts()
    outbound, internal = calls
    assert outbound["direction"] == "outbound"
    assert outbound["client_phone"] == "+74957654321"
    assert outbound["line"] == "+74957770000"
    assert outbound["manager"] == "ext:102"  # unknown extension keeps its alias
    assert internal["direction"] == "internal"
    assert internal["client_phone"] is None
    assert internal["disposition"] == "busy"


def test_bad_width_time_and_disposition_are_rejected_with_reasons(tmp_path) -> None:
    config = make_config(tmp_path, PBX_SOURCE, max_reject_ratio=1.0)
    lines = [
        cdr(),
        '"only","three","fields"',
        cdr(start="2025-13-10 10:00:00"),
        cdr(disposition="WHATEVER"),
    ]
    put(config, "pbx/Master.csv", "\n".join(lines) + "\n")
    ingest(config)
    rejects = table(config, "rejected_rows").sort("row_number").to_dicts()
    assert [(r["row_number"], r["column"]) for r in rejects] == [
        (2, "(record)"),
        (3, "start"),
        (4, "disposition"),
    ]
    assert "3 fields" in rejects[0]["reason"]
    assert "'2025-13-10 10:00:00' is not a date/time" in rejects[1]["reason"]
    assert rejects[2]["reason"] == "unknown disposition 'WHATEVER'"
    assert "NO ANSWER" in rejects[2]["expected"]
    assert ledger(config)["rows_total"].to_list() == [4]
