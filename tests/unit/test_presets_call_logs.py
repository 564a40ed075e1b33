"""Call logs with a header row: the generic calls preset (any log, mapped by `columns:`),
Mango Office's cabinet CSV (its header read by names), and the layout check of every
preset — a header row where none is expected, or data where a header is, fails the file
saying which layout was expected, which was found, and what to use instead."""

from __future__ import annotations

import pytest

from pipeline.ingest import IngestError, ingest_inbox
from tests.unit._fixtures_ingest import ingest, make_config, put, table
from tests.unit.test_presets_calls import EXPECTED, MANGO, calls_source, canonical

# The three calls of test_presets_calls (C1 inbound answered by ext 101, C2 inbound
# missed, C3 outbound by ext 101), as the Mango Office cabinet downloads them.
MANGO_CABINET = (
    "Дата и время;Тип звонка;Кто звонил;Кому звонили;Линия;Сотрудник;Ожидание;"
    "Длительность разговора;Статус;ID звонка\n"
    "10.03.2025 10:00:00;Входящий;79161234567;74951112233;74951112233;101;5;180;Отвечен;E1\n"
    "10.03.2025 10:30:00;Входящий;89031234567;74951112233;74951112233;;20;0;Пропущен;E2\n"
    "10.03.2025 11:00:00;Исходящий;101;89161234567;74951112233;101;10;60;Отвечен;E3\n"
)
# The same calls in a log with caller and callee only: our line tells the direction.
CALLER_CALLEE = (
    "Начало;Кто;Кому;Разговор;Менеджер\n"
    "10.03.2025 10:00:00;+7 916 123-45-67;+7 495 111-22-33;0:03:00;Смирнова А.\n"
    "10.03.2025 10:30:00;8 903 123-45-67;+7 495 111-22-33;0;\n"
    "10.03.2025 11:00:00;+7 495 111-22-33;8 916 123-45-67;60;Смирнова А.\n"
)
CALLER_CALLEE_SOURCE = (
    '    columns: {started_at: "Начало", caller: "Кто", callee: "Кому", talk_s: "Разговор",\n'
    '              manager: "Менеджер"}\n'
)


def load(tmp_path, preset: str, name: str, content: str, extra: str = ""):
    config = make_config(tmp_path, calls_source(preset, extra), max_reject_ratio=1.0)
    put(config, name, content)
    [result] = ingest(config).files
    return config, result


def failure(tmp_path, preset: str, name: str, content: str, extra: str = "", **options) -> str:
    config = make_config(tmp_path, calls_source(preset, extra))
    put(config, name, content)
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0, **options)
    [result] = error.value.summary.files
    assert result.status == "failed"
    return result.message


def test_mango_cabinet_csv_lands_like_the_api_layout(tmp_path) -> None:
    config, result = load(tmp_path, "mango", "pbx/calls.csv", MANGO_CABINET)
    assert (result.status, result.rows_total, result.rows_accepted) == ("loaded", 3, 3), result
    assert canonical(config) == EXPECTED
    managers = table(config, "calls").sort("started_at")["manager"].to_list()
    assert managers == ["Смирнова Анна", None, "Смирнова Анна"]


def test_mango_cabinet_columns_can_be_renamed(tmp_path) -> None:
    renamed = MANGO_CABINET.replace("Кто звонил", "Номер клиента")
    extra = '    columns: {caller: "Номер клиента"}\n'
    config, result = load(tmp_path, "mango", "pbx/calls.csv", renamed, extra)
    assert result.rows_accepted == 3
    assert canonical(config) == EXPECTED


def test_mango_header_of_another_product_fails_with_the_generic_mapping(tmp_path) -> None:
    other = "When;Who;Whom;Talk\n10.03.2025 10:00:00;79161234567;74951112233;180\n"
    message = failure(tmp_path, "mango", "pbx/calls.csv", other)
    assert "'Дата и время' or 'Дата/время'" in message
    assert "Mango Office's cabinet CSV has a header row" in message
    assert "preset generic: columns: {started_at: …, caller: …, callee: …" in message


