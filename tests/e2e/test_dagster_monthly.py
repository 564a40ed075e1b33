"""The monthly job end to end on the demo data, in one Dagster instance (pool limit 1):
it renders and mails a month once; a rerun changes nothing (and, nothing being new, runs
no dbt build); a failing dbt test blocks the report, leaves the warehouse and the PDFs as
they were, and leaves one failure record (mailed once); a changed printed figure
re-renders the month as amended.

The tests share one module fixture and run in file order (each dbt build costs ~30 s).
"""

from __future__ import annotations

import email
import hashlib
import socket
from dataclasses import dataclass
from email import policy
from pathlib import Path

import duckdb
import polars as pl
import pytest
import yaml

from pipeline.config import Config, load_config
from pipeline.prepare import prepare_dbt_manifest
from tests.helpers import copy_demo_config

MONTH_KEY = "2026-10-01"
MONTH = "2026-10"


class MailCollector:
    def __init__(self) -> None:
        self.messages: list[email.message.EmailMessage] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(email.message_from_bytes(envelope.content, policy=policy.default))
        return "250 OK"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture(scope="module")
def smtp():
    from aiosmtpd.controller import Controller

    collector = MailCollector()
    controller = Controller(collector, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, collector
    controller.stop()


@dataclass
class Site:
    config: Config
    defs: object
    instance: object
    mail: MailCollector

    def run(self, job: str = "monthly_funnel_report", raise_on_error: bool = True):
        return self.defs.resolve_job_def(job).execute_in_process(
            partition_key=MONTH_KEY, instance=self.instance, raise_on_error=raise_on_error
        )

    def pdfs(self) -> dict[str, bytes]:
        folder = self.config.reports_dir / MONTH
        return {path.name: path.read_bytes() for path in sorted(folder.glob("*.pdf"))}

    def marts(self, digits: int | None = None) -> dict[str, list[tuple]]:
        """Every marts table, rows sorted; floats rounded to `digits` significant digits."""
        with duckdb.connect(str(self.config.warehouse_path), read_only=True) as con:
            tables = [
                name
                for (name,) in con.execute(
                    "select table_name from information_schema.tables "
                    "where table_schema = 'marts' order by 1"
                ).fetchall()
            ]
            return {
                name: sorted(
                    (
                        tuple(_round(value, digits) for value in row)
                        for row in con.execute(f"select * from marts.{name}").fetchall()
                    ),
                    key=repr,
                )
                for name in tables
            }


def _round(value, digits: int | None):
    if digits is None or not isinstance(value, float):
        return value
    return float(f"{value:.{digits}g}")


def with_delivery(config_file: Path, port: int) -> Config:
    data = yaml.safe_load(config_file.read_text(encoding="utf-8"))
    data["locales"] = ["ru"]  # rendering dominates the test's time; en is mailed as ru
    data["delivery"] = {
        **(data.get("delivery") or {}),
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "operators": ["ops@example.com"],
    }
    config_file.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return load_config(config_file)


@pytest.fixture(scope="module")
def site(tmp_path_factory, smtp):
    import dagster as dg

    from pipeline.defs.instance import instance_settings
    from pipeline.demo import write_demo_exports

    prepare_dbt_manifest()  # before pipeline.defs is imported
    from pipeline.defs import build_definitions

    controller, collector = smtp
    root = tmp_path_factory.mktemp("monthly")
    copy_demo_config(root)
    config = with_delivery(root / "voronka.yaml", controller.port)
    write_demo_exports(config.inbox_dir, root / "expected")
    home = root / "dagster"
    home.mkdir()
    with dg.instance_for_test(temp_dir=str(home), overrides=instance_settings(home)) as inst:
        yield Site(config, build_definitions(root / "voronka.yaml"), inst, collector)


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def materialized(result, key: list[str]) -> bool:
    import dagster as dg

    return any(
        event.asset_key == dg.AssetKey(key) for event in result.get_asset_materialization_events()
    )


def test_monthly_run_renders_the_month_and_mails_each_recipient_once(site):
    result = site.run()

    assert result.success
    assert materialized(result, ["reports", "monthly_pdf"])  # not silently skipped (PITFALLS)
    assert materialized(result, ["reports", "monthly_mail"])
    assert len(site.pdfs()) == len(site.config.funnels) * len(site.config.locales)
    recipients = sorted(r.email for f in site.config.funnels for r in f.recipients)
    assert sorted(m["To"] for m in site.mail.messages) == recipients
    director = next(m for m in site.mail.messages if m["To"] == "director@example.com")
    attachment = next(director.iter_attachments())
    assert attachment.get_filename() == f"voronka_doors_{MONTH}_ru.pdf"
    assert attachment.get_content() == site.pdfs()[f"voronka_doors_{MONTH}_ru.pdf"]
    body = director.get_body(("plain",)).get_content().strip().splitlines()
    assert len([line for line in body if line]) == 3  # two summary lines + "attached"
    assert "2026" in body[0]


@pytest.fixture(scope="module")
def rerun(site):
    before = site.marts(), site.marts(digits=12), site.pdfs(), len(site.mail.messages)
    return before, site.run()


def test_rerun_of_a_month_gives_identical_marts_and_pdfs_and_mails_nobody_twice(site, rerun):
    (_, marts, pdfs, mails), result = rerun

    assert result.success
    assert site.marts(digits=12) == marts
    assert site.pdfs() == pdfs  # byte-identical
    assert len(site.mail.messages) == mails
    from pipeline.delivery import read_report_record

    record = read_report_record(site.config, MONTH)
    assert not any(entry["amended"] for entry in record["funnels"].values())


def test_rerun_of_a_month_gives_bit_identical_marts(site, rerun):
    (marts, _, _, _), result = rerun
    assert result.success and site.marts() == marts


def test_rerun_with_nothing_new_runs_no_dbt_and_still_reports(site, rerun):
    """Nothing new since the first run: the dbt assets are materialized as they are (no dbt
    build, no check evaluated), and the report downstream still runs."""
    from pipeline.warehouse import UP_TO_DATE

    _, result = rerun
    events = result.get_asset_materialization_events()
    marts = [e for e in events if e.asset_key.path == ["marts", "funnel_stage_monthly"]]
    assert [e.materialization.metadata["build"].value for e in marts] == [UP_TO_DATE]
    dbt_layers = {"staging", "intermediate", "marts", "state"}
    checked = {e.asset_key.path[0] for e in result.get_asset_check_evaluations()}
    assert checked and not checked & dbt_layers  # the landing checks ran, no dbt test
    assert materialized(result, ["reports", "monthly_pdf"])


def inject_failing_dbt_test(config: Config) -> Path:
    """A landed call without a file_id: int_files_dated's not_null test must fail."""
    # Beside a real part (flat, or in a month folder), where dbt reads the table's parts.
    part = next((config.landing_dir / "calls").rglob("part-*.parquet"))
    row = pl.read_parquet(part, hive_partitioning=False).head(1)
    bad = row.with_columns(
        pl.lit(None, pl.String).alias("file_id"), pl.lit("injected").alias("call_id")
    )
    target = part.parent / "part-injected.parquet"
    bad.write_parquet(target)
    return target


def test_a_failing_dbt_test_blocks_the_report_and_leaves_warehouse_and_pdf_as_they_were(
    site, monkeypatch
):
    import dagster as dg

    from pipeline.defs import dbt as dbt_defs
    from pipeline.defs.sensors import failure_record
    from pipeline.failures import record_failure

    warehouse, pdfs = sha256(site.config.warehouse_path), site.pdfs()
    mails = len(site.mail.messages)
    injected = inject_failing_dbt_test(site.config)
    # The injected row comes with no new file: the build must run all the same.
    monkeypatch.setattr(dbt_defs, "nothing_to_build", lambda *args, **kwargs: False)
    try:
        result = site.run(raise_on_error=False)
    finally:
        injected.unlink()

    assert not result.success
    failed_checks = [e.check_name for e in result.get_asset_check_evaluations() if not e.passed]
    assert any("not_null" in name and "file_id" in name for name in failed_checks)
    assert not materialized(result, ["reports", "monthly_pdf"])
    assert sha256(site.config.warehouse_path) == warehouse
    assert site.pdfs() == pdfs
    assert len(site.mail.messages) == mails

    # The failure sensor, twice over the same run: one record, one mail to the operators.
    run = site.instance.get_run_by_id(result.run_id)
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.RUN_FAILURE)
    for _ in range(2):
        context = dg.build_run_status_sensor_context(
            sensor_name="failure_record_sensor",
            dagster_event=failure,
            dagster_instance=site.instance,
            dagster_run=run,
        ).for_run_failure()
        site.defs.resolve_sensor_def("failure_record_sensor")(context)
    records = sorted(site.config.failures_dir.glob("*.txt"))
    assert [path.name for path in records] == [f"{MONTH}_{result.run_id[:8]}.txt"]
    text = records[0].read_text(encoding="utf-8")
    assert "step:       voronka_dbt_assets" in text
    assert "not_null" in text and "what to do:" in text
    operator_mails = [m for m in site.mail.messages if m["To"] == "ops@example.com"]
    assert len(operator_mails) == 1
    assert MONTH in operator_mails[0]["Subject"]
    assert failure_record(context).step == "voronka_dbt_assets"
    assert record_failure(site.config, failure_record(context))[1] is False


