"""The demo's process at a call centre's scale, streamed to disk month by month.

`write_scaled_exports` runs the same process as `write_demo_exports` (scenario.py's
funnels, rates, delays, skips, regressions, noise; simulate.py's walk through a funnel;
writers.py's row formats) with prospect volumes multiplied, more noise calls (unreached
cold numbers, missed calls from unknown numbers) and optionally more managers, and
writes the exports without holding them in memory: one month of prospects at a time,
calls flushed in start order once no later month can precede them. Phones come from a
counter through a bijection (no set of every number handed out), so memory does not
grow with the volume. The default demo (`write_demo_exports`) is untouched.

Layout (same names as the demo, so the demo config reads it): pbx/Master-2025.csv and
pbx/Master.csv (two overlapping days, a few broken rows), crm/deals_* and
crm/history_* at three snapshots (cp1251, `;`, CRLF, a few broken rows).

The last calendar month is a delivery of its own, so a bench can time one new month on
top of the history: its calls are in `pbx/Master-<YYYY-MM>.csv` (not in Master.csv, which
ends the day before), and the CRM is also exported at the month's first moment. The
history delivery is every other file (calls and CRM up to the month's start); the new
month's delivery is its calls log and the final export (`StreamSummary.new_month_files`).
"""

from __future__ import annotations

import csv
import datetime as dt
import heapq
import random
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass, field, replace
from pathlib import Path

from pipeline.demo.scenario import (
    BAD_CALL_ROWS,
    BAD_DEAL_ROWS,
    BAD_HISTORY_ROWS,
    EARLIER_SNAPSHOT_LOCAL,
    FUNNELS,
    MANAGERS,
    MASTER_2025_END,
    MASTER_START,
    MISSED_BEFORE_SHARE,
    OWN_NUMBERS,
    REPEAT_CALL_SHARE,
    SNAPSHOT_LOCAL,
    TWO_PHONES_SHARE,
    FunnelScenario,
    Manager,
    calendar_months,
    next_month,
)
from pipeline.demo.simulate import (
    Call,
    Prospect,
    answered_call,
    build_deal,
    business_time,
    draw_start_times,
    failed_outbound,
    missed_inbound,
    open_days,
    simulate_path,
    weighted,
)
from pipeline.demo.writers import (
    CRM_DELIMITER,
    CRM_ENCODING,
    CRM_LINE_END,
    CRM_TIME,
    DEALS_HEADER,
    HISTORY_HEADER,
    DealView,
    asterisk_line,
    bad_call_lines,
    bad_deal_rows,
    bad_history_rows,
    call_fields,
    crm_phone,
    deal_row,
    history_rows,
    snapshot_file_name,
)

# Synthetic managers beyond the demo's twelve: surname × first name, all distinct.
_SURNAMES = [
    "Андреев",
    "Белов",
    "Григорьев",
    "Дмитриев",
    "Егоров",
    "Жуков",
    "Зайцев",
    "Ильин",
    "Калинин",
    "Ларионов",
    "Макаров",
    "Никитин",
    "Орлов",
    "Петров",
    "Романов",
    "Степанов",
    "Тарасов",
    "Устинов",
    "Филиппов",
    "Харитонов",
]
_FIRST_NAMES = [
    "Алексей",
    "Борис",
    "Виктор",
    "Глеб",
    "Денис",
    "Евгений",
    "Захар",
    "Кирилл",
    "Леонид",
    "Михаил",
]
# Calls start at most this long before their prospect's t0 (failed cold-call tries: 3 days).
_EARLIEST_CALL_LEAD = dt.timedelta(days=4)


@dataclass(frozen=True)
class ScaleSpec:
    """How far to scale the demo: prospects × `volume`, noise calls per month, managers."""

    name: str
    volume: float  # multiplier of every funnel's monthly prospect volume
    missed_per_month: int  # missed inbound calls from unknown numbers (doors line)
    unreached_per_month: int  # cold-call numbers never answered, 1–3 tries each (b2b line)
    managers: int = 0  # 0: the demo's twelve; else this many, spread over the funnels
    months: int = 24


