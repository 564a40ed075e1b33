"""Telephony presets on fixtures in the vendors' real layouts: the same three calls written
as a Mango Office, Sipuni and Twilio export land as the same `calls` rows. Every test
checks rows_total = rows_accepted + rows_rejected per file (`ingest`)."""

from __future__ import annotations

import datetime as dt

import pytest

from pipeline.ingest import IngestError, ingest_inbox
from pipeline.sources.twilio import twilio_time
from tests.unit._fixtures_ingest import ingest, make_config, put, table

UTC = dt.UTC
T1 = int(dt.datetime(2025, 3, 10, 7, 0, tzinfo=UTC).timestamp())  # 10:00 Moscow
T2, T3 = T1 + 1800, T1 + 3600

# C1 inbound answered by ext 101 (180 s talk), C2 inbound missed, C3 outbound by ext 101.
MANGO = (
    "\n".join(
        [
            f";{T1};{T1 + 185};{T1 + 5};;79161234567;101;74951112233;1110;74951112233;ivr;E1",
            f";{T2};{T2 + 20};0;;89031234567;;74951112233;1120;74951112233;ivr;E2",
            f";{T3};{T3 + 70};{T3 + 10};101;74951112233;;89161234567;1110;74951112233;;E3",
        ]
    )
    + "\n"
)
SIPUNI_HEADER = (
    "Тип;Статус;Время;ID схемы звонка;Схема;Исходящая линия;Откуда;Куда;Кто ответил;"
    "Длительность звонка;Длительность разговора;Время ответа;Оценка;ID записи;Метка;Теги;"
    "Инициатор завершения звонка;ID заказа звонка;Запись существует;Новый клиент;"
    "Состояние перезвона;Время перезвона;Информация из CRM;Ответственный из CRM"
)
SIPUNI = (
    "\n".join(
        [
            SIPUNI_HEADER,
            "Входящий;Отвечен;10.03.2025 10:00:00;1;Основная;;79161234567;74951112233;101;185;"
            "3:00;5;;rec1;;;клиент;;1;1;;;;",
            "Входящий;Не отвечен;10.03.2025 10:30:00;1;Основная;;89031234567;74951112233;;20;0;;;"
            "rec2;;;клиент;;0;1;Не перезвонили;;;",
            "Исходящий;Отвечен;10.03.2025 11:00:00;;;74951112233;101;89161234567;89161234567;70;60;"
            "10;;rec3;;;;;1;0;;;;",
        ]
    )
    + "\n"
)
TWILIO = (
    "\n".join(
        [
            "sid,parent_call_sid,date_created,start_time,end_time,duration,from,to,direction,status,"
            "price,price_unit,answered_by",
            'CA1,,"Mon, 10 Mar 2025 07:00:00 +0000","Mon, 10 Mar 2025 07:00:00 +0000",'
            '"Mon, 10 Mar 2025 07:03:00 +0000",180,+79161234567,+74951112233,inbound,completed,'
            "-0.0085,USD,",
            'CA2,,"Mon, 10 Mar 2025 07:30:00 +0000","Mon, 10 Mar 2025 07:30:00 +0000",'
            '"Mon, 10 Mar 2025 07:30:20 +0000",0,+79031234567,+74951112233,inbound,no-answer,,USD,',
            "CA3,,2025-03-10 08:00:00 UTC,2025-03-10 08:00:00 UTC,2025-03-10 08:01:00 UTC,60,"
            "+74951112233,+79161234567,outbound-api,completed,-0.02,USD,human",
        ]
    )
    + "\n"
)
FORMATS = {
    "mango": ("pbx/mango_stats.csv", MANGO),
    "sipuni": ("pbx/sipuni_calls.csv", SIPUNI),
    "twilio": ("pbx/twilio_calls.csv", TWILIO),
}
EXPECTED = [
    # direction, client_phone, line, started_at, disposition, talk_s
    (
        "inbound",
        "+79161234567",
        "+74951112233",
        dt.datetime(2025, 3, 10, 7, 0, tzinfo=UTC),
        "answered",
        180,
    ),
    (
        "inbound",
        "+79031234567",
        "+74951112233",
        dt.datetime(2025, 3, 10, 7, 30, tzinfo=UTC),
        "no_answer",
        0,
    ),
    (
        "outbound",
        "+79161234567",
        "+74951112233",
        dt.datetime(2025, 3, 10, 8, 0, tzinfo=UTC),
        "answered",
        60,
    ),
]


