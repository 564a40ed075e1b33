"""The demo's CRM side as amoCRM writes it: a weekly export of all deals, current state only.

The same simulated world as the generic demo (writers.py), spelled the way a team that
presses "Экспорт" in amoCRM every Monday morning gets it:

- One file per export, `amocrm/amocrm_export_leads_YYYY-MM-DD_HHMM.csv`: every Monday
  06:00 local from the first Monday of the calendar, plus the final export at the demo's
  snapshot time (SNAPSHOT_LOCAL, 2026-11-01 06:00). The local time in the name is what
  `transform.snapshots` reads as the file's snapshot_at.
- Each file holds every deal created by then, in the state it was in at that moment
  (stage, «Дата закрытия» only once closed, «Причина отказа» only once lost). There is
  no history file: the pipeline infers stage entries from consecutive exports.
- amoCRM's column order (FORMATS.md), `;`-delimited (quotes only where a value needs
  them), CRLF, UTF-8 with a BOM (what amoCRM's CSV export writes so that Excel opens
  Cyrillic right), dates `dd.mm.yyyy HH:MM:SS`, Бюджет a bare whole number, the won/lost
  system stages «Успешно реализовано» / «Закрыто и не реализовано», pipelines in «Воронка».
- Phones split by kind as a CRM user files them: Moscow landlines (+7495…) in «Рабочий
  телефон», mobiles in «Мобильный телефон»; the spelling varies per deal, stable across
  exports. «Ответственный» is the manager's amoCRM user name (the full name).
- The final export carries a few deliberately broken rows (impossible creation dates),
  which the pipeline must reject, as in the generic demo.
"""

from __future__ import annotations

import bisect
import csv
import datetime as dt
import io
import random
from collections.abc import Sequence

from pipeline.demo.scenario import (
    BAD_DEAL_ID_START,
    BAD_DEAL_ROWS,
    BAD_ROW_PHONES,
    FIRST_MONTH,
    FUNNEL_BY_ID,
    LOST_STATUS,
    SNAPSHOT_LOCAL,
    TIMEZONE,
    WON_STATUS,
    wall_time,
)
from pipeline.demo.simulate import Prospect, World
from pipeline.demo.writers import RenderedFile, crm_phone, deal_views, sprinkle, stage_name

HEADER = (
    "ID",
    "Название сделки",
    "Бюджет",
    "Ответственный",
    "Дата создания сделки",
    "Кем создана сделка",
    "Дата редактирования",
    "Кем редактирована",
    "Дата закрытия",
    "Теги",
    "Примечание",
    "Примечание 2",
    "Примечание 3",
    "Примечание 4",
    "Примечание 5",
    "Этап сделки",
    "Воронка",
    "Полное имя контакта",
    "Компания контакта",
    "Ответственный за контакт",
    "Компания",
    "Рабочий телефон",
    "Рабочий прямой телефон",
    "Мобильный телефон",
    "Факс",
    "Домашний телефон",
    "Другой телефон",
    "Рабочий email",
    "Личный email",
    "Другой email",
    "Город",
    "Источник",
    "Должность",
    "Товар",
    "utm_source",
    "utm_medium",
    "utm_campaign",
    "utm_term",
    "utm_content",
    "Причина отказа",
)
ENCODING = "utf-8-sig"  # UTF-8 with a BOM
DELIMITER = ";"
LINE_END = "\r\n"
TIME = "%d.%m.%Y %H:%M:%S"
FOLDER = "amocrm"
FILES_GLOB = f"{FOLDER}/amocrm_export_leads_*.csv"
SNAPSHOT_WEEKDAY = 0  # Monday
SNAPSHOT_TIME = dt.time(6, 0)

MALE_NAMES = ("Алексей", "Михаил", "Андрей", "Николай", "Сергей")
FEMALE_NAMES = ("Екатерина", "Ирина", "Светлана", "Ольга", "Татьяна")
LAST_NAMES = ("Орлов", "Белов", "Зайцев", "Киселев", "Громов", "Тарасов", "Ершов")
COMPANIES = ("Вектор", "Северный двор", "ТоргСнаб", "Альфа-Ритейл", "Промтех", "Гермес")
TAGS = {"Рекомендация": "рекомендация", "Конференция": "конференция", "Выставка": "выставка"}
UTM = {"Яндекс.Директ": ("yandex", "cpc"), "Авито": ("avito", "classified"), "Сайт": ("site", "")}


def snapshot_times() -> list[dt.datetime]:
    """Every Monday 06:00 local from the calendar's first Monday, then the final export."""
    first = dt.datetime.combine(FIRST_MONTH, SNAPSHOT_TIME)
    first += dt.timedelta(days=(SNAPSHOT_WEEKDAY - first.weekday()) % 7)
    times = []
    at = first
    while at < SNAPSHOT_LOCAL:
        times.append(at)
        at += dt.timedelta(weeks=1)
    return [*times, SNAPSHOT_LOCAL]


def export_name(at: dt.datetime, zone: str = TIMEZONE) -> str:
    return f"{FOLDER}/amocrm_export_leads_{wall_time(at, zone):%Y-%m-%d_%H%M}.csv"


