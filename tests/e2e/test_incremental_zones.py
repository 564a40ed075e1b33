"""The cohort boundary of a delivery of calls is the local month of its first call, in the
config's zone, not its UTC month.

West of UTC a call in the last hours of a local month is in the next UTC month: New York's
30 September 2026, 22:00 is 1 October, 02:00 UTC. A number that first calls then opens a
call-lead episode of the September cohort, so a delivery starting with that call must
recompute September (a UTC month would leave it out and the marts would lack the
episode), and every mart equals a full rebuild of the same landing. (East of UTC the
local month is the later one: tests/e2e/test_incremental.py, in Moscow, recomputes no
cohort of the month before the new month's calls, whose first is 21:00 UTC the day
before.)
"""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import duckdb

from bench.checks import compare_marts
from pipeline.config import Config, load_config
from pipeline.demo.scenario import DOORS_LINE, TIMEZONE
from pipeline.demo.simulate import Call
from pipeline.demo.writers import asterisk_line, call_fields
from pipeline.incremental import plan_rebuild
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse

ZONE = "America/New_York"
CONFIG = f"""\
timezone: {ZONE}
locales: [en]
paths: {{inbox: inbox, landing: landing, warehouse: warehouse/w.duckdb, reports: reports}}
privacy: {{phone_hash_key: test-key}}
sources:
  - name: pbx
    kind: calls
    preset: asterisk
    files: "pbx/Master*.csv"
  - name: crm
    kind: crm
    preset: generic
    files: "crm/deals_*.csv"
    columns: {{deal_id: "Deal", created_at: "Created", stage: "Stage", manager: "Owner",
              client_phone: "Phone"}}
    status: {{won: ["Won"], lost: ["Lost"]}}
    formats: {{date: "%Y-%m-%d %H:%M", delimiter: ","}}
funnels:
  - id: doors
    name: {{ru: "Двери", en: "Doors"}}
    calls: {{source: pbx, lines: ["+{DOORS_LINE}"]}}
    crm: [{{source: crm}}]
    window_days: 30
    stages:
      - {{key: call, name: {{ru: "Звонок", en: "Call"}},
         calls: {{direction: inbound, answered: true}}}}
      - {{key: lead, name: {{ru: "Лид", en: "Lead"}}, crm_stages: [{{name: "New"}}]}}
      - {{key: won, name: {{ru: "Оплата", en: "Won"}}, crm_status: won}}
"""
REGULARS = [f"+1212555{n:04d}" for n in range(6)]  # call in July, August and September
LATE_CALLER = "+12125559999"  # first calls on 30 September, 22:00 in New York


def inbound(local: dt.datetime, phone: str) -> Call:
    """An answered inbound call at New York's wall time `local` (a Call's start is the
    demo's Moscow wall time)."""
    instant = local.replace(tzinfo=ZoneInfo(ZONE)).astimezone(ZoneInfo(TIMEZONE))
    return Call(instant.replace(tzinfo=None), "inbound", "101", phone, "ANSWERED", 5, 90)


def put_calls(config: Config, name: str, calls: list[Call], first_sequence: int) -> None:
    lines = [
        asterisk_line(call_fields(call, first_sequence + n, 0, zone=ZONE))
        for n, call in enumerate(calls)
    ]
    path = config.inbox_dir / "pbx" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(lines), encoding="utf-8")


def history(config: Config) -> None:
    """The regulars' calls of July to September (10:00 local) and a deals export of 25
    September with two of them."""
    calls = [
        inbound(dt.datetime(2026, month, 3 + n, 10), phone)
        for month in (7, 8, 9)
        for n, phone in enumerate(REGULARS)
    ]
    put_calls(config, "Master-2026-07-09.csv", calls, 1000)
    deals = config.inbox_dir / "crm" / "deals_2026-09-25_0600.csv"
    deals.parent.mkdir(parents=True, exist_ok=True)
    deals.write_text(
        "Deal,Created,Stage,Owner,Phone\n"
        f"D1,2026-08-05 11:00,Won,Anna Smirnova,{REGULARS[0]}\n"
        f"D2,2026-09-06 11:00,New,Anna Smirnova,{REGULARS[1]}\n",
        encoding="utf-8",
    )


def build_history(root: Path) -> Config:
    root.mkdir(parents=True)
    (root / "voronka.yaml").write_text(CONFIG, encoding="utf-8")
    config = load_config(root / "voronka.yaml")
    history(config)
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    return config


def episodes_by_cohort(warehouse: Path) -> dict[dt.date, int]:
    with duckdb.connect(str(warehouse), read_only=True) as con:
        rows = con.execute(
            "select cohort_month, count(distinct entity_id) from marts.funnel_entities "
            "where entity_id like 'call:%' group by all"
        ).fetchall()
    return dict(rows)


def assert_equals_full_rebuild(config: Config, tmp_path: Path) -> None:
    incremental = tmp_path / "incremental.duckdb"
    shutil.copy(config.warehouse_path, incremental)
    config.warehouse_path.unlink()
    build_warehouse(config)
    comparison = compare_marts(incremental, config.warehouse_path)
    assert comparison["equal"], comparison


def test_a_late_call_west_of_utc_recomputes_its_local_month(tmp_path: Path) -> None:
    config = build_history(tmp_path / "late")
    built = episodes_by_cohort(config.warehouse_path)
    late = [
        inbound(dt.datetime(2026, 9, 30, 22), LATE_CALLER),
        inbound(dt.datetime(2026, 10, 5, 10), REGULARS[2]),
    ]
    put_calls(config, "Master-2026-10.csv", late, 5000)
    ingest_inbox(config, settle_seconds=0)
    plan = plan_rebuild(config, config.warehouse_path)
    assert not plan.full, plan.describe()
    assert plan.rebuild_from["doors"] == dt.date(2026, 9, 1), plan.describe()
    build_warehouse(config)
    # The late caller's episode is of the September cohort, and the build has it.
    september = dt.date(2026, 9, 1)
    assert (
        episodes_by_cohort(config.warehouse_path).get(september, 0) == built.get(september, 0) + 1
    )
    assert_equals_full_rebuild(config, tmp_path)
