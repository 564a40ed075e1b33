"""Delivery and failure records against a local SMTP server started by the test:
each PDF reaches each recipient once; no SMTP host means no mail; a failure record is
written and mailed once per run; a re-render is "amended" only if a printed figure changed."""

from __future__ import annotations

import dataclasses
import datetime as dt
import email
import socket
from email import policy
from types import SimpleNamespace

import pytest
import yaml

from pipeline import delivery
from pipeline.config import load_config
from pipeline.failures import FailureRecord, month_from_tags, record_failure, what_to_do
from pipeline.paths import REPO_ROOT

MONTH = "2026-10"


class MailCollector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


@pytest.fixture
def smtp():
    from aiosmtpd.controller import Controller

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    collector = MailCollector()
    controller = Controller(collector, hostname="127.0.0.1", port=port)
    controller.start()
    yield port, collector
    controller.stop()


def make_config(tmp_path, smtp_port: int | None, operators=("ops@example.com",)):
    data = yaml.safe_load((REPO_ROOT / "voronka.yaml").read_text(encoding="utf-8"))
    data["delivery"] = {
        "smtp_host": "127.0.0.1" if smtp_port else None,
        "sender": "voronka@example.com",
        "operators": list(operators),
        # without a server its port would change nothing (refused)
        **({"smtp_port": smtp_port} if smtp_port else {}),
    }
    path = tmp_path / "voronka.yaml"
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(path)


def fake_model(config, *_args, **_kwargs):
    """The report models, in no language: stage keys, the names are the locale's."""
    month = dt.date(2026, 10, 1)
    stage = SimpleNamespace
    return {
        funnel.id: SimpleNamespace(
            month=month,
            period=SimpleNamespace(
                month=month,
                stages=[
                    stage(key=funnel.stages[0].key, entities=1200),
                    stage(key=funnel.stages[-1].key, entities=48),
                ],
            ),
            cohort=SimpleNamespace(
                month=dt.date(2026, 7, 1),
                stages=[stage(conversion_from_first=1.0), stage(conversion_from_first=0.0425)],
            ),
        )
        for funnel in config.funnels
    }


def write_pdfs(config, content: bytes = b"%PDF-1.7 test") -> None:
    from pipeline.reporting import report_path

    for funnel in config.funnels:
        for locale in config.locales:
            path = report_path(config, funnel.id, MONTH, locale)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(content + f" {funnel.id} {locale}".encode())


@pytest.fixture
def mailed(tmp_path, smtp, monkeypatch):
    port, collector = smtp
    config = make_config(tmp_path, port)
    monkeypatch.setattr(delivery, "report_models", fake_model)
    write_pdfs(config)
    return config, collector


def test_each_recipient_gets_the_pdf_in_their_locale_with_a_two_line_summary(mailed):
    config, collector = mailed
    result = delivery.send_reports(config, MONTH)
    assert len(result.sent) == 3 and len(collector.messages) == 3
    director = next(m for m in collector.messages if m["To"] == "director@example.com")
    assert director["From"] == "voronka@example.com"
    assert next(director.iter_attachments()).get_filename() == "voronka_doors_2026-10_ru.pdf"
    lines = director.get_body(("plain",)).get_content().splitlines()
    assert "1\u00a0200" in lines[0] or "1 200" in lines[0]  # ru number format
    assert lines[0].startswith("октябрь 2026: Входящий звонок")  # the stage named in ru
    assert "4,2" in lines[1]  # ru percent
    ceo = next(m for m in collector.messages if m["To"] == "ceo@example.com")
    assert next(ceo.iter_attachments()).get_filename() == "voronka_key_accounts_2026-10_en.pdf"
    assert ceo["Subject"].startswith("Funnel ")
    assert "1,200" in ceo.get_body(("plain",)).get_content()
    first_stage = config.funnel("key_accounts").stages[0].name.get("en")
    assert f": {first_stage} 1,200" in ceo.get_body(("plain",)).get_content()


def test_a_rerun_does_not_mail_the_same_pdf_twice_unless_forced(mailed):
    config, collector = mailed
    delivery.send_reports(config, MONTH)
    again = delivery.send_reports(config, MONTH)
    assert again.sent == [] and len(again.already_sent) == 3
    assert len(collector.messages) == 3
    delivery.send_reports(config, MONTH, force=True)
    assert len(collector.messages) == 6