def calls_source(preset: str, extra: str = "") -> str:
    return f"""
  - name: pbx
    kind: calls
    preset: {preset}
    files: "pbx/*"
{extra}"""


def load(tmp_path, preset: str, content: str | None = None, extra: str = ""):
    config = make_config(tmp_path, calls_source(preset, extra))
    name, default = FORMATS[preset]
    put(config, name, default if content is None else content)
    [result] = ingest(config).files
    return config, result


def canonical(config) -> list[tuple]:
    calls = table(config, "calls").sort("started_at")
    return calls.select(
        "direction", "client_phone", "line", "started_at", "disposition", "talk_s"
    ).rows()


@pytest.mark.parametrize("preset", list(FORMATS))
def test_the_same_three_calls_land_the_same_in_every_telephony_format(tmp_path, preset) -> None:
    config, result = load(tmp_path, preset)
    assert (result.status, result.rows_total, result.rows_accepted) == ("loaded", 3, 3), result
    assert canonical(config) == EXPECTED


@pytest.mark.parametrize("preset", ["mango", "sipuni"])
def test_the_extension_side_is_the_manager(tmp_path, preset) -> None:
    config, _ = load(tmp_path, preset)
    managers = table(config, "calls").sort("started_at")["manager"].to_list()
    assert managers == ["Смирнова Анна", None, "Смирнова Анна"]


def test_mango_answer_zero_is_not_answered_and_times_are_unix_seconds(tmp_path) -> None:
    config, _ = load(tmp_path, "mango")
    calls = table(config, "calls").sort("started_at").to_dicts()
    assert calls[0]["answered_at"] == dt.datetime(2025, 3, 10, 7, 0, 5, tzinfo=UTC)
    assert calls[0]["ended_at"] == dt.datetime(2025, 3, 10, 7, 3, 5, tzinfo=UTC)
    assert calls[1]["answered_at"] is None
    assert calls[0]["call_id"] != calls[2]["call_id"]


def test_mango_field_order_can_be_configured(tmp_path) -> None:
    order = "start;finish;answer;from_extension;from_number;to_extension;to_number;entry_id"
    content = f"{T1};{T1 + 185};{T1 + 5};;79161234567;101;74951112233;E1\n"
    config, result = load(tmp_path, "mango", content, f'    columns: {{order: "{order}"}}\n')
    assert result.rows_accepted == 1
    [call] = table(config, "calls").to_dicts()
    assert (call["direction"], call["client_phone"], call["talk_s"]) == (
        "inbound",
        "+79161234567",
        180,
    )


def test_mango_legs_of_one_entry_are_one_call_answered_when_any_leg_was(tmp_path) -> None:
    """An entry is one call, one row per leg: a ring group (101 answers, 102 rang at the
    same second) and a sequential ring (101 unanswered, 102 answers 20 s later). Each leg
    was a call of its own (its id held the start and both extensions): a missed call and
    a leak beside the answered one."""
    content = "\n".join(
        [
            f";{T1};{T1 + 185};{T1 + 5};;79161234567;101;74951112233;1110;74951112233;ivr;E1",
            f";{T1};{T1 + 20};0;;79161234567;102;74951112233;1110;74951112233;ivr;E1",
            f";{T2};{T2 + 20};0;;79031234567;101;74951112233;1110;74951112233;ivr;E2",
            f";{T2 + 20};{T2 + 90};{T2 + 25};;79031234567;102;74951112233;1110;74951112233;ivr;E2",
        ]
    )
    config, result = load(tmp_path, "mango", content + "\n")
    assert result.rows_accepted == 4
    ids = table(config, "calls").sort("started_at")["call_id"].to_list()
    assert ids == ["E1", "E1", "E2", "E2"]