def test_mango_api_layout_still_reads_without_a_header(tmp_path) -> None:
    config, result = load(tmp_path, "mango", "pbx/stats.csv", MANGO)
    assert result.rows_accepted == 3
    assert canonical(config) == EXPECTED


def test_mango_api_time_that_is_no_number_is_rejected_asking_for_unix_seconds(tmp_path) -> None:
    """The API layout's times are Unix seconds: a row whose start is not one is rejected,
    and the reason asks for Unix seconds, not for a local date."""
    bad = MANGO.splitlines()[0].split(";")
    bad[1] = bad[1][:4] + "O" + bad[1][5:]  # a letter O for a zero
    config, result = load(tmp_path, "mango", "pbx/stats.csv", MANGO + ";".join(bad) + "\n")
    assert (result.rows_total, result.rows_accepted, result.rows_rejected) == (4, 3, 1), result
    [reject] = table(config, "rejected_rows").to_dicts()
    assert reject["column"] == "start"
    assert reject["expected"].startswith("Unix seconds"), reject
    assert "is not a date/time" in reject["reason"], reject


def test_generic_call_log_with_caller_callee_and_own_lines(tmp_path) -> None:
    extra = CALLER_CALLEE_SOURCE + '    own_lines: ["+7 495 111-22-33"]\n'
    config, result = load(tmp_path, "generic", "pbx/log.csv", CALLER_CALLEE, extra)
    assert (result.rows_accepted, result.rows_rejected) == (3, 0), result
    assert canonical(config) == EXPECTED  # answered by talk time: no disposition column


def test_generic_call_log_without_own_lines_cannot_tell_two_outside_numbers(tmp_path) -> None:
    config, result = load(tmp_path, "generic", "pbx/log.csv", CALLER_CALLEE, CALLER_CALLEE_SOURCE)
    assert (result.rows_accepted, result.rows_rejected) == (0, 3)
    reasons = set(table(config, "rejected_rows")["reason"].to_list())
    assert reasons == {"cannot tell the call direction"}


def test_generic_call_log_extension_side_is_the_manager(tmp_path) -> None:
    log = (
        "Начало;Кто;Кому;Разговор\n"
        "10.03.2025 10:00:00;+7 916 123-45-67;101;180\n"
        "10.03.2025 11:00:00;101;8 916 123-45-67;60\n"
    )
    extra = (
        '    columns: {started_at: "Начало", caller: "Кто", callee: "Кому", talk_s: "Разговор"}\n'
    )
    config, _ = load(tmp_path, "generic", "pbx/log.csv", log, extra)
    calls = table(config, "calls").sort("started_at")
    assert calls["direction"].to_list() == ["inbound", "outbound"]
    assert calls["manager"].to_list() == ["Смирнова Анна", "Смирнова Анна"]
    assert calls["client_phone"].to_list() == ["+79161234567", "+79161234567"]


def test_a_foreign_number_without_plus_is_a_client_not_our_side(tmp_path) -> None:
    """A Belarusian caller written without `+` is no number the Russian plan reads. It was
    taken for our side (a name), so the call to our line landed as internal, its caller
    the 'manager', and left the inbound calls unsaid. It is an inbound call whose client
    phone is not understood, counted in the file's notes."""
    log = (
        "Начало;Кто;Кому;Разговор\n"
        "12.05.2025 10:20:00;375291234567;+7 495 111-22-33;0\n"
        "12.05.2025 10:30:00;101;+7 495 111-22-33;0\n"
    )
    extra = (
        '    columns: {started_at: "Начало", caller: "Кто", callee: "Кому", talk_s: "Разговор"}\n'
        '    own_lines: ["+7 495 111-22-33"]\n'
    )
    config, result = load(tmp_path, "generic", "pbx/log.csv", log, extra)
    calls = table(config, "calls").sort("started_at")
    assert calls["direction"].to_list() == ["inbound", "internal"]
    assert calls["client_phone"].to_list() == [None, None]
    assert calls["manager"][0] is None
    assert "phone" in result.message, result.message


