"""Event timelines → export files in the real formats (Asterisk Master.csv, CRM CSVs).

Each file is rendered to bytes first (sorted rows, fixed line endings), so the same
world gives byte-identical files. Presentation choices (phone spelling, manager
aliases, deal titles) come from their own seeded streams, never from the process's.
Times are written as the wall clock of the world's zone shows them (scenario.wall_time).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from pipeline.demo.scenario import (
    ALIAS_SHARE,
    B2B_LINE,
    BAD_CALL_ROWS,
    BAD_DEAL_ID_START,
    BAD_DEAL_ROWS,
    BAD_HISTORY_ROWS,
    BAD_ROW_PHONES,
    DOORS_LINE,
    EARLIER_SNAPSHOT_LOCAL,
    FUNNEL_BY_ID,
    LOST_STATUS,
    MANAGER_BY_NAME,
    MASTER_2025_END,
    MASTER_START,
    SNAPSHOT_LOCAL,
    TIMEZONE,
    WON_STATUS,
    FunnelScenario,
    crm_stage_name,
    local_to_utc,
    wall_time,
)
from pipeline.demo.simulate import Call, Prospect, World

DEALS_HEADER = (
    "ID сделки",
    "Название",
    "Воронка",
    "Этап",
    "Ответственный",
    "Источник",
    "Бюджет",
    "Дата создания",
    "Дата закрытия",
    "Причина отказа",
    "Телефон",
    "Город",
    "Товар",
)
HISTORY_HEADER = ("ID сделки", "Этап", "Дата перехода", "Ответственный")
CRM_ENCODING = "cp1251"
CRM_DELIMITER = ";"
CRM_LINE_END = "\r\n"
ASTERISK_COLUMNS = 17

ASTERISK_TIME = "%Y-%m-%d %H:%M:%S"
CRM_TIME = "%d.%m.%Y %H:%M"


@dataclass(frozen=True)
class RenderedFile:
    path: str  # relative to the inbox
    data: bytes
    rows: int  # data records (header excluded), bad rows included
    bad_rows: int


# --- phones -----------------------------------------------------------------------------


def asterisk_phone(e164: str, style: int) -> str:
    """How a trunk spells a client: 89161234567, 79161234567, +79161234567, 9161234567."""
    national = e164[2:]
    return ("8" + national, "7" + national, "+7" + national, national)[style % 4]


def crm_phone(e164: str, style: int) -> str:
    """How a CRM user typed it: 8 (916) 123-45-67, +7 916 123-45-67, 79161234567."""
    n = e164[2:]
    spelled = (
        f"8 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
        f"+7 {n[:3]} {n[3:6]}-{n[6:8]}-{n[8:]}",
        "7" + n,
        f"+7 ({n[:3]}) {n[3:6]}-{n[6:8]}-{n[8:]}",
    )
    return spelled[style % 4]


# --- Asterisk ------------------------------------------------------------------------


def asterisk_line(fields: Sequence[str | int]) -> str:
    """Strings double-quoted (quotes doubled), numbers bare, LF-terminated."""
    return (
        ",".join(
            f'"{value.replace(chr(34), chr(34) * 2)}"' if isinstance(value, str) else str(value)
            for value in fields
        )
        + "\n"
    )


def call_fields(
    call: Call, sequence: int, client_style: int, zone: str = TIMEZONE
) -> list[str | int]:
    start = call.started_at
    answered_at = start + dt.timedelta(seconds=call.ring_s)
    answer = wall_time(answered_at, zone).strftime(ASTERISK_TIME) if call.answered else ""
    end = wall_time(call.ended_at, zone).strftime(ASTERISK_TIME)
    ours = f"{2 * sequence:08x}"
    theirs = f"{2 * sequence + 1:08x}"
    uniqueid = f"{int(local_to_utc(start).timestamp())}.{sequence}"
    if call.direction == "inbound":
        client = asterisk_phone(call.client_phone, client_style)
        head = ["", client, DOORS_LINE, "from-trunk", f'"" <{client}>', f"SIP/trunk-{ours}"]
        head += [f"SIP/{call.extension}-{theirs}", "Dial", f"SIP/{call.extension},30,tT"]
    elif call.direction == "outbound":
        client = asterisk_phone(call.client_phone, client_style)
        ext = call.extension
        trunk = "" if call.disposition == "FAILED" else f"SIP/trunk-{theirs}"
        head = [B2B_LINE, ext, client, "from-internal", f'"{ext}" <{ext}>', f"SIP/{ext}-{ours}"]
        head += [trunk, "Dial", f"SIP/trunk/{client},60,tT"]
    else:
        ext, other = call.extension, call.other_extension
        head = ["", ext, other, "from-internal", f'"{ext}" <{ext}>', f"SIP/{ext}-{ours}"]
        head += [f"SIP/{other}-{theirs}", "Dial", f"SIP/{other},30,tT"]
    duration = call.ring_s + call.talk_s
    started = wall_time(start, zone).strftime(ASTERISK_TIME)
    tail = [started, answer, end, duration, call.talk_s, call.disposition]
    return [*head, *tail, "DOCUMENTATION", uniqueid]


def all_calls(world: World, until: dt.datetime) -> list[Call]:
    calls = [call for prospect in world.prospects for call in prospect.calls]
    calls.extend(world.noise_calls)
    kept = [call for call in calls if call.ended_at <= until]
    return sorted(kept, key=lambda call: call.started_at)  # stable: input order breaks ties


def bad_call_lines(count: int) -> list[str]:
    """Rows the pipeline must reject: an impossible month, a wrong column count."""
    lines = []
    for index in range(count):
        client = asterisk_phone(BAD_ROW_PHONES[index], index)
        fields: list[str | int] = [
            "",
            client,
            DOORS_LINE,
            "from-trunk",
            f'"" <{client}>',
            f"SIP/trunk-f{index:07x}",
            "SIP/101-" + f"e{index:07x}",
            "Dial",
            "SIP/101,30,tT",
            "2025-13-01 10:00:00",
            "",
            "2025-13-01 10:00:25",
            25,
            0,
            "NO ANSWER",
            "DOCUMENTATION",
            f"1767000000.{900000 + index}",
        ]
        if index % 2 == 1:  # a row cut short instead of a bad date
            fields = [*fields[:9], "2026-03-02 11:00:00", "", "2026-03-02 11:00:20", 20]
        lines.append(asterisk_line(fields))
    return lines


def sprinkle(rows: list, extra: list) -> list:
    """Insert `extra` at evenly spaced positions of `rows`."""
    result = list(rows)
    for index, row in enumerate(extra):
        position = (len(rows) * (index + 1)) // (len(extra) + 1) + index
        result.insert(position, row)
    return result


def render_pbx(world: World) -> list[RenderedFile]:
    calls = all_calls(world, SNAPSHOT_LOCAL)
    styles = random.Random(f"{world.seed}:pbx")
    lines = [
        (
            call.started_at,
            asterisk_line(call_fields(call, sequence, styles.randrange(4), world.timezone)),
        )
        for sequence, call in enumerate(calls, 1)
    ]
    early = [line for start, line in lines if start < MASTER_2025_END]
    late = [line for start, line in lines if start >= MASTER_START]
    late = sprinkle(late, bad_call_lines(BAD_CALL_ROWS))
    early_bytes = "".join(early).encode("utf-8")
    return [
        RenderedFile("pbx/Master-2025.csv", early_bytes, len(early), 0),
        RenderedFile("pbx/Master-copy.csv", early_bytes, len(early), 0),
        RenderedFile("pbx/Master.csv", "".join(late).encode("utf-8"), len(late), BAD_CALL_ROWS),
    ]


# --- CRM -----------------------------------------------------------------------------


@dataclass(frozen=True)
class DealView:
    """How one deal is spelled in the CRM: stable across snapshots."""

    title: str
    phone_cell: str


def deal_views(world: World) -> dict[int, DealView]:
    rng = random.Random(f"{world.seed}:crm-views")
    views = {}
    for prospect in world.prospects:
        if prospect.deal is None:
            continue
        funnel = FUNNEL_BY_ID[prospect.funnel_id]
        title = rng.choice(funnel.titles).format(value=prospect.attribute or "")
        cell = crm_phone(prospect.phones[0], rng.randrange(3))
        if len(prospect.phones) > 1:
            cell += ", " + crm_phone(prospect.phones[1], 3)
        views[prospect.deal.deal_id] = DealView(title, cell)
    return views


def manager_label(rng: random.Random, manager: str) -> str:
    if rng.random() < ALIAS_SHARE:
        return rng.choice(MANAGER_BY_NAME[manager].aliases)
    return manager


def stage_name(funnel: FunnelScenario, order: int, on: dt.date) -> str:
    stage = funnel.stages[order - 1]
    return WON_STATUS if stage.kind == "won" else crm_stage_name(stage, on)


def format_amount(amount: int) -> str:
    return f"{amount:,}".replace(",", "\u00a0") + ",00"


def deal_row(
    prospect: Prospect, view: DealView, at: dt.datetime, manager: str, zone: str = TIMEZONE
) -> list[str]:
    """The deal as an export taken at scenario time `at` shows it, in `zone`'s wall time."""
    funnel = FUNNEL_BY_ID[prospect.funnel_id]
    deal = prospect.deal
    closed = deal.closed_at <= at
    if closed and deal.status == "lost":
        stage = LOST_STATUS
    elif closed:
        stage = WON_STATUS
    else:
        current = max((when, order) for order, when in deal.entries if when <= at)[1]
        stage = stage_name(funnel, current, wall_time(at, zone).date())
    city = prospect.attribute if funnel.attribute_column == "Город" else ""
    product = prospect.attribute if funnel.attribute_column == "Товар" else ""
    return [
        str(deal.deal_id),
        view.title,
        funnel.pipeline,
        stage,
        manager,
        prospect.lead_source,
        format_amount(deal.amount),
        wall_time(deal.created_at, zone).strftime(CRM_TIME),
        wall_time(deal.closed_at, zone).strftime(CRM_TIME) if closed else "",
        (deal.lost_reason or "") if closed else "",
        view.phone_cell,
        city or "",
        product or "",
    ]