def test_a_sipuni_re_export_keeps_the_ids_of_calls_without_a_recording(tmp_path) -> None:
    """Calls without a recording have no «ID записи». Their ids hashed the whole record, so
    a re-export in which Sipuni had filled in its own «Состояние перезвона» gave every such
    call a new id: each missed call counted twice. The id hashes the columns read."""
    without_recordings = SIPUNI.replace(";rec1;", ";;").replace(";rec2;", ";;")
    config, _ = load(tmp_path, "sipuni", without_recordings)
    put(
        config,
        "pbx/sipuni_calls_v2.csv",
        without_recordings.replace("Не перезвонили", "Перезвонили"),
    )
    ingest(config)
    calls = table(config, "calls")
    assert calls.height == 6
    assert calls["call_id"].n_unique() == 3


def test_a_sipuni_call_across_the_spring_dst_change_ends_when_it_did(tmp_path) -> None:
    """A 20-minute call from 01:50 on 30 March 2025 in Berlin ends at 03:10 local time (the
    clocks skip 02:00–03:00). Its end was the start's local text plus the length, 02:10,
    an hour that does not exist there: the call was rejected for a column Sipuni does not
    write."""
    row = (
        "Входящий;Отвечен;30.03.2025 01:50:00;1;Основная;;79161234567;74951112233;101;1200;"
        "1190;5;;rec9;;;клиент;;1;1;;;;"
    )
    extra = "    timezone: Europe/Berlin\n"
    config, result = load(tmp_path, "sipuni", SIPUNI_HEADER + "\n" + row + "\n", extra)
    assert (result.rows_total, result.rows_accepted) == (1, 1), result
    call = table(config, "calls").row(0, named=True)
    assert call["started_at"] == dt.datetime(2025, 3, 30, 0, 50, tzinfo=dt.UTC)
    assert call["ended_at"] == dt.datetime(2025, 3, 30, 1, 10, tzinfo=dt.UTC)


def test_mango_record_of_another_width_and_a_bad_time_are_rejected(tmp_path) -> None:
    content = MANGO + "1;2;3\n" + f";вчера;{T1};0;;79161234567;101;74951112233;;;;E9\n"
    config, result = load(tmp_path, "mango", content)
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (5, 3, 2)
    reasons = table(config, "rejected_rows").sort("row_number")["reason"].to_list()
    assert "3 fields" in reasons[0] and "'вчера' is not a date/time" in reasons[1]


def test_twilio_times_rfc2822_and_iso_are_utc() -> None:
    assert twilio_time("Mon, 10 Mar 2025 07:00:00 +0000") == "2025-03-10T07:00:00+00:00"
    assert twilio_time("Mon, 10 Mar 2025 10:00:00 +0300") == "2025-03-10T07:00:00+00:00"
    assert twilio_time("2025-03-10 07:00:00 UTC") == "2025-03-10T07:00:00+00:00"
    assert twilio_time("soon") == "soon"


def test_twilio_call_still_in_progress_is_rejected_and_client_party_is_the_manager(
    tmp_path,
) -> None:
    rows = TWILIO + (
        "CA4,,2025-03-10 09:00:00 UTC,2025-03-10 09:00:00 UTC,,,"
        "+79161234567,+74951112233,inbound,in-progress,,USD,\n"
        "CA5,,2025-03-10 09:10:00 UTC,2025-03-10 09:10:00 UTC,2025-03-10 09:11:00 UTC,60,"
        "client:ext:101,+79161234567,outbound-api,completed,,USD,\n"
    )
    config, result = load(tmp_path, "twilio", rows)
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (5, 4, 1)
    [reject] = table(config, "rejected_rows").to_dicts()
    assert (reject["column"], reject["reason"]) == ("status", "unknown disposition 'in-progress'")
    ca5 = table(config, "calls").filter(table(config, "calls")["call_id"] == "CA5")
    assert ca5["manager"].to_list() == ["Смирнова Анна"]


