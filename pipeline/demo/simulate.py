"""Seed → prospects and their event timelines. Pure: no files, no clock.

Timelines are simulated to the end (every deal is eventually won or lost); the
writers cut them at a snapshot, so "still open" is simply "closes later".
Times are naive scenario times (Europe/Moscow wall time, fixed UTC+3); the writers show
them on the wall clock of the world's `timezone` (scenario.wall_time).
"""

from __future__ import annotations

import datetime as dt
import math
import random
from dataclasses import dataclass, replace

from pipeline.demo.scenario import (
    B2B,
    B2B_UNREACHED_PER_MONTH,
    BAD_ROW_PHONES,
    DEAL_ID_START,
    DOORS,
    FUNNELS,
    INTERNAL_CALLS,
    MANAGER_BY_NAME,
    MISSED_BEFORE_SHARE,
    OWN_NUMBER,
    OWN_NUMBER_CALLS,
    OWN_NUMBERS,
    PLANTED_CHANGE,
    REPEAT_CALL_SHARE,
    TIMEZONE,
    TWO_PHONES_SHARE,
    UNKNOWN_MISSED_PER_MONTH,
    FunnelScenario,
    advance_probability,
    calendar_months,
    can_regress,
    next_month,
    skip_probability,
    wall_time,
)

ANSWERED = "ANSWERED"
NO_ANSWER = "NO ANSWER"
BUSY = "BUSY"
FAILED = "FAILED"


@dataclass(frozen=True)
class StageEntry:
    order: int  # 1-based stage order
    minute: int  # minutes after the prospect's start t0


@dataclass(frozen=True)
class ProcessPath:
    """One prospect's walk through a funnel, in minutes after t0."""

    entry_order: int  # the first recorded stage (earlier stages implied at t0)
    entries: tuple[StageEntry, ...]  # recorded entries in time order, regressions included
    reached_minutes: tuple[int | None, ...]  # true reach time per stage (implied included)
    lost_minute: int | None
    lost_reason: str | None


@dataclass(frozen=True)
class Call:
    started_at: dt.datetime
    direction: str  # inbound / outbound / internal
    extension: str  # our side
    client_phone: str | None  # E.164 of the external party; None for internal calls
    disposition: str
    ring_s: int
    talk_s: int
    other_extension: str | None = None  # the called extension of an internal call

    @property
    def answered(self) -> bool:
        return self.disposition == ANSWERED

    @property
    def ended_at(self) -> dt.datetime:
        return self.started_at + dt.timedelta(seconds=self.ring_s + self.talk_s)


@dataclass(frozen=True)
class Deal:
    deal_id: int
    created_at: dt.datetime
    entries: tuple[tuple[int, dt.datetime], ...]  # (stage order, time), won entry included
    status: str  # won / lost, at closed_at
    closed_at: dt.datetime
    lost_reason: str | None
    amount: int


@dataclass(frozen=True)
class Prospect:
    funnel_id: str
    number: int  # 1-based within the funnel, in order of t0
    t0: dt.datetime
    manager: str
    lead_source: str
    entry: str  # call / walk_in / crm
    attribute: str | None  # city (doors) or product (b2b)
    phones: tuple[str, ...]  # E.164, unique over the whole demo; the first is the main one
    path: ProcessPath
    calls: tuple[Call, ...]
    deal: Deal | None


@dataclass(frozen=True)
class World:
    seed: int
    prospects: tuple[Prospect, ...]
    noise_calls: tuple[Call, ...]  # calls that belong to no prospect
    timezone: str = TIMEZONE  # the zone whose wall times the exports are written in

    def wall(self, moment: dt.datetime) -> dt.datetime:
        return wall_time(moment, self.timezone)


class PhoneBook:
    """Draws numbers never handed out before (nor our own)."""

    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used = {"+" + number for number in OWN_NUMBERS} | set(BAD_ROW_PHONES)

    def _fresh(self, prefix: str, digits: int) -> str:
        while True:
            number = prefix + f"{self._rng.randrange(10**digits):0{digits}d}"
            if number not in self._used:
                self._used.add(number)
                return number

    def mobile(self) -> str:
        return self._fresh("+79", 9)

    def landline(self) -> str:
        return self._fresh("+7495", 7)