def history_rows(
    prospect: Prospect, at: dt.datetime, zone: str = TIMEZONE
) -> list[tuple[dt.datetime, int, str]]:
    """Recorded stage entries up to `at`: (scenario time, deal id, CRM stage name on the
    entry's date in `zone`)."""
    funnel = FUNNEL_BY_ID[prospect.funnel_id]
    deal = prospect.deal
    rows = [
        (when, deal.deal_id, stage_name(funnel, order, wall_time(when, zone).date()))
        for order, when in deal.entries
        if when <= at
    ]
    if deal.status == "lost" and deal.closed_at <= at:
        rows.append((deal.closed_at, deal.deal_id, LOST_STATUS))
    return rows


def bad_deal_rows(count: int) -> list[list[str]]:
    dates = (
        "31.02.2025 10:00",
        "вчера",
        "29.02.2025 09:30",
        "32.13.2025 10:00",
        "вчера",
        "31.04.2026 15:00",
    )
    rows = []
    for index in range(count):
        rows.append(
            [
                str(BAD_DEAL_ID_START + index),
                "Входная дверь, Москва",
                "Розница",
                "Вызов замерщика",
                "Смирнова Анна",
                "Сайт",
                format_amount(45_000),
                dates[index % len(dates)],
                "",
                "",
                crm_phone(BAD_ROW_PHONES[10 + index], index),
                "Москва",
                "",
            ]
        )
    return rows


