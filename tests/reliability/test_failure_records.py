"""Issue 14, "Partly holding": every failed run leaves a failure record
(docs/operating.md), and the record keeps the cause.

Before: the CLI wrote no record at all, and the Dagster record kept only the outermost
message, dropping its cause ("Connection refused"). Now both write one record per failed
run, and the error lists the messages of the whole exception chain.
"""

from __future__ import annotations

import json

import dagster as dg
import pytest

from pipeline import cli
from pipeline.defs.sensors import failure_record
from pipeline.failures import error_text
from tests.reliability.tiny_project import write_project


class MailError(Exception):
    pass


def refused() -> None:
    try:
        raise ConnectionRefusedError(111, "Connection refused")
    except ConnectionRefusedError as error:
        raise MailError("could not reach the SMTP server smtp.example.com:25") from error


def records(folder) -> list[dict]:
    return [json.loads(path.read_text()) for path in sorted(folder.glob("*.json"))]


def test_a_failed_cli_run_leaves_a_record_naming_the_step_and_the_cause(tmp_path, monkeypatch):
    config = write_project(tmp_path)

    def render_reports(*args, **kwargs):
        refused()

    monkeypatch.setattr("pipeline.reporting.render_reports", render_reports)
    code = cli.main(["report", "--config", str(tmp_path / "voronka.yaml"), "--month", "2025-03"])
    assert code == cli.EXIT_FAILED
    [record] = records(config.failures_dir)
    assert record["job"] == "voronka report"
    assert record["month"] == "2025-03"
    assert record["step"] == "report: PDFs for 2025-03"
    assert "could not reach the SMTP server" in record["error"]
    assert "Connection refused" in record["error"]
    assert record["what_to_do"]
    [text] = config.failures_dir.glob("2025-03_*.txt")
    assert "Connection refused" in text.read_text()


def test_a_cli_run_that_fails_before_any_step_leaves_a_record_too(tmp_path) -> None:
    config = write_project(tmp_path)  # no warehouse: the report month cannot be found
    code = cli.main(["report", "--config", str(tmp_path / "voronka.yaml")])
    assert code == cli.EXIT_FAILED
    [record] = records(config.failures_dir)
    assert record["step"] == "voronka report"
    assert "warehouse not found" in record["error"]


def test_commands_that_are_not_runs_leave_no_record(tmp_path) -> None:
    config = write_project(tmp_path)
    code = cli.main(["plan", "--config", str(tmp_path / "voronka.yaml"), "--funnel", "sales",
                     "--target", "5"])  # fmt: skip
    assert code == cli.EXIT_FAILED
    assert not config.failures_dir.exists()


def test_the_dagster_record_keeps_the_cause() -> None:
    @dg.asset
    def mails() -> None:
        refused()

    instance = dg.DagsterInstance.ephemeral()
    result = dg.materialize([mails], instance=instance, raise_on_error=False)
    assert not result.success
    context = dg.build_run_status_sensor_context(
        sensor_name="failure_record_sensor",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    record = failure_record(context)
    assert record.step == "mails"
    assert "could not reach the SMTP server" in record.error
    assert "Connection refused" in record.error


@pytest.mark.parametrize("suppressed", [False, True])
def test_error_text_lists_each_cause_once(suppressed) -> None:
    try:
        try:
            refused()
        except MailError as error:
            raise RuntimeError(f"delivery failed: {error}") from (None if suppressed else error)
    except RuntimeError as error:
        text = error_text(error)
    lines = text.splitlines()
    assert lines[0] == "delivery failed: could not reach the SMTP server smtp.example.com:25"
    if suppressed:
        assert lines == lines[:1]
    else:
        # the MailError's message is already in the first line: only its cause is added
        assert lines[1:] == ["caused by ConnectionRefusedError: [Errno 111] Connection refused"]


def test_a_run_of_an_empty_inbox_fails_saying_there_is_no_data_yet(tmp_path, capsys) -> None:
    """No export at all: the build makes empty marts, and the report step, with no data
    cutoff to take its month from, says there is nothing to report (it failed formatting
    None), with no spelling warning for stages of sources that have no deal yet."""
    config = write_project(tmp_path)
    config.inbox_dir.mkdir(parents=True)
    code = cli.main(["run", "--config", str(tmp_path / "voronka.yaml")])
    out, err = capsys.readouterr()
    assert code == cli.EXIT_FAILED
    assert "the marts hold no data yet (no export has landed in the inbox)" in err
    assert "never appears in the data" not in out + err
    [record] = records(config.failures_dir)
    assert record["job"] == "voronka run"