def weighted(rng: random.Random, options: tuple[tuple[str, float], ...]) -> str:
    names = [name for name, _ in options]
    return rng.choices(names, weights=[weight for _, weight in options])[0]


def simulate_path(
    rng: random.Random,
    funnel: FunnelScenario,
    manager: str,
    source: str,
    entry_order: int = 1,
    changed: bool = False,
) -> ProcessPath:
    """Walk the funnel from `entry_order` at t0 (scenario.py: the demo's true process)."""
    stage_count = len(funnel.stages)
    reached: list[int | None] = [0] * entry_order + [None] * (stage_count - entry_order)
    entries = [StageEntry(entry_order, 0)]
    order, minute = entry_order, 0
    lost_minute = lost_reason = None
    while order < stage_count:
        step = funnel.steps[order - 1]
        if rng.random() >= advance_probability(funnel, manager, source, order, changed):
            if order >= funnel.deal_stage_order:
                lost_minute = minute + 60 * rng.randint(*funnel.loss_delay_hours)
                lost_reason = rng.choice(step.lost_reasons)
            break
        if rng.random() < skip_probability(funnel, order):
            entries.pop()  # passed through at once: not recorded, no delay
            delay = 0
        else:
            delay = 60 * rng.randint(*step.delay_hours)
            entries.extend(_regression(rng, funnel, order, minute, delay, entries))
        minute += delay
        order += 1
        reached[order - 1] = minute
        entries.append(StageEntry(order, minute))
    return ProcessPath(entry_order, tuple(entries), tuple(reached), lost_minute, lost_reason)


def _regression(
    rng: random.Random,
    funnel: FunnelScenario,
    order: int,
    minute: int,
    delay: int,
    entries: list[StageEntry],
) -> list[StageEntry]:
    """Moving back to the previous (recorded) stage and forward again while at `order`."""
    previous_recorded = any(entry.order == order - 1 for entry in entries)
    if not (can_regress(funnel, order) and delay >= 120 and previous_recorded):
        return []
    if rng.random() >= funnel.steps[order - 1].regression_prob:
        return []
    back = rng.randint(1, delay - 2)
    again = rng.randint(back + 1, delay - 1)
    return [StageEntry(order - 1, minute + back), StageEntry(order, minute + again)]


def open_days(funnel: FunnelScenario, month: dt.date) -> list[dt.date]:
    days = []
    day = month
    while day < next_month(month):
        if day.weekday() in funnel.open_weekdays and (day.month, day.day) not in funnel.closed_days:
            days.append(day)
        day += dt.timedelta(days=1)
    return days


def business_time(rng: random.Random, funnel: FunnelScenario, days: list[dt.date]) -> dt.datetime:
    """A uniformly random minute of business time on one of `days`."""
    first, last = funnel.open_hours
    start = dt.datetime.combine(rng.choice(days), dt.time(first))
    return start + dt.timedelta(minutes=rng.randrange((last - first + 1) * 60))


def draw_start_times(
    rng: random.Random, funnel: FunnelScenario, month: dt.date
) -> list[dt.datetime]:
    days = open_days(funnel, month)
    mean = funnel.monthly_volume * funnel.seasonality[month.month - 1]
    volume = round(mean * rng.uniform(0.92, 1.08))
    return sorted(business_time(rng, funnel, days) for _ in range(volume))


def draw_amount(rng: random.Random, funnel: FunnelScenario) -> int:
    low, high = funnel.amount_range
    value = math.exp(rng.uniform(math.log(low), math.log(high)))
    return max(low, min(high, round(value / funnel.amount_step) * funnel.amount_step))


def build_deal(
    rng: random.Random, funnel: FunnelScenario, t0: dt.datetime, path: ProcessPath
) -> Deal:
    def at(minute: int) -> dt.datetime:
        return t0 + dt.timedelta(minutes=minute)

    created = path.reached_minutes[funnel.deal_stage_order - 1]
    entries = tuple(
        (entry.order, at(entry.minute))
        for entry in path.entries
        if entry.order >= funnel.deal_stage_order
    )
    if path.lost_minute is not None:
        status, closed = "lost", at(path.lost_minute)
    else:
        status, closed = "won", at(path.reached_minutes[-1])
    return Deal(0, at(created), entries, status, closed, path.lost_reason, draw_amount(rng, funnel))