def test_sipuni_renamed_column_fails_naming_it(tmp_path) -> None:
    config = make_config(tmp_path, calls_source("sipuni"))
    put(config, "pbx/s.csv", SIPUNI.replace("Откуда", "От кого"))
    with pytest.raises(IngestError, match=r"'Откуда' \(from\) not found.*preset 'sipuni'"):
        ingest_inbox(config, settle_seconds=0)


@pytest.mark.parametrize(
    ("written", "seconds"),
    [
        ("35", "35"),
        ("0:35", "35"),
        ("1:02:03", "3723"),
        ("1899-12-31 00:04:00", "240"),  # a workbook's [h]:mm:ss cell, as it is read
        ("1900-01-01 01:00:03", "90003"),  # a day and more
        ("1:75", "1:75"),  # no time: left as written, the row is rejected naming the column
        ("0:99:99", "0:99:99"),
    ],
)
def test_talk_times_read_as_seconds_only_when_they_are_times(written, seconds) -> None:
    from pipeline.sources.presets import duration_seconds

    assert duration_seconds(written) == seconds


def test_a_twilio_leg_dialed_for_a_clients_call_lands_as_that_call(tmp_path) -> None:
    # CA6 is a client's inbound call; CA7 the leg Twilio dialed to the agent's cell for it
    # (parent_call_sid CA6): a copy of the same call, answered by the agent. CA11's leg
    # CA12 rang out: CA11 is a missed call, though Twilio completed it (its greeting).
    # CA9 is the agent's browser (`client:…`) dialing out, and CA10 its leg to the
    # client: the call to the client.
    rows = TWILIO + (
        "CA6,,2025-03-10 10:00:00 UTC,2025-03-10 10:00:00 UTC,2025-03-10 10:01:35 UTC,95,"
        "+79165550106,+74951112233,inbound,completed,,USD,\n"
        "CA7,CA6,2025-03-10 10:00:05 UTC,2025-03-10 10:00:05 UTC,2025-03-10 10:01:35 UTC,90,"
        "+74951112233,+79165559999,outbound-dial,completed,,USD,\n"
        "CA9,,2025-03-10 11:00:00 UTC,2025-03-10 11:00:00 UTC,2025-03-10 11:02:00 UTC,120,"
        "client:ext:101,+74951112233,inbound,completed,,USD,\n"
        "CA10,CA9,2025-03-10 11:00:02 UTC,2025-03-10 11:00:02 UTC,2025-03-10 11:02:00 UTC,118,"
        "+74951112233,+79165550110,outbound-dial,completed,,USD,\n"
        "CA11,,2025-03-10 12:00:00 UTC,2025-03-10 12:00:00 UTC,2025-03-10 12:00:40 UTC,40,"
        "+79165550111,+74951112233,inbound,completed,,USD,\n"
        "CA12,CA11,2025-03-10 12:00:08 UTC,2025-03-10 12:00:08 UTC,,0,"
        "+74951112233,+79165559999,outbound-dial,no-answer,,USD,\n"
    )
    config, result = load(tmp_path, "twilio", rows)
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (9, 9, 0)
    calls = table(config, "calls").sort("started_at")
    legs = calls.filter(calls["started_at"] >= dt.datetime(2025, 3, 10, 10, tzinfo=UTC))
    columns = ("call_id", "direction", "line", "client_phone", "disposition", "talk_s")
    assert legs.select(columns).rows() == [
        ("CA6", "inbound", "+74951112233", "+79165550106", "no_answer", 0),
        ("CA6", "inbound", "+74951112233", "+79165550106", "answered", 90),
        ("CA9", "inbound", "+74951112233", None, "answered", 120),
        ("CA10", "outbound", "+74951112233", "+79165550110", "answered", 118),
        ("CA11", "inbound", "+74951112233", "+79165550111", "no_answer", 0),
        ("CA11", "inbound", "+74951112233", "+79165550111", "no_answer", 0),
    ]
