"""A Twilio leg dialed for a client's call is that call, not a second client.

CA06 is a client's inbound call on the funnel's line; CA07 the leg Twilio dialed to the
agent's cell for it (parent_call_sid CA06, from the line). Counted by hand from the rows
below: March has one client (CA06's), who reached the inbound stage and never an outbound
one, and no call lead besides; it was one client and a 50 % "conversion" to the agent's
cell, and two call leads, before. In April CA09's leg CA10 rang out unanswered: Twilio
completed CA09 (its greeting), but no one answered the client: a missed call (before,
its completion, 45 s, was taken for a conversation). CA08 (no leg)
was answered but talked 10 s, under a conversation's 30 s: April has no client at the
inbound stage."""

from __future__ import annotations

import duckdb

from pipeline.config import load_config
from pipeline.ingest import ingest_inbox
from pipeline.warehouse import build_warehouse

CONFIG = """\
timezone: America/Chicago
phone_country: US
locales: [en]
paths: {inbox: inbox, landing: data/landing, warehouse: data/w.duckdb, reports: data/reports}
privacy: {phone_hash_key: test-key}
sources:
  - {name: twilio, kind: calls, preset: twilio, files: "twilio/*.csv"}
funnels:
  - id: us
    name: {ru: "US", en: "US"}
    calls: {source: twilio, lines: ["+13125550100"]}
    stages:
      - {key: inbound, name: {ru: "Вх", en: "Inbound call"},
         calls: {direction: inbound, answered: true}}
      - {key: outbound, name: {ru: "Исх", en: "Follow-up call"},
         calls: {direction: outbound, answered: true}}
"""
LOG = """\
sid,parent_call_sid,date_created,start_time,end_time,duration,from,to,direction,status,price,price_unit,answered_by
CA06,,"Fri, 13 Mar 2026 15:00:00 +0000","Fri, 13 Mar 2026 15:00:00 +0000","Fri, 13 Mar 2026 15:01:35 +0000",95,+17735550106,+13125550100,inbound,completed,-0.0085,USD,
CA07,CA06,"Fri, 13 Mar 2026 15:00:05 +0000","Fri, 13 Mar 2026 15:00:05 +0000","Fri, 13 Mar 2026 15:01:35 +0000",90,+13125550100,+13125559999,outbound-dial,completed,-0.0085,USD,
CA08,,"Wed, 15 Apr 2026 15:00:00 +0000","Wed, 15 Apr 2026 15:00:00 +0000","Wed, 15 Apr 2026 15:00:10 +0000",10,+17735550199,+13125550100,inbound,completed,-0.0085,USD,
CA09,,"Thu, 16 Apr 2026 15:00:00 +0000","Thu, 16 Apr 2026 15:00:00 +0000","Thu, 16 Apr 2026 15:00:45 +0000",45,+17735550177,+13125550100,inbound,completed,-0.0085,USD,
CA10,CA09,"Thu, 16 Apr 2026 15:00:05 +0000","Thu, 16 Apr 2026 15:00:05 +0000",,0,+13125550100,+13125559999,outbound-dial,no-answer,0,USD,
"""  # noqa: E501


def test_a_leg_dialed_for_a_clients_call_is_no_second_client(tmp_path) -> None:
    (tmp_path / "voronka.yaml").write_text(CONFIG, encoding="utf-8")
    config = load_config(tmp_path / "voronka.yaml")
    (config.inbox_dir / "twilio").mkdir(parents=True)
    (config.inbox_dir / "twilio" / "calls.csv").write_text(LOG, encoding="utf-8")
    ingest_inbox(config, settle_seconds=0)
    build_warehouse(config)
    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        cohort = con.execute(
            "select stage_key, entities from marts.funnel_stage_monthly"
            " where view = 'cohort' and segment_type = 'total' and month = date '2026-03-01'"
            " order by stage_order"
        ).fetchall()
        april = con.execute(
            "select stage_key, entities from marts.funnel_stage_monthly"
            " where view = 'cohort' and segment_type = 'total' and month = date '2026-04-01'"
            " order by stage_order"
        ).fetchall()
        leaks = con.execute(
            "select month, missed_inbound, not_called_back, call_leads_never_in_crm"
            " from marts.call_leaks where manager = 'all' and month in"
            " (date '2026-03-01', date '2026-04-01') order by month"
        ).fetchall()
    assert cohort == [("inbound", 1), ("outbound", 0)]
    assert april == [("inbound", 0), ("outbound", 0)]
    months = [str(month) for month, *_ in leaks]
    # CA09 is April's missed call; whether it was called back is not known yet (the data
    # end 45 s after it, inside the 24 h callback window)
    assert [tuple(row[1:]) for row in leaks] == [(0, 0, 1), (1, 0, 0)], months