@dataclass
class StreamSummary:
    files: list[str] = field(default_factory=list)
    rows: dict[str, int] = field(default_factory=dict)  # records per file, bad rows included
    bad_rows: dict[str, int] = field(default_factory=dict)
    prospects: dict[str, int] = field(default_factory=dict)
    deals: int = 0
    calls: int = 0  # distinct calls (the two overlapping days counted once)
    managers: list[Manager] = field(default_factory=list)
    new_month: str = ""  # "YYYY-MM": the last calendar month, delivered on its own
    new_month_files: list[str] = field(default_factory=list)  # its calls log, the final export


class PhoneCounter:
    """Unique numbers without remembering them: counter → affine bijection mod 10^n."""

    def __init__(self) -> None:
        self._mobile = 0
        self._landline = 0
        self._taken = {"+" + number for number in OWN_NUMBERS}

    def mobile(self) -> str:
        while True:
            self._mobile += 1
            number = f"+79{(self._mobile * 387_420_489 + 12_345) % 10**9:09d}"
            # +7900000xxxx is reserved for the deliberately broken rows.
            if not number.startswith("+7900000") and number not in self._taken:
                return number

    def landline(self) -> str:
        while True:
            self._landline += 1
            number = f"+7495{(self._landline * 4_782_969 + 321) % 10**7:07d}"
            if number not in self._taken:
                return number


def scaled_managers(count: int) -> list[Manager]:
    if count <= 0:
        return list(MANAGERS)
    names = [f"{s} {f}" for f in _FIRST_NAMES for s in _SURNAMES][:count]
    if len(names) < count:
        raise ValueError(f"at most {len(_SURNAMES) * len(_FIRST_NAMES)} synthetic managers")
    return [
        Manager(name, str(1000 + index), (f"{name.split()[0]} {name.split()[1][0]}.",))
        for index, name in enumerate(names)
    ]


def scaled_funnels(spec: ScaleSpec, managers: list[Manager]) -> tuple[FunnelScenario, ...]:
    """The demo funnels with volume × spec.volume; with synthetic managers, each funnel
    gets a share of them, cycling the demo managers' multipliers (weak/strong kept)."""
    funnels = []
    if spec.managers <= 0:
        for funnel in FUNNELS:
            funnels.append(
                replace(funnel, monthly_volume=round(funnel.monthly_volume * spec.volume))
            )
        return tuple(funnels)
    seats = {"doors": 0.5, "b2b": 0.35, "key_accounts": 0.15}
    start = 0
    for number, funnel in enumerate(FUNNELS):
        size = (
            len(managers) - start
            if number == len(FUNNELS) - 1
            else max(2, round(len(managers) * seats[funnel.funnel_id]))
        )
        own = managers[start : start + size]
        start += size
        originals = [name for name, _ in funnel.managers]
        multipliers = {
            m.name: funnel.manager_multipliers.get(originals[i % len(originals)], {})
            for i, m in enumerate(own)
        }
        weakest = (own[originals.index(funnel.weakest[0])].name, funnel.weakest[1])
        strongest = (own[originals.index(funnel.strongest[0])].name, funnel.strongest[1])
        funnels.append(
            replace(
                funnel,
                monthly_volume=round(funnel.monthly_volume * spec.volume),
                managers=tuple((m.name, 1.0) for m in own),
                manager_multipliers=multipliers,
                weakest=weakest,
                strongest=strongest,
            )
        )
    return tuple(funnels)


# --- the process, one month at a time --------------------------------------------------


class _World:
    def __init__(self, spec: ScaleSpec, seed: int) -> None:
        self.spec = spec
        self.seed = seed
        self.managers = scaled_managers(spec.managers)
        self.by_name = {m.name: m for m in self.managers}
        self.funnels = scaled_funnels(spec, self.managers)
        self.phones = PhoneCounter()
        self.rng = {f.funnel_id: random.Random(f"{seed}:{f.funnel_id}") for f in self.funnels}
        self.noise_rng = random.Random(f"{seed}:noise")
        self.ids_rng = random.Random(f"{seed}:ids")
        self.views_rng = random.Random(f"{seed}:crm-views")
        self.numbers = {f.funnel_id: 0 for f in self.funnels}
        self.next_deal_id = 1_200_000

    def extension(self, manager: str) -> str:
        return self.by_name[manager].extension

    def extensions(self, funnel: FunnelScenario) -> list[str]:
        return [self.extension(name) for name, _ in funnel.managers]


