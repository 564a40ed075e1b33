"""Counting the written demo files by the funnel semantics (docs/contracts.md) gives back
exactly the simulated prospects: one entity each, reaching the stages their timelines
reached.

A deliberately naive re-implementation of the counting rules (calls link to deals,
call leads by episode, implied reach, cohort window) on the files themselves, so the
noise (missed calls, repeat calls, own numbers, duplicate rows and files, bad rows)
is proven not to change any count.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections import Counter, defaultdict

import pytest

from pipeline.config import load_config
from pipeline.demo import write_demo_exports
from pipeline.demo.scenario import FUNNEL_BY_ID, LOST_STATUS, SNAPSHOT_LOCAL, WON_STATUS
from pipeline.demo.simulate import build_world
from pipeline.paths import REPO_ROOT

CRM_TIME = "%d.%m.%Y %H:%M"
PBX_TIME = "%Y-%m-%d %H:%M:%S"


def e164(raw: str) -> str:
    digits = "".join(ch for ch in raw if ch.isdigit())
    if len(digits) == 10:
        digits = "7" + digits
    if len(digits) == 11 and digits[0] == "8":
        digits = "7" + digits[1:]
    return "+" + digits


def parse(value: str, pattern: str) -> dt.datetime | None:
    try:
        return dt.datetime.strptime(value, pattern)
    except ValueError:
        return None


def read_calls(inbox) -> list[dict]:
    calls = {}
    for path in sorted((inbox / "pbx").glob("Master*.csv")):
        for row in csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")):
            if len(row) != 17 or parse(row[9], PBX_TIME) is None:
                continue
            if row[3] == "from-trunk":
                direction, client, line = "inbound", row[1], row[2]
            elif len(row[2]) > 4:
                direction, client, line = "outbound", row[2], row[0]
            else:
                continue  # internal
            calls[row[16]] = {
                "direction": direction,
                "client": e164(client),
                "line": "+" + line,
                "answered": row[14] == "ANSWERED",
                "at": parse(row[9], PBX_TIME),
            }
    return list(calls.values())


def read_crm(inbox):
    deals, history = {}, defaultdict(list)
    for path in sorted((inbox / "crm").glob("deals_*.csv")):  # later snapshots win
        text = path.read_bytes().decode("cp1251")
        for row in list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]:
            created = parse(row[7], CRM_TIME)
            if created is None:
                continue
            deals[row[0]] = {
                "pipeline": row[2],
                "created": created,
                "closed": parse(row[8], CRM_TIME),
                "phones": {e164(part) for part in row[10].split(",")},
            }
    text = (inbox / "crm/history_2026-11-01_0600.csv").read_bytes().decode("cp1251")
    for row in list(csv.reader(io.StringIO(text, newline=""), delimiter=";"))[1:]:
        at = parse(row[2], CRM_TIME)
        if at is not None and row[1] != LOST_STATUS:
            history[row[0]].append((row[1], at))
    return deals, history


def stage_order_of(funnel, name: str, on: dt.date) -> int:
    for order, stage in enumerate(funnel.stages, 1):
        if stage.crm_status == "won" and name == WON_STATUS:
            return order
        for crm_stage in stage.crm_stages:
            if crm_stage.name == name and (crm_stage.valid_from or on) <= on <= (
                crm_stage.valid_to or on
            ):
                return order
    raise AssertionError(f"unmapped stage {name!r} on {on}")


def count_entities(config, inbox) -> Counter:
    """(funnel, cohort month, stage order) → entities reaching it within the window."""
    calls, (deals, history) = read_calls(inbox), read_crm(inbox)
    excluded = set(config.exclude_phones)
    counts: Counter = Counter()
    for funnel in config.funnels:
        pipelines = {crm.pipeline for crm in funnel.crm}
        funnel_deals = {key: deal for key, deal in deals.items() if deal["pipeline"] in pipelines}
        entries = defaultdict(list)  # entity → [(stage order, time)]
        for key in funnel_deals:
            entries[("deal", key)] += [
                (stage_order_of(funnel, n, at.date()), at) for n, at in history[key]
            ]
        by_phone = defaultdict(list)
        for key, deal in funnel_deals.items():
            for phone in deal["phones"]:
                by_phone[phone].append(key)
        call_stages = [
            (order, stage.calls) for order, stage in enumerate(funnel.stages, 1) if stage.calls
        ]
        unlinked = defaultdict(list)
        for call in sorted(calls, key=lambda c: c["at"]):
            if (
                funnel.calls is None
                or call["line"] not in funnel.calls.lines
                or call["client"] in excluded
            ):
                continue
            for order, rule in call_stages:
                if rule.direction != call["direction"] or (rule.answered and not call["answered"]):
                    continue
                candidates = by_phone.get(call["client"], [])
                window_end = call["at"] + dt.timedelta(days=funnel.link_days)
                ahead = [
                    k for k in candidates if call["at"] <= funnel_deals[k]["created"] <= window_end
                ]
                open_now = [
                    k
                    for k in candidates
                    if funnel_deals[k]["created"] <= call["at"]
                    and (
                        funnel_deals[k]["closed"] is None or call["at"] <= funnel_deals[k]["closed"]
                    )
                ]
                if ahead:
                    entries[("deal", min(ahead, key=lambda k: funnel_deals[k]["created"]))].append(
                        (order, call["at"])
                    )
                elif open_now:
                    entries[("deal", open_now[0])].append((order, call["at"]))
                else:
                    unlinked[call["client"]].append((order, call["at"]))
        for phone, phone_calls in unlinked.items():
            episode, previous = 0, None
            for order, at in phone_calls:
                if previous is not None and at - previous > dt.timedelta(days=funnel.window_days):
                    episode += 1
                entries[("lead", phone, episode)].append((order, at))
                previous = at
        for entity_entries in entries.values():
            anchor = min(at for _, at in entity_entries)
            month = anchor.date().replace(day=1)
            for order in range(1, len(funnel.stages) + 1):
                times = [at for o, at in entity_entries if o >= order]
                if times and min(times) <= anchor + dt.timedelta(days=funnel.window_days):
                    counts[(funnel.id, month, order)] += 1
    return counts


def realised(world) -> Counter:
    """What each simulated prospect reached within its window, as far as the snapshot shows."""
    counts: Counter = Counter()
    for prospect in world.prospects:
        window = FUNNEL_BY_ID[prospect.funnel_id].window_days * 1440
        month = prospect.t0.date().replace(day=1)
        for order, minute in enumerate(prospect.path.reached_minutes, 1):
            at = None if minute is None else prospect.t0 + dt.timedelta(minutes=minute)
            if at is not None and minute <= window and at <= SNAPSHOT_LOCAL:
                counts[(prospect.funnel_id, month, order)] += 1
    return counts


@pytest.fixture(scope="module")
def inbox(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    write_demo_exports(root / "inbox", root / "expected")
    return root / "inbox"


def test_counting_the_files_gives_back_every_prospect_and_its_stages(inbox):
    config = load_config(REPO_ROOT / "voronka.yaml")
    counted = count_entities(config, inbox)
    expected = realised(build_world(20261101))
    assert counted == expected