def test_a_changed_printed_figure_re_renders_the_month_as_amended(site):
    import dagster as dg

    from pipeline.delivery import read_report_record, report_record_path

    # Pretend the published report printed other figures than today's marts hold.
    path = report_record_path(site.config, MONTH)
    record = read_report_record(site.config, MONTH)
    record["funnels"]["doors"]["printed_digest"] = "0" * 64
    path.write_text(__import__("json").dumps(record), encoding="utf-8")

    sensor = site.defs.resolve_sensor_def("amended_reports_sensor")
    tick = sensor.evaluate_tick(
        dg.build_sensor_context(instance=site.instance, definitions=site.defs)
    )
    assert [request.partition_key for request in tick.run_requests] == [MONTH_KEY]

    mails = len(site.mail.messages)
    result = site.run("report_refresh")
    assert result.success
    record = read_report_record(site.config, MONTH)
    assert record["funnels"]["doors"]["amended"] is True
    assert record["funnels"]["b2b"]["amended"] is False
    # The amended doors PDF says so on page 1, so its readers get it again; the other
    # funnels' PDFs are the same bytes and nobody is mailed them twice.
    resent = sorted(m["To"] for m in site.mail.messages[mails:])
    assert resent == sorted(r.email for r in site.config.funnel("doors").recipients)