def _prospect_calls(w: _World, rng, funnel, manager, phone, t0, deal) -> list[Call]:
    """simulate.prospect_calls with the scaled manager table (same draws, same order)."""
    ext = w.extension(manager)
    direction = "inbound" if funnel.entry == "inbound_call" else "outbound"
    calls = []
    seconds = lambda: dt.timedelta(seconds=rng.randrange(60))  # noqa: E731
    if direction == "inbound" and rng.random() < MISSED_BEFORE_SHARE:
        before = dt.timedelta(minutes=rng.randint(5, 360))
        calls.append(missed_inbound(rng, t0 - before + seconds(), ext, phone))
    if direction == "outbound":
        minutes_before = sorted(rng.sample(range(30, 4320), rng.randint(0, 2)), reverse=True)
        for minutes in minutes_before:
            at = t0 - dt.timedelta(minutes=minutes) + seconds()
            calls.append(failed_outbound(rng, at, ext, phone))
    calls.append(answered_call(rng, funnel, t0 + seconds(), direction, ext, phone))
    if deal is not None and funnel.repeat_calls and rng.random() < REPEAT_CALL_SHARE:
        open_minutes = int((deal.closed_at - deal.created_at).total_seconds() // 60)
        if open_minutes >= 120:
            at = deal.created_at + dt.timedelta(minutes=rng.randint(1, open_minutes - 60))
            calls.append(answered_call(rng, funnel, at + seconds(), direction, ext, phone))
    return calls


def _prospect(w: _World, funnel: FunnelScenario, t0: dt.datetime) -> Prospect:
    rng = w.rng[funnel.funnel_id]
    w.numbers[funnel.funnel_id] += 1
    manager = weighted(rng, funnel.managers)
    source = weighted(rng, funnel.sources)
    attribute = weighted(rng, funnel.attribute_values) if funnel.attribute_values else None
    if funnel.entry == "crm":
        entry = "crm"
    else:
        entry = "walk_in" if rng.random() < funnel.walk_in_share else "call"
    entry_order = funnel.deal_stage_order if entry == "walk_in" else 1
    path = simulate_path(rng, funnel, manager, source, entry_order)
    has_deal = path.reached_minutes[funnel.deal_stage_order - 1] is not None
    deal = build_deal(rng, funnel, t0, path) if has_deal else None
    landline_first = funnel.entry == "crm"
    main = w.phones.landline() if landline_first else w.phones.mobile()
    phones: tuple[str, ...] = (main,)
    if has_deal and rng.random() < TWO_PHONES_SHARE:
        phones = (main, w.phones.mobile() if landline_first else w.phones.landline())
    calls = _prospect_calls(w, rng, funnel, manager, phones[0], t0, deal) if entry == "call" else []
    return Prospect(
        funnel.funnel_id,
        w.numbers[funnel.funnel_id],
        t0,
        manager,
        source,
        entry,
        attribute,
        phones,
        path,
        tuple(calls),
        deal,
    )


def _noise(w: _World, month: dt.date) -> list[Call]:
    rng = w.noise_rng
    doors = next(f for f in w.funnels if f.funnel_id == "doors")
    b2b = next(f for f in w.funnels if f.funnel_id == "b2b")
    doors_days, b2b_days = open_days(doors, month), open_days(b2b, month)
    doors_ext, b2b_ext = w.extensions(doors), w.extensions(b2b)
    calls = []
    for _ in range(w.spec.missed_per_month):
        at = business_time(rng, doors, doors_days) + dt.timedelta(seconds=rng.randrange(60))
        calls.append(missed_inbound(rng, at, rng.choice(doors_ext), w.phones.mobile()))
    for _ in range(w.spec.unreached_per_month):
        phone, ext = w.phones.mobile(), rng.choice(b2b_ext)
        first = business_time(rng, b2b, b2b_days)
        for attempt in range(rng.randint(1, 3)):
            at = first + dt.timedelta(
                days=attempt, minutes=rng.randint(0, 90), seconds=rng.randrange(60)
            )
            calls.append(failed_outbound(rng, at, ext, phone))
    return calls


def _month_prospects(w: _World, month: dt.date) -> list[Prospect]:
    prospects = []
    for funnel in w.funnels:
        for t0 in draw_start_times(w.rng[funnel.funnel_id], funnel, month):
            prospects.append(_prospect(w, funnel, t0))
    rank = {f.funnel_id: i for i, f in enumerate(w.funnels)}
    with_deals = sorted(
        (p for p in prospects if p.deal is not None),
        key=lambda p: (p.deal.created_at, rank[p.funnel_id], p.number),
    )
    ids = {}
    for p in with_deals:
        w.next_deal_id += w.ids_rng.randint(1, 5)
        ids[(p.funnel_id, p.number)] = w.next_deal_id
    return [
        replace(p, deal=replace(p.deal, deal_id=ids[(p.funnel_id, p.number)])) if p.deal else p
        for p in prospects
    ]


# --- writing -------------------------------------------------------------------------


class _CrmWriter:
    def __init__(self, stack: ExitStack, path: Path, header) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = stack.enter_context(path.open("w", encoding=CRM_ENCODING, newline=""))
        self.writer = csv.writer(handle, delimiter=CRM_DELIMITER, lineterminator=CRM_LINE_END)
        self.writer.writerow(header)
        self.rows = 0

    def write(self, rows) -> None:
        self.writer.writerows(rows)
        self.rows += len(rows)


def _label(rng: random.Random, manager: Manager) -> str:
    return rng.choice(manager.aliases) if rng.random() < 0.15 else manager.name


def write_scaled_exports(
    inbox_dir: Path, spec: ScaleSpec, seed: int = 20261101, progress=None
) -> StreamSummary:
    """Write the scaled exports under inbox_dir (pbx/, crm/); memory stays ~one month."""
    inbox = Path(inbox_dir)
    w = _World(spec, seed)
    summary = StreamSummary(managers=w.managers)
    months = calendar_months()[: spec.months]
    new_month = dt.datetime.combine(months[-1], dt.time())  # its calls: a file of their own
    early_name, late_name = "pbx/Master-2025.csv", "pbx/Master.csv"
    month_name = f"pbx/Master-{new_month:%Y-%m}.csv"
    # The history delivery ends with the export at the new month's start.
    snapshots = tuple(sorted({EARLIER_SNAPSHOT_LOCAL, new_month, SNAPSHOT_LOCAL}))
    style_rng = random.Random(f"{seed}:pbx")
    bad_calls = iter(bad_call_lines(BAD_CALL_ROWS))
    bad_deals = bad_deal_rows(BAD_DEAL_ROWS)
    bad_history = bad_history_rows(BAD_HISTORY_ROWS)
    pending: list[tuple[dt.datetime, int, Call]] = []  # heap by start time
    tie = 0
    sequence = 0
    with ExitStack() as stack:
        (inbox / "pbx").mkdir(parents=True, exist_ok=True)
        early = stack.enter_context((inbox / early_name).open("w", encoding="utf-8", newline=""))
        late = stack.enter_context((inbox / late_name).open("w", encoding="utf-8", newline=""))
        latest = stack.enter_context((inbox / month_name).open("w", encoding="utf-8", newline=""))
        counts = {early_name: 0, late_name: 0, month_name: 0}
        deals = {
            at: _CrmWriter(stack, inbox / snapshot_file_name("deals", at), DEALS_HEADER)
            for at in snapshots
        }
        history = {
            at: _CrmWriter(stack, inbox / snapshot_file_name("history", at), HISTORY_HEADER)
            for at in snapshots
        }
        labels = {at: random.Random(f"{seed}:labels:{at:%Y-%m-%d}") for at in snapshots}

        def flush(before: dt.datetime | None) -> None:
            nonlocal sequence
            early_lines, late_lines, month_lines = [], [], []
            while pending and (before is None or pending[0][0] < before):
                start, _, call = heapq.heappop(pending)
                if call.ended_at > SNAPSHOT_LOCAL:
                    continue
                sequence += 1
                line = asterisk_line(call_fields(call, sequence, style_rng.randrange(4)))
                if start >= new_month:
                    month_lines.append(line)
                    continue
                if start < MASTER_2025_END:
                    early_lines.append(line)
                if start >= MASTER_START:
                    late_lines.append(line)
            early.write("".join(early_lines))
            late.write("".join(late_lines))
            latest.write("".join(month_lines))
            counts[early_name] += len(early_lines)
            counts[late_name] += len(late_lines)
            counts[month_name] += len(month_lines)

        for index, month in enumerate(months):
            prospects = _month_prospects(w, month)
            for p in prospects:
                summary.prospects[p.funnel_id] = summary.prospects.get(p.funnel_id, 0) + 1
                for call in p.calls:
                    tie += 1
                    heapq.heappush(pending, (call.started_at, tie, call))
            for call in _noise(w, month):
                tie += 1
                heapq.heappush(pending, (call.started_at, tie, call))
            flush(dt.datetime.combine(next_month(month), dt.time()) - _EARLIEST_CALL_LEAD)
            if month >= MASTER_START.date().replace(day=1):
                bad = next(bad_calls, None)
                if bad is not None:
                    late.write(bad)
                    counts[late_name] += 1
            _write_crm(w, prospects, deals, history, labels, snapshots)
            summary.deals += sum(1 for p in prospects if p.deal is not None)
            if progress:
                progress(f"{month:%Y-%m}: {len(prospects)} prospects, {sequence} calls so far")
            if index == len(months) // 2:
                for at in snapshots:
                    deals[at].write(bad_deals[:3] if at == SNAPSHOT_LOCAL else [])
                    history[at].write(bad_history[:2] if at == SNAPSHOT_LOCAL else [])
        flush(None)
        for bad in bad_calls:
            late.write(bad)
            counts[late_name] += 1
        deals[SNAPSHOT_LOCAL].write(bad_deals[3:])
        history[SNAPSHOT_LOCAL].write(bad_history[2:])
    summary.files = [early_name, late_name, month_name]
    summary.rows = dict(counts)
    summary.bad_rows = {early_name: 0, late_name: BAD_CALL_ROWS, month_name: 0}
    for at in snapshots:
        for kind, writer in (("deals", deals[at]), ("history", history[at])):
            name = snapshot_file_name(kind, at)
            summary.files.append(name)
            summary.rows[name] = writer.rows
            summary.bad_rows[name] = 0
    summary.bad_rows[snapshot_file_name("deals", SNAPSHOT_LOCAL)] = BAD_DEAL_ROWS
    summary.bad_rows[snapshot_file_name("history", SNAPSHOT_LOCAL)] = BAD_HISTORY_ROWS
    summary.calls = sequence
    summary.new_month = f"{new_month:%Y-%m}"
    summary.new_month_files = [
        month_name,
        snapshot_file_name("deals", SNAPSHOT_LOCAL),
        snapshot_file_name("history", SNAPSHOT_LOCAL),
    ]
    return summary


def _write_crm(w: _World, prospects, deals, history, labels, snapshots) -> None:
    with_deals = sorted((p for p in prospects if p.deal is not None), key=lambda p: p.deal.deal_id)
    views = {p.deal.deal_id: _view(w, p) for p in with_deals}
    for at in snapshots:
        deal_rows, history_lines = [], []
        for p in with_deals:
            if p.deal.created_at > at:
                continue
            manager = w.by_name[p.manager]
            deal_rows.append(deal_row(p, views[p.deal.deal_id], at, _label(labels[at], manager)))
            for when, deal_id, stage in history_rows(p, at):
                history_lines.append(
                    [str(deal_id), stage, when.strftime(CRM_TIME), _label(labels[at], manager)]
                )
        deals[at].write(deal_rows)
        history[at].write(history_lines)


def _view(w: _World, p: Prospect) -> DealView:
    """Stable per deal across snapshots: seeded by the deal id, not by call order."""
    rng = random.Random(f"{w.seed}:view:{p.deal.deal_id}")
    funnel = next(f for f in w.funnels if f.funnel_id == p.funnel_id)
    title = rng.choice(funnel.titles).format(value=p.attribute or "")
    cell = crm_phone(p.phones[0], rng.randrange(3))
    if len(p.phones) > 1:
        cell += ", " + crm_phone(p.phones[1], 3)
    return DealView(title, cell)


def iter_manager_config(managers: list[Manager]) -> Iterator[dict]:
    """voronka.yaml `managers:` entries for the scaled run (aliases incl. ext:)."""
    for manager in managers:
        yield {"name": manager.name, "aliases": [*manager.aliases, f"ext:{manager.extension}"]}
