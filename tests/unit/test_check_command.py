"""`voronka check FILE`: exit 1 when ingest would fail on the file (unreadable, or more
rejects than quality.max_reject_ratio), 0 when it would load; FILE relative to the
working directory or to the inbox; the command `voronka run` prints as a fix works when
pasted; a deals source without any history says stage times cannot be known."""

from __future__ import annotations

import re
import shlex

import pytest

from pipeline.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from pipeline.ingest import STAGE_TIMES_UNKNOWN, IngestError, check_file, ingest_inbox
from tests.unit._fixtures_ingest import (
    CRM_SOURCE,
    DEALS_HEADER,
    HISTORY_SOURCE,
    deals_csv,
    make_config,
    put,
)

GOOD = "1;P;A;Смирнова А.;1000;01.03.2025 10:00;+79161234567;Москва"
BAD_DATE = "2;P;A;Смирнова А.;1000;вчера;+79161234567;Москва"


def check(config, argument: str, capsys) -> tuple[int, str, str]:
    code = main(["check", argument, "--config", str(config.config_file)])
    out, err = capsys.readouterr()
    return code, out, err


def test_a_file_that_would_load_exits_0(tmp_path, capsys) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(GOOD))
    code, out, _ = check(config, str(config.inbox_dir / "crm/deals_2025-03-01.csv"), capsys)
    assert code == EXIT_OK
    assert "verdict:    OK" in out


def test_a_file_that_would_fail_exits_1_after_the_report(tmp_path, capsys) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(GOOD).replace("Этап", "Стадия"))
    code, out, err = check(config, str(config.inbox_dir / "crm/deals_2025-03-01.csv"), capsys)
    assert code == EXIT_FAILED
    assert "verdict:    would FAIL ingest" in out
    assert "expects:    any deals or leads table with a header row" in out
    assert "workbook" not in out  # a CSV whose read failed: no encoding or delimiter found
    assert "crm/deals_2025-03-01.csv would fail ingest:" in err
    assert "column 'Этап' (stage) not found" in err


def test_more_rejects_than_the_limit_exits_1(tmp_path, capsys) -> None:
    config = make_config(tmp_path, max_reject_ratio=0.4)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(GOOD, BAD_DATE))
    code, out, err = check(config, str(config.inbox_dir / "crm/deals_2025-03-01.csv"), capsys)
    assert code == EXIT_FAILED
    assert "rows:       2 read, 1 accepted, 1 rejected (50.0%; limit 40.0%)" in out
    assert "50.0% of rows rejected (1 of 2), above quality.max_reject_ratio 40.0%" in err
    assert "status:     failed — 50.0% of rows rejected" in out  # what ingest records


def test_a_file_already_loaded_under_its_name_is_skipped_as_check_says(tmp_path, capsys):
    """check said "ingest would record it as a duplicate" of itself; ingest records
    nothing for bytes it has under that name."""
    config = make_config(tmp_path)
    path = put(config, "crm/deals_2025-03-01.csv", deals_csv(GOOD))
    ingest_inbox(config, settle_seconds=0)
    code, out, _ = check(config, str(path), capsys)
    assert code == EXIT_OK
    assert "verdict:    OK (already loaded as it is: ingest skips it, recording nothing)" in out
    assert ingest_inbox(config, settle_seconds=0).files == []


def test_file_relative_to_the_inbox_or_to_the_working_directory(
    tmp_path, capsys, monkeypatch
) -> None:
    config = make_config(tmp_path)
    put(config, "crm/deals_2025-03-01.csv", deals_csv(GOOD))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    assert check(config, "crm/deals_2025-03-01.csv", capsys)[0] == EXIT_OK
    monkeypatch.chdir(config.inbox_dir / "crm")
    assert check(config, "deals_2025-03-01.csv", capsys)[0] == EXIT_OK
    code, _, err = check(config, "crm/nope.csv", capsys)
    assert code == EXIT_USAGE
    assert "crm/nope.csv: no such file (looked in the working directory and in the inbox" in err


@pytest.mark.parametrize("problem", ["too many rejects", "unreadable"])
def test_the_check_command_run_prints_works_when_pasted(
    tmp_path, capsys, monkeypatch, problem
) -> None:
    config = make_config(tmp_path, max_reject_ratio=0.4)
    rows = deals_csv(GOOD, BAD_DATE)
    put(config, "crm/deals_2025-03-01.csv", rows if problem == "too many rejects" else "x;y\n1;2\n")
    with pytest.raises(IngestError) as error:
        ingest_inbox(config, settle_seconds=0)
    [command] = re.findall(r"run `(voronka check [^`]+)`", str(error.value))
    monkeypatch.chdir(tmp_path.parent)  # pasted in another folder
    argv = shlex.split(command)
    assert argv[:3] == ["voronka", "check", "crm/deals_2025-03-01.csv"]
    assert main(argv[1:]) == EXIT_FAILED
    out = capsys.readouterr().out
    assert "file:       crm/deals_2025-03-01.csv" in out
    assert "source:     crm (kind crm, preset generic)" in out


def test_stage_times_unknown_without_any_history(tmp_path) -> None:
    config = make_config(tmp_path)
    path = put(config, "crm/deals_2025-03-01.csv", deals_csv(GOOD))
    report = check_file(config, path)
    assert report.stage_times_unknown
    assert f"stage times: {STAGE_TIMES_UNKNOWN}" in report.render()
    assert STAGE_TIMES_UNKNOWN == (
        "unknown from one export without history — send weekly exports or a stage-history file"
    )


def test_stage_times_are_not_called_unknown_with_a_history_source_or_stage_dates(
    tmp_path,
) -> None:
    with_history = make_config(tmp_path / "h", CRM_SOURCE + HISTORY_SOURCE)
    path = put(with_history, "crm/deals_2025-03-01.csv", deals_csv(GOOD))
    assert "stage times:" not in check_file(with_history, path).render()
    with_dates = make_config(
        tmp_path / "d",
        CRM_SOURCE.replace("    status:", '    stage_dates: {A: "Дата создания"}\n    status:'),
    )
    path = put(with_dates, "crm/deals_2025-03-01.csv", deals_csv(GOOD))
    assert "stage times:" not in check_file(with_dates, path).render()


def test_a_rejected_record_cut_short_for_the_screen_shows_no_phone(tmp_path, capsys) -> None:
    """The record is printed to 160 characters: masked first, then cut, so a phone the cut
    splits keeps its digits masked (cut first, its head fell under the masking's 9 digits)."""
    config = make_config(tmp_path)
    city = "Москва " + "x" * (145 - len(BAD_DATE))
    row = BAD_DATE.replace("Москва", city) + ";;+7 926 123-45-67"
    assert row.rindex("+7") == 148  # the cut at 160 leaves "+7 926 123-4": 8 digits
    put(config, "crm/deals_2025-03-01.csv", deals_csv(GOOD, row, header=DEALS_HEADER + ";;Тел2"))
    _, out, _ = check(config, str(config.inbox_dir / "crm/deals_2025-03-01.csv"), capsys)
    record = next(line for line in out.splitlines() if "xxxx" in line)
    assert "926" not in record and "123" not in record, record