class DealCard:
    """One deal as amoCRM spells it: what never changes between exports (title, contact,
    company, phones, tags) and its timeline, so each export only looks up the state.
    Times are written on the wall clock of `zone`."""

    def __init__(
        self, prospect: Prospect, title: str, rng: random.Random, zone: str = TIMEZONE
    ) -> None:
        funnel = FUNNEL_BY_ID[prospect.funnel_id]
        deal = prospect.deal
        self.zone = zone
        self.funnel = funnel
        self.deal = deal
        female = rng.random() < 0.5
        first = rng.choice(FEMALE_NAMES if female else MALE_NAMES)
        last = rng.choice(LAST_NAMES) + ("а" if female else "")
        company = "" if funnel.funnel_id == "doors" else f"ООО «{rng.choice(COMPANIES)}»"
        styles = rng.randrange(4), rng.randrange(4)
        landlines = [p for p in prospect.phones if p.startswith("+7495")]
        mobiles = [p for p in prospect.phones if not p.startswith("+7495")]
        city = prospect.attribute if funnel.attribute_column == "Город" else None
        product = prospect.attribute if funnel.attribute_column == "Товар" else None
        utm_source, utm_medium = UTM.get(prospect.lead_source, ("", ""))
        manager = prospect.manager
        self.head = (str(deal.deal_id), title, str(deal.amount), manager)
        self.created = wall_time(deal.created_at, zone).strftime(TIME)
        self.tags = TAGS.get(prospect.lead_source, "")
        self.tail = (
            f"{first} {last}",
            company,
            manager,
            company,
            ", ".join(crm_phone(p, styles[0]) for p in landlines),
            "",
            ", ".join(crm_phone(p, styles[1]) for p in mobiles),
            *[""] * 6,  # Факс … Другой email
            city or "",
            prospect.lead_source,
            "",
            product or "",
            utm_source,
            utm_medium,
            funnel.funnel_id if utm_source else "",
            "",
            "",
        )
        self.manager = manager
        self.entries = sorted((when, order) for order, when in deal.entries)
        self.entry_times = [when for when, _ in self.entries]
        self.closed = wall_time(deal.closed_at, zone).strftime(TIME)
        self._state: tuple[int, bool, str] | None = None
        self._line = ""

    def line(self, at: dt.datetime) -> str:
        """The deal's CSV line in the export taken at local time `at` (rendered once per
        state: a closed deal's line never changes again)."""
        deal = self.deal
        seen = bisect.bisect_right(self.entry_times, at)
        closed = deal.closed_at <= at
        if closed:
            stage = LOST_STATUS if deal.status == "lost" else WON_STATUS
        else:
            on = wall_time(at, self.zone).date()
            stage = stage_name(self.funnel, self.entries[seen - 1][1], on)
        if (seen, closed, stage) != self._state:
            self._state = (seen, closed, stage)
            self._line = csv_line(self._row(seen, closed, stage))
        return self._line

    def _row(self, seen: int, closed: bool, stage: str) -> list[str]:
        deal = self.deal
        if closed:
            edited = closed_text = self.closed
        else:
            edited = (
                wall_time(self.entries[seen - 1][0], self.zone).strftime(TIME)
                if seen
                else self.created
            )
            closed_text = ""
        lost = (deal.lost_reason or "") if closed and deal.status == "lost" else ""
        manager = self.manager
        return [
            *self.head,
            self.created,
            manager,
            edited,
            manager,
            closed_text,
            self.tags,
            "",
            "",
            "",
            "",
            "",
            stage,
            self.funnel.pipeline,
            *self.tail,
            lost,
        ]


def deal_cards(world: World) -> list[DealCard]:
    """Cards of every deal, by deal id; titles as in the generic demo."""
    views = deal_views(world)
    rng = random.Random(f"{world.seed}:amocrm-cards")
    with_deals = sorted(
        (p for p in world.prospects if p.deal is not None), key=lambda p: p.deal.deal_id
    )
    return [DealCard(p, views[p.deal.deal_id].title, rng, world.timezone) for p in with_deals]


def bad_rows(count: int) -> list[list[str]]:
    """Rows the pipeline must reject: a creation date that does not exist."""
    dates = ("31.02.2025 10:00:00", "вчера", "29.02.2025 09:30:00", "32.13.2025 10:00:00")
    rows = []
    for index in range(count):
        row = [""] * len(HEADER)
        row[0] = str(BAD_DEAL_ID_START + index)
        row[1] = "Входная дверь, Москва"
        row[2] = "45000"
        row[3] = row[5] = row[7] = row[19] = "Смирнова Анна"
        row[4] = dates[index % len(dates)]
        row[15] = "Вызов замерщика"
        row[16] = "Розница"
        row[23] = crm_phone(BAD_ROW_PHONES[10 + index], index)
        row[30] = "Москва"
        row[31] = "Сайт"
        rows.append(row)
    return rows


def csv_line(row: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=DELIMITER, lineterminator=LINE_END).writerow(row)
    return buffer.getvalue()


def render_amocrm(world: World) -> list[RenderedFile]:
    """One export per snapshot time; the final one with the broken rows."""
    cards = deal_cards(world)
    header = csv_line(HEADER)
    files = []
    for at in snapshot_times():
        lines = [card.line(at) for card in cards if card.deal.created_at <= at]
        bad = BAD_DEAL_ROWS if at == SNAPSHOT_LOCAL else 0
        lines = sprinkle(lines, [csv_line(row) for row in bad_rows(bad)])
        data = (header + "".join(lines)).encode(ENCODING)
        files.append(RenderedFile(export_name(at, world.timezone), data, len(lines), bad))
    return files


__all__ = ["FILES_GLOB", "render_amocrm", "snapshot_times"]