def test_a_new_version_of_a_pdf_is_sent_and_says_amended(mailed):
    config, collector = mailed
    delivery.send_reports(config, MONTH)
    delivery.record_render(config, MONTH, {"doors": "1"}, [])
    delivery.record_render(config, MONTH, {"doors": "2"}, [])
    write_pdfs(config, b"%PDF-1.7 amended")
    delivery.send_reports(config, MONTH)
    assert len(collector.messages) == 6
    doors = [m for m in collector.messages if m["To"] == "director@example.com"]
    assert "(исправлен)" in doors[-1]["Subject"] and "(исправлен)" not in doors[0]["Subject"]


def test_without_an_smtp_host_nothing_is_sent_and_the_reason_is_logged(tmp_path, monkeypatch):
    config = make_config(tmp_path, None)
    said = []
    result = delivery.send_reports(config, MONTH, say=said.append)
    assert result.sent == [] and "smtp_host" in result.skipped_reason
    assert said == [result.skipped_reason]


def test_a_re_render_is_amended_only_when_a_printed_figure_changed(tmp_path):
    config = make_config(tmp_path, None)
    assert delivery.record_render(config, MONTH, {"doors": "a", "b2b": "x"}, []) == {
        "doors": False,
        "b2b": False,
    }
    assert delivery.record_render(config, MONTH, {"doors": "a", "b2b": "x"}, []) == {
        "doors": False,
        "b2b": False,
    }
    assert delivery.record_render(config, MONTH, {"doors": "b", "b2b": "x"}, [])["doors"]
    record = delivery.read_report_record(config, MONTH)
    assert record["funnels"]["doors"]["amended"] and record["funnels"]["doors"]["amendments"] == 1
    assert not record["funnels"]["b2b"]["amended"]
    delivery.record_render(config, MONTH, {"doors": "b", "b2b": "x"}, [])
    assert delivery.is_amended(config, MONTH, "doors")  # stays amended


def test_only_reported_months_whose_figures_changed_are_re_rendered(tmp_path):
    config = make_config(tmp_path, None)
    delivery.record_render(config, "2026-09", {"doors": "a"}, [])
    delivery.record_render(config, "2026-10", {"doors": "b"}, [])
    current = {"2026-09": {"doors": "a"}, "2026-10": {"doors": "c"}}
    changed = delivery.months_to_amend(config, current.__getitem__)
    assert list(changed) == ["2026-10"]


def test_the_printed_figures_digest_ignores_the_cutoff_and_flags_but_not_a_figure():
    @dataclasses.dataclass(frozen=True)
    class Stage:
        key: str
        entities: int
        is_weakest: bool

    def printed(cutoff_day: int, entities: int, is_weakest: bool = False) -> delivery.Printed:
        model = SimpleNamespace(
            mature_month=dt.date(2026, 7, 1),
            period=[Stage("call", entities, is_weakest)],
            cohort=None,
            cutoff_local=dt.datetime(2026, 11, cutoff_day, 6),
        )
        return delivery.printed_of(model)

    first = printed(1, 217)
    assert printed(8, 217).digest == first.digest  # a later data date alone
    assert printed(8, 217).as_of != first.as_of
    assert printed(1, 217, is_weakest=True).digest == first.digest  # a flag is not a figure
    assert printed(1, 219).digest != first.digest


def figures(period_clients, cohort_days=12.5, mature="2026-07-01"):
    stages = [
        {"key": key, "entities": entities, "conversion_to_next": None, "median_days": None}
        for key, entities in zip(("call", "won"), period_clients, strict=True)
    ]
    cohort = [
        {"key": "call", "entities": 50, "conversion_to_next": 0.2, "median_days": cohort_days}
    ]
    return {
        "mature_month": mature,
        "period": {"month": "2026-10-01", "stages": stages},
        "cohort": {"month": mature, "stages": cohort},
    }


