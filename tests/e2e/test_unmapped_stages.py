"""`marts.unmapped_stages` on the demo's exports with a stage renamed in the CRM later than
the mapping says: its expected rows come from a plain-Python reading of the exports and
the config, not from the pipeline's code.

The demo's door shop renamed "Замер назначен" to "Вызов замерщика" on 2025-07-01, and its
config maps the new name from that day. Here the config maps it from 2025-09-01 only, so
the deals that entered it in July and August (local dates) are reported: once per deal,
first seen at the earliest such entry. The business runs in New York (the demo's exports
written on its clock, with daylight saving), not the demo's Moscow."""

from __future__ import annotations

import csv
import datetime as dt
import io
import zoneinfo
from pathlib import Path

import duckdb
import pytest
import yaml

from pipeline.config import load_config
from pipeline.demo import write_demo_exports
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse
from tests.helpers import copy_demo_config

LATER_MAPPING = ("valid_from: 2025-07-01}", "valid_from: 2025-09-01}")
EXPORT_TIME = "%d.%m.%Y %H:%M"
ZONE = "America/New_York"


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("unmapped")
    copy_demo_config(folder, timezone=ZONE)
    path = folder / "voronka.yaml"
    text = path.read_text(encoding="utf-8")
    assert text.count(LATER_MAPPING[0]) == 1, "the demo config changed"
    path.write_text(text.replace(*LATER_MAPPING), encoding="utf-8")
    config = load_config(path)
    write_demo_exports(config.inbox_dir, folder / "expected", timezone=ZONE)
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    return folder


def read_export(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text(encoding="cp1251")), delimiter=";"))


def parsed(text: str, zone: zoneinfo.ZoneInfo) -> dt.datetime | None:
    """An export's local time → aware, or None where the pipeline rejects the row."""
    try:
        return dt.datetime.strptime(text.strip(), EXPORT_TIME).replace(tzinfo=zone)
    except ValueError:
        return None


def expected_rows(site: Path) -> set[tuple]:
    """(source, pipeline, stage, deals, first seen in UTC) from the exports and the config."""
    config = yaml.safe_load((site / "voronka.yaml").read_text(encoding="utf-8"))
    zone = zoneinfo.ZoneInfo(config["timezone"])
    [crm] = [source for source in config["sources"] if source["kind"] == "crm"]
    outcomes = {name.strip().lower() for names in crm["status"].values() for name in names}
    mappings: dict[tuple[str, str], list[tuple]] = {}  # (pipeline, name) → validity
    for funnel in config["funnels"]:
        for pipeline in [link["pipeline"] for link in funnel["crm"]]:
            for stage in funnel["stages"]:
                for mapped in stage.get("crm_stages") or []:
                    validity = (mapped.get("valid_from"), mapped.get("valid_to"))
                    mappings.setdefault((pipeline, mapped["name"]), []).append(validity)

    inbox = site / "data" / "inbox" / "crm"
    pipelines = {}  # each deal's pipeline in its latest export
    for path in sorted(inbox.glob("deals_*.csv")):  # the names sort by snapshot time
        for row in read_export(path):
            pipelines[row["ID сделки"]] = row["Воронка"]
    entries = set()  # the history exports overlap: each entry once
    for path in inbox.glob("history_*.csv"):
        for row in read_export(path):
            entered = parsed(row["Дата перехода"], zone)
            if entered and row["Этап"].strip() and row["ID сделки"] in pipelines:
                entries.add((row["ID сделки"], row["Этап"].strip(), entered))

    def mapped(pipeline: str, name: str, day: dt.date) -> bool:
        return any(
            (start is None or day >= start) and (end is None or day <= end)
            for start, end in mappings.get((pipeline, name), [])
        )

    funnel_pipelines = {pipeline for pipeline, _ in mappings}
    unmapped: dict[tuple[str, str], dict] = {}
    for deal, name, entered in entries:
        pipeline = pipelines[deal]
        if pipeline not in funnel_pipelines or name.lower() in outcomes:
            continue
        # Every name the demo uses maps at some date: its snapshots (2026) show mapped names.
        assert (pipeline, name) in mappings, name
        if not mapped(pipeline, name, entered.date()):
            seen = unmapped.setdefault((pipeline, name), {"deals": set(), "first": entered})
            seen["deals"].add(deal)
            seen["first"] = min(seen["first"], entered)
    return {
        (crm["name"], pipeline, name, len(seen["deals"]), seen["first"].astimezone(dt.UTC))
        for (pipeline, name), seen in unmapped.items()
    }


def test_a_stage_used_before_its_mapping_starts_is_reported_per_deal(site):
    expected = expected_rows(site)
    assert expected, "the changed mapping must leave some entries unmapped"
    with duckdb.connect(str(site / "data" / "warehouse.duckdb"), read_only=True) as con:
        rows = con.execute(
            "select source, crm_pipeline, stage, deals, first_seen from marts.unmapped_stages"
        ).fetchall()
    actual = {(*row[:4], row[4].replace(tzinfo=dt.UTC)) for row in rows}
    assert actual == expected