def test_a_call_log_alone_is_built_without_the_crm_models_which_are_materialized_as_kept(site):
    """A call log arrives alone (a rotated log repeating the last calls built): the job's
    build leaves the models of CRM data and config alone out of dbt's run, materializes
    them as kept among dbt's own events in an order Dagster takes (each asset after its
    parents), and the funnels' marts stay as they were (a repeated call is one call; the
    marts of the files list the new one)."""
    from pipeline.defs.dbt import LEFT_OUT

    marts = site.marts()
    master = site.config.inbox_dir / "pbx/Master.csv"
    last_calls = master.read_bytes().splitlines(keepends=True)[-200:]
    (master.parent / "Master-rotated.csv").write_bytes(b"".join(last_calls))

    result = site.run()
    assert result.success
    builds = {
        event.asset_key.to_user_string(): event.materialization.metadata["build"].value
        for event in result.get_asset_materialization_events()
        if "build" in event.materialization.metadata
    }
    kept = {key for key, build in builds.items() if build == LEFT_OUT}
    assert "staging/stg_landing__crm_deals" in kept and "marts/unmapped_stages" in kept
    assert "marts/funnel_stage_monthly" not in kept  # built by dbt
    assert materialized(result, ["marts", "funnel_stage_monthly"])
    assert materialized(result, ["reports", "monthly_pdf"])
    about_files = {"data_files", "data_quality"}
    after = site.marts()
    assert {name: rows for name, rows in after.items() if name not in about_files} == {
        name: rows for name, rows in marts.items() if name not in about_files
    }