def test_the_ledger_says_what_changed_and_since_which_data_date(tmp_path):
    config = make_config(tmp_path, None)
    first = delivery.Printed(figures((217, 39)), "2026-11-01T06:00:00")
    assert delivery.pending_amendment(config, MONTH, "doors", first) is None  # never rendered
    delivery.record_render(config, MONTH, {"doors": first.digest}, [], {"doors": first})
    assert delivery.pending_amendment(config, MONTH, "doors", first) is None  # unchanged
    late = delivery.Printed(figures((219, 39), cohort_days=13.0), "2026-11-08T06:00:00")
    pending = delivery.pending_amendment(config, MONTH, "doors", late)
    assert pending["edition"] == 2 and pending["previous_as_of"] == "2026-11-01T06:00:00"
    assert pending["changes"] == [
        {"view": "period", "month": "2026-10-01", "stage_key": "call", "measure": "entities",
         "old": 217, "new": 219},
        {"view": "cohort", "month": "2026-07-01", "stage_key": "call", "measure": "median_days",
         "old": 12.5, "new": 13.0},
    ]  # fmt: skip
    assert delivery.record_render(config, MONTH, {"doors": late.digest}, [], {"doors": late}) == {
        "doors": True
    }
    # Rendered again with the same figures: still amended, with the same changes.
    assert delivery.pending_amendment(config, MONTH, "doors", late) == pending
    # A new mature cohort: the month change is listed, not the other cohort's figures.
    moved = delivery.Printed(figures((219, 39), mature="2026-08-01"), None)
    changes = delivery.pending_amendment(config, MONTH, "doors", moved)["changes"]
    assert changes == [
        {
            "view": "cohort_month",
            "measure": "cohort_month",
            "old": "2026-07-01",
            "new": "2026-08-01",
        }
    ]


def test_a_record_of_an_older_digest_is_re_baselined_not_called_amended(tmp_path):
    config = make_config(tmp_path, None)
    delivery.record_render(config, MONTH, {"doors": "a"}, [])
    record = delivery.read_report_record(config, MONTH)
    record["funnels"]["doors"].pop("digest_version")  # written before DIGEST_VERSION 2
    delivery._write_json(delivery.report_record_path(config, MONTH), record)
    now = delivery.Printed(figures((217, 39)), None)
    assert delivery.pending_amendment(config, MONTH, "doors", now) is None
    assert delivery.months_to_amend(config, lambda month: {"doors": now.digest}) == {}
    assert delivery.record_render(config, MONTH, {"doors": now.digest}, [], {"doors": now}) == {
        "doors": False
    }
    assert not delivery.is_amended(config, MONTH, "doors")


def test_a_failure_record_is_written_and_mailed_to_the_operators_once(tmp_path, smtp):
    port, collector = smtp
    config = make_config(tmp_path, port)
    record = FailureRecord(
        run_id="0123456789abcdef",
        job="monthly_funnel_report",
        month="2026-10",
        step="voronka_dbt_assets",
        error="dbt test not_null_int_files_dated_file_id failed",
        failed_at="2026-11-02T03:05:00+00:00",
    )
    path, new = record_failure(config, record)
    assert new and path == config.failures_dir / "2026-10_01234567.txt"
    text = path.read_text(encoding="utf-8")
    assert "step:       voronka_dbt_assets" in text and "published warehouse" in text
    assert (config.failures_dir / "2026-10_01234567.json").exists()
    assert record_failure(config, record) == (path, False)
    assert [m["To"] for m in collector.messages] == ["ops@example.com"]
    assert "2026-10" in collector.messages[0]["Subject"]


def test_a_failure_record_is_written_even_without_smtp(tmp_path):
    config = make_config(tmp_path, None)
    record = FailureRecord("feedbeef00", "inbox_refresh", None, "ingest_inbox", "bad file", "now")
    path, new = record_failure(config, record)
    assert new and path.name == "no-month_feedbeef.txt"
    assert "voronka check" in path.read_text(encoding="utf-8")


def test_the_advice_names_the_step_and_the_month_comes_from_the_partition_tags():
    assert "voronka check" in what_to_do("landing_rejected_rows_reject_ratio_within_limit")
    assert "missing" in what_to_do("landing_files_every_source_has_data_for_the_month")
    assert "SMTP" in what_to_do("reports__monthly_mail")
    assert month_from_tags({"dagster/partition": "2026-10-01"}) == "2026-10"
    assert (
        month_from_tags(
            {
                "dagster/asset_partition_range_start": "2024-11-01",
                "dagster/asset_partition_range_end": "2026-10-01",
            }
        )
        == "2024-11…2026-10"
    )
    assert month_from_tags({}) is None