def bad_history_rows(count: int) -> list[list[str]]:
    dates = ("31.02.2026 10:00", "вчера", "2026-13-01 10:00")
    return [
        [
            str(BAD_DEAL_ID_START + index),
            "Вызов замерщика",
            dates[index % len(dates)],
            "Попова Мария",
        ]
        for index in range(count)
    ]


def crm_bytes(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=CRM_DELIMITER, lineterminator=CRM_LINE_END)
    writer.writerow(header)
    writer.writerows(rows)
    return buffer.getvalue().encode(CRM_ENCODING)


def snapshot_file_name(kind: str, at: dt.datetime, zone: str = TIMEZONE) -> str:
    """`crm/deals_2026-11-01_0600.csv`: the export's local time in the name, where the
    pipeline reads a snapshot's time from (a bare date would mean 00:00)."""
    return f"crm/{kind}_{wall_time(at, zone):%Y-%m-%d_%H%M}.csv"


def render_deals(
    world: World, views: dict[int, DealView], at: dt.datetime, bad: int
) -> RenderedFile:
    labels = random.Random(f"{world.seed}:deals:{at:%Y-%m-%d}")
    with_deals = sorted(
        (p for p in world.prospects if p.deal is not None and p.deal.created_at <= at),
        key=lambda p: p.deal.deal_id,
    )
    zone = world.timezone
    rows = [
        deal_row(p, views[p.deal.deal_id], at, manager_label(labels, p.manager), zone)
        for p in with_deals
    ]
    rows = sprinkle(rows, bad_deal_rows(bad))
    return RenderedFile(
        snapshot_file_name("deals", at, zone), crm_bytes(DEALS_HEADER, rows), len(rows), bad
    )


def render_history(world: World, at: dt.datetime, bad: int) -> RenderedFile:
    labels = random.Random(f"{world.seed}:history:{at:%Y-%m-%d}")
    managers = {p.deal.deal_id: p.manager for p in world.prospects if p.deal is not None}
    entries = sorted(
        row
        for p in world.prospects
        if p.deal is not None and p.deal.created_at <= at
        for row in history_rows(p, at, world.timezone)
    )
    rows = [
        [
            str(deal_id),
            stage,
            world.wall(when).strftime(CRM_TIME),
            manager_label(labels, managers[deal_id]),
        ]
        for when, deal_id, stage in entries
    ]
    rows = sprinkle(rows, bad_history_rows(bad))
    return RenderedFile(
        snapshot_file_name("history", at, world.timezone),
        crm_bytes(HISTORY_HEADER, rows),
        len(rows),
        bad,
    )


def render_crm(world: World) -> list[RenderedFile]:
    views = deal_views(world)
    return [
        render_deals(world, views, EARLIER_SNAPSHOT_LOCAL, 0),
        render_deals(world, views, SNAPSHOT_LOCAL, BAD_DEAL_ROWS),
        render_history(world, EARLIER_SNAPSHOT_LOCAL, 0),
        render_history(world, SNAPSHOT_LOCAL, BAD_HISTORY_ROWS),
    ]


def render_exports(world: World) -> list[RenderedFile]:
    return [*render_pbx(world), *render_crm(world)]


def write_files(root: Path, files: Iterable[RenderedFile]) -> None:
    for rendered in files:
        write_atomically(root / rendered.path, rendered.data)


def write_atomically(target: Path, data: bytes) -> None:
    """A reader (the inbox sensor) never sees half a file: write aside, then rename."""
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(target)