def test_generic_call_log_direction_and_disposition_words(tmp_path) -> None:
    log = (
        "Date,Type,Client,Status\n"
        "10.03.2025 10:00:00,Входящий,79161234567,Отвечен\n"
        "10.03.2025 10:10:00,incoming,79161234567,Пропущенный\n"
        "10.03.2025 10:20:00,Исходящий,79161234567,Занято\n"
        "10.03.2025 10:30:00,outbound,79161234567,failed\n"
        "10.03.2025 10:40:00,Внутренний,,no-answer\n"
    )
    extra = (
        '    columns: {started_at: "Date", direction: "Type", client_phone: "Client", '
        'disposition: "Status"}\n'
    )
    config, result = load(tmp_path, "generic", "pbx/log.csv", log, extra)
    assert result.rows_accepted == 5, result
    calls = table(config, "calls").sort("started_at")
    assert calls["direction"].to_list() == ["inbound", "inbound", "outbound", "outbound",
                                            "internal"]  # fmt: skip
    assert calls["disposition"].to_list() == ["answered", "no_answer", "busy", "failed",
                                              "no_answer"]  # fmt: skip


def test_generic_call_log_mapping_must_say_who_called_and_whether_answered(tmp_path) -> None:
    config = make_config(tmp_path, calls_source("generic", '    columns: {started_at: "Date"}\n'))
    put(config, "pbx/log.csv", "Date;X\n10.03.2025 10:00:00;1234\n")
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0)
    message = error.value.summary.files[0].message
    assert "'columns' must map direction (or caller and callee), disposition (or talk_s or "
    assert "answered_at)" in message


@pytest.mark.parametrize("stream_min_bytes", [0, 1 << 30], ids=["streamed", "whole"])
def test_asterisk_given_a_header_row_says_so_and_names_the_generic_preset(
    tmp_path, stream_min_bytes
) -> None:
    log = CALLER_CALLEE.replace(";", ",")
    message = failure(
        tmp_path, "asterisk", "pbx/Master.csv", log, stream_min_bytes=stream_min_bytes
    )
    assert "expects Asterisk's cdr-csv Master.csv, which has no header row" in message
    assert "this file starts with a header row: 'Начало', 'Кто', 'Кому', 'Разговор', …" in message
    assert "preset generic and its column names: columns: {started_at: …" in message


@pytest.mark.parametrize("preset", ["sipuni", "twilio", "generic"])
def test_a_header_preset_given_a_file_without_header_says_so(tmp_path, preset) -> None:
    extra = CALLER_CALLEE_SOURCE if preset == "generic" else ""
    message = failure(tmp_path, preset, "pbx/calls.csv", MANGO, extra)
    assert f"(preset {preset!r}, kind 'calls') expects a header row (column names)" in message
    assert "this file has no header row, its first line is data:" in message
    assert "preset generic: columns: {started_at: …, caller: …, callee: …" in message


def test_a_crm_export_without_header_says_so(tmp_path) -> None:
    config = make_config(
        tmp_path, "\n  - name: crm\n    kind: crm\n    preset: amocrm\n    files: a/*\n"
    )
    put(
        config,
        "a/deals.csv",
        "101;Двери;15000;Смирнова;03.06.2025 10:00:00;Замер;P\n"
        "102;Окна;20000;Петров;04.06.2025 11:00:00;Замер;P\n",
    )
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0)
    message = error.value.summary.files[0].message
    assert "(preset 'amocrm', kind 'crm') expects a header row" in message
    assert "'101', 'Двери', '15000', 'Смирнова', …" in message
    assert "preset generic: columns: {deal_id: …, created_at: …, stage: …}" in message