def _seconds(rng: random.Random) -> dt.timedelta:
    return dt.timedelta(seconds=rng.randrange(60))


def answered_call(
    rng: random.Random,
    funnel: FunnelScenario,
    at: dt.datetime,
    direction: str,
    ext: str,
    phone: str,
) -> Call:
    return Call(
        at, direction, ext, phone, ANSWERED, rng.randint(3, 25), rng.randint(*funnel.call_talk_s)
    )


def missed_inbound(rng: random.Random, at: dt.datetime, ext: str, phone: str) -> Call:
    return Call(at, "inbound", ext, phone, NO_ANSWER, rng.randint(10, 40), 0)


def failed_outbound(rng: random.Random, at: dt.datetime, ext: str, phone: str) -> Call:
    disposition = rng.choices((NO_ANSWER, BUSY, FAILED), weights=(0.70, 0.25, 0.05))[0]
    ring = {NO_ANSWER: rng.randint(15, 45), BUSY: rng.randint(1, 6), FAILED: 0}[disposition]
    return Call(at, "outbound", ext, phone, disposition, ring, 0)


def prospect_calls(
    rng: random.Random,
    funnel: FunnelScenario,
    manager: str,
    phone: str,
    t0: dt.datetime,
    deal: Deal | None,
) -> list[Call]:
    """The qualifying call at t0, the unanswered tries before it, a repeat call while open."""
    ext = MANAGER_BY_NAME[manager].extension
    direction = "inbound" if funnel.entry == "inbound_call" else "outbound"
    calls = []
    if direction == "inbound" and rng.random() < MISSED_BEFORE_SHARE:
        before = dt.timedelta(minutes=rng.randint(5, 360))
        calls.append(missed_inbound(rng, t0 - before + _seconds(rng), ext, phone))
    if direction == "outbound":
        minutes_before = sorted(rng.sample(range(30, 4320), rng.randint(0, 2)), reverse=True)
        for minutes in minutes_before:
            at = t0 - dt.timedelta(minutes=minutes) + _seconds(rng)
            calls.append(failed_outbound(rng, at, ext, phone))
    calls.append(answered_call(rng, funnel, t0 + _seconds(rng), direction, ext, phone))
    if deal is not None and funnel.repeat_calls and rng.random() < REPEAT_CALL_SHARE:
        open_minutes = int((deal.closed_at - deal.created_at).total_seconds() // 60)
        if open_minutes >= 120:
            at = deal.created_at + dt.timedelta(minutes=rng.randint(1, open_minutes - 60))
            calls.append(answered_call(rng, funnel, at + _seconds(rng), direction, ext, phone))
    return calls


def draw_phones(
    rng: random.Random, phones: PhoneBook, funnel: FunnelScenario, has_deal: bool
) -> tuple[str, ...]:
    landline_first = funnel.entry == "crm"
    main = phones.landline() if landline_first else phones.mobile()
    if has_deal and rng.random() < TWO_PHONES_SHARE:
        return (main, phones.mobile() if landline_first else phones.landline())
    return (main,)


def simulate_prospect(
    rng: random.Random, phones: PhoneBook, funnel: FunnelScenario, number: int, t0: dt.datetime
) -> Prospect:
    manager = weighted(rng, funnel.managers)
    source = weighted(rng, funnel.sources)
    attribute = weighted(rng, funnel.attribute_values) if funnel.attribute_values else None
    if funnel.entry == "crm":
        entry = "crm"
    else:
        entry = "walk_in" if rng.random() < funnel.walk_in_share else "call"
    entry_order = funnel.deal_stage_order if entry == "walk_in" else 1
    changed = PLANTED_CHANGE.applies(funnel.funnel_id, manager, t0)
    path = simulate_path(rng, funnel, manager, source, entry_order, changed)
    has_deal = path.reached_minutes[funnel.deal_stage_order - 1] is not None
    deal = build_deal(rng, funnel, t0, path) if has_deal else None
    prospect_phones = draw_phones(rng, phones, funnel, has_deal)
    calls = (
        prospect_calls(rng, funnel, manager, prospect_phones[0], t0, deal)
        if entry == "call"
        else []
    )
    return Prospect(
        funnel_id=funnel.funnel_id,
        number=number,
        t0=t0,
        manager=manager,
        lead_source=source,
        entry=entry,
        attribute=attribute,
        phones=prospect_phones,
        path=path,
        calls=tuple(calls),
        deal=deal,
    )


def simulate_funnel(
    rng: random.Random, phones: PhoneBook, funnel: FunnelScenario
) -> list[Prospect]:
    starts = [t0 for month in calendar_months() for t0 in draw_start_times(rng, funnel, month)]
    return [
        simulate_prospect(rng, phones, funnel, number, t0) for number, t0 in enumerate(starts, 1)
    ]


def _extensions(funnel: FunnelScenario) -> list[str]:
    return [MANAGER_BY_NAME[name].extension for name, _ in funnel.managers]


def simulate_noise(rng: random.Random, phones: PhoneBook) -> list[Call]:
    """Calls that make no entity: leaks, unreached cold numbers, our own number, internal."""
    calls: list[Call] = []
    months = calendar_months()
    for month in months:
        doors_days, b2b_days = open_days(DOORS, month), open_days(B2B, month)
        for _ in range(UNKNOWN_MISSED_PER_MONTH):
            at = business_time(rng, DOORS, doors_days) + _seconds(rng)
            calls.append(missed_inbound(rng, at, rng.choice(_extensions(DOORS)), phones.mobile()))
        for _ in range(B2B_UNREACHED_PER_MONTH):
            phone, ext = phones.mobile(), rng.choice(_extensions(B2B))
            first = business_time(rng, B2B, b2b_days)
            for attempt in range(rng.randint(1, 3)):
                at = first + dt.timedelta(days=attempt, minutes=rng.randint(0, 90)) + _seconds(rng)
                calls.append(failed_outbound(rng, at, ext, phone))
    for _ in range(OWN_NUMBER_CALLS):
        at = business_time(rng, DOORS, open_days(DOORS, rng.choice(months))) + _seconds(rng)
        ext = rng.choice(_extensions(DOORS))
        calls.append(answered_call(rng, DOORS, at, "inbound", ext, "+" + OWN_NUMBER))
    for _ in range(INTERNAL_CALLS):
        funnel = rng.choice(FUNNELS)
        caller, called = rng.sample(_extensions(funnel), 2)
        at = business_time(rng, B2B, open_days(B2B, rng.choice(months))) + _seconds(rng)
        calls.append(
            Call(
                at,
                "internal",
                caller,
                None,
                ANSWERED,
                rng.randint(2, 15),
                rng.randint(20, 300),
                called,
            )
        )
    return calls


def assign_deal_ids(rng: random.Random, prospects: list[Prospect]) -> list[Prospect]:
    """CRM ids grow with creation time across all pipelines, with small gaps."""
    funnel_rank = {funnel.funnel_id: rank for rank, funnel in enumerate(FUNNELS)}
    with_deals = sorted(
        (p for p in prospects if p.deal is not None),
        key=lambda p: (p.deal.created_at, funnel_rank[p.funnel_id], p.number),
    )
    ids: dict[tuple[str, int], int] = {}
    next_id = DEAL_ID_START
    for prospect in with_deals:
        next_id += rng.randint(1, 5)
        ids[(prospect.funnel_id, prospect.number)] = next_id
    return [
        replace(p, deal=replace(p.deal, deal_id=ids[(p.funnel_id, p.number)])) if p.deal else p
        for p in prospects
    ]


def build_world(seed: int, timezone: str = TIMEZONE) -> World:
    """The same prospects and instants in any zone; only the written wall times move."""
    phones = PhoneBook(random.Random(f"{seed}:phones"))
    prospects: list[Prospect] = []
    for funnel in FUNNELS:
        prospects.extend(
            simulate_funnel(random.Random(f"{seed}:{funnel.funnel_id}"), phones, funnel)
        )
    noise = simulate_noise(random.Random(f"{seed}:noise"), phones)
    prospects = assign_deal_ids(random.Random(f"{seed}:ids"), prospects)
    return World(seed, tuple(prospects), tuple(noise), timezone)
