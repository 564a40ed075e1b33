"""The demo's true process, as data: calendar, funnels, rates, delays, noise.

Everything the generator draws from is declared here, so the expected tables and
parameters.json can be derived from the same facts. Stage keys, CRM stage names,
pipelines, lines and manager names match voronka.yaml (a unit test checks that).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from zoneinfo import ZoneInfo

# The scenario's clock: every simulated time is a wall time in Moscow (fixed UTC+3). The
# exports can be written in another zone (wall_time): the same instants, other wall times.
TIMEZONE = "Europe/Moscow"
UTC_OFFSET = dt.timedelta(hours=3)  # Moscow has had no DST since 2014.
FIRST_MONTH = dt.date(2024, 11, 1)
MONTHS = 24  # prospects start from 2024-11-01 to 2026-10-31
SNAPSHOT_LOCAL = dt.datetime(2026, 11, 1, 6, 0)  # the final export
EARLIER_SNAPSHOT_LOCAL = dt.datetime(2026, 6, 30, 23, 59)

WON_STATUS = "Успешно реализовано"
LOST_STATUS = "Закрыто и не реализовано"

# PBX numbers as Asterisk writes them (no '+').
DOORS_LINE = "74951112233"
B2B_LINE = "74957770000"
OWN_NUMBER = "74950000000"
OWN_NUMBERS = (DOORS_LINE, B2B_LINE, OWN_NUMBER)
# Numbers used only by the deliberately broken rows, never handed to a prospect.
BAD_ROW_PHONES = tuple(f"+7900000{index:04d}" for index in range(1, 21))

# Master-2025.csv holds calls started before MASTER_2025_END, Master.csv those from
# MASTER_START: two days sit in both files (duplicate rows, same uniqueid).
MASTER_2025_END = dt.datetime(2026, 1, 3)
MASTER_START = dt.datetime(2026, 1, 1)

DEAL_ID_START = 1_200_000
BAD_DEAL_ID_START = 9_000_001

# Presentation and noise.
ALIAS_SHARE = 0.15  # CRM rows naming the manager by an alias
TWO_PHONES_SHARE = 0.10  # deals with a second (also unique) number in the phone cell
MISSED_BEFORE_SHARE = 0.15  # doors callers who first rang and were not answered
REPEAT_CALL_SHARE = 0.08  # deals with one more answered call while open
UNKNOWN_MISSED_PER_MONTH = 8  # missed inbound calls from numbers never called back
B2B_UNREACHED_PER_MONTH = 20  # cold-call numbers never answered
OWN_NUMBER_CALLS = 10
INTERNAL_CALLS = 36
BAD_DEAL_ROWS = 6
BAD_CALL_ROWS = 5
BAD_HISTORY_ROWS = 3


@dataclass(frozen=True)
class Manager:
    name: str
    extension: str
    aliases: tuple[str, ...]  # as written in CRM exports (never the ext: alias)


MANAGERS = (
    Manager("Смирнова Анна", "101", ("Смирнова А.", "Anna Smirnova")),
    Manager("Кузнецов Пётр", "102", ("Кузнецов П.", "Petr Kuznetsov")),
    Manager("Попова Мария", "103", ("Попова М.", "Maria Popova")),
    Manager("Васильев Олег", "104", ("Васильев О.", "Oleg Vasilyev")),
    Manager("Иванов Иван", "201", ("Иванов И.", "Ivan Ivanov")),
    Manager("Соколова Елена", "202", ("Соколова Е.", "Elena Sokolova")),
    Manager("Морозов Дмитрий", "203", ("Морозов Д.", "Dmitry Morozov")),
    Manager("Новикова Ольга", "204", ("Новикова О.", "Olga Novikova")),
    Manager("Лебедев Артём", "205", ("Лебедев А.", "Artem Lebedev")),
    Manager("Волков Сергей", "301", ("Волков С.", "Sergey Volkov")),
    Manager("Фёдорова Наталья", "302", ("Федорова Н.", "Natalia Fedorova")),
    Manager("Павлов Игорь", "303", ("Павлов И.", "Igor Pavlov")),
)
MANAGER_BY_NAME = {manager.name: manager for manager in MANAGERS}


@dataclass(frozen=True)
class CrmName:
    """A CRM stage name, valid on local dates [valid_from, valid_to] (None: open)."""

    name: str
    valid_from: dt.date | None = None
    valid_to: dt.date | None = None


@dataclass(frozen=True)
class StageSpec:
    key: str
    kind: str  # "call" (telephony), "crm" (a CRM stage) or "won" (the won status)
    crm_names: tuple[CrmName, ...] = ()


@dataclass(frozen=True)
class StepSpec:
    """Leaving stage `from_key` for the next stage.

    skip_prob: given it advances, the from-stage is passed at once and not recorded.
    regression_prob: given it advances after ≥ 2 h, it moves back once meanwhile.
    lost_reasons: drawn for a deal that does not advance (empty: no deal yet).
    """

    from_key: str
    base_rate: float
    delay_hours: tuple[int, int]
    skip_prob: float = 0.0
    regression_prob: float = 0.0
    lost_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class FunnelScenario:
    funnel_id: str
    pipeline: str  # the CRM "Воронка"
    window_days: int  # as in voronka.yaml
    entry: str  # "inbound_call" | "outbound_call" | "crm"
    deal_stage_order: int  # 1-based order of the stage where the CRM deal is created
    stages: tuple[StageSpec, ...]
    steps: tuple[StepSpec, ...]  # one per stage but the last
    monthly_volume: int
    seasonality: tuple[float, ...]  # Jan..Dec volume multipliers
    open_weekdays: tuple[int, ...]  # Monday = 0
    open_hours: tuple[int, int]  # first hour, last hour (inclusive) of business time
    closed_days: tuple[tuple[int, int], ...]  # (month, day) holidays
    managers: tuple[tuple[str, float], ...]  # name, share of prospects
    manager_multipliers: dict[str, dict[str, float]]  # manager → from-stage → factor
    sources: tuple[tuple[str, float], ...]  # lead source, share of prospects
    source_multipliers: dict[str, dict[str, float]]
    weakest: tuple[str, str]  # (manager, from-stage) planted as clearly weakest
    strongest: tuple[str, str]
    loss_delay_hours: tuple[int, int]
    amount_range: tuple[int, int]  # roubles
    amount_step: int
    walk_in_share: float = 0.0  # prospects entering at the deal stage, stage 1 implied
    attribute_column: str | None = None  # "Город" / "Товар"
    attribute_values: tuple[tuple[str, float], ...] = ()
    titles: tuple[str, ...] = ()  # deal titles; "{value}" is replaced by the attribute
    call_talk_s: tuple[int, int] = (40, 600)
    repeat_calls: bool = True

    @property
    def stage_keys(self) -> tuple[str, ...]:
        return tuple(stage.key for stage in self.stages)

    def stage_order(self, key: str) -> int:
        return self.stage_keys.index(key) + 1


def crm_stage(key: str, *names: CrmName | str) -> StageSpec:
    return StageSpec(key, "crm", tuple(n if isinstance(n, CrmName) else CrmName(n) for n in names))


EVERY_DAY = (0, 1, 2, 3, 4, 5, 6)
WORK_DAYS = (0, 1, 2, 3, 4)
NEW_YEAR_HOLIDAYS = tuple((1, day) for day in range(1, 9))

DOORS = FunnelScenario(
    funnel_id="doors",
    pipeline="Розница",
    window_days=90,
    entry="inbound_call",
    deal_stage_order=2,
    stages=(
        StageSpec("call", "call"),
        crm_stage(
            "measurer_invited",
            CrmName("Замер назначен", valid_to=dt.date(2025, 6, 30)),
            CrmName("Вызов замерщика", valid_from=dt.date(2025, 7, 1)),
        ),
        crm_stage("measurer_visit", "Замер выполнен"),
        crm_stage("store_visit", "Визит в салон"),
        StageSpec("paid", "won"),
    ),
    steps=(
        StepSpec("call", 0.55, (1, 72)),
        StepSpec(
            "measurer_invited",
            0.78,
            (24, 240),
            lost_reasons=("Не отвечает", "Отложил решение", "Дорого", "Выбрал конкурента"),
        ),
        StepSpec(
            "measurer_visit",
            0.62,
            (24, 960),
            skip_prob=0.06,
            regression_prob=0.04,
            lost_reasons=("Дорого", "Выбрал конкурента", "Отложил решение", "Не устроили сроки"),
        ),
        StepSpec(
            "store_visit",
            0.52,
            (24, 1200),
            skip_prob=0.15,
            regression_prob=0.06,
            lost_reasons=("Дорого", "Не подошла модель", "Выбрал конкурента", "Отложил решение"),
        ),
    ),
    monthly_volume=250,
    seasonality=(0.70, 0.78, 0.95, 1.12, 1.25, 1.30, 1.25, 1.15, 1.00, 0.90, 0.80, 0.72),
    open_weekdays=EVERY_DAY,
    open_hours=(9, 20),
    closed_days=((1, 1),),
    managers=(
        ("Смирнова Анна", 0.36),
        ("Кузнецов Пётр", 0.24),
        ("Попова Мария", 0.22),
        ("Васильев Олег", 0.18),
    ),
    manager_multipliers={
        "Смирнова Анна": {"store_visit": 1.35, "call": 1.05},
        "Кузнецов Пётр": {"call": 0.95, "measurer_invited": 1.04},
        "Попова Мария": {"measurer_invited": 0.96, "store_visit": 1.05},
        "Васильев Олег": {"measurer_visit": 0.55, "call": 1.02},
    },
    sources=(
        ("Яндекс.Директ", 0.35),
        ("Авито", 0.25),
        ("Сайт", 0.20),
        ("Рекомендация", 0.10),
        ("Наружная реклама", 0.10),
    ),
    source_multipliers={
        "Яндекс.Директ": {"call": 0.92},
        "Авито": {"call": 0.80, "store_visit": 0.90},
        "Сайт": {},
        "Рекомендация": {"call": 1.30, "store_visit": 1.20},
        "Наружная реклама": {"measurer_invited": 0.90},
    },
    weakest=("Васильев Олег", "measurer_visit"),
    strongest=("Смирнова Анна", "store_visit"),
    loss_delay_hours=(2, 336),
    amount_range=(30_000, 250_000),
    amount_step=100,
    walk_in_share=0.10,
    attribute_column="Город",
    attribute_values=(
        ("Москва", 0.45),
        ("Химки", 0.10),
        ("Мытищи", 0.10),
        ("Балашиха", 0.09),
        ("Королёв", 0.08),
        ("Красногорск", 0.07),
        ("Одинцово", 0.06),
        ("Люберцы", 0.05),
    ),
    titles=(
        "Двери в квартиру, {value}",
        "Входная дверь, {value}",
        "Межкомнатные двери, {value}",
        "Дверь в частный дом, {value}",
    ),
)

B2B = FunnelScenario(
    funnel_id="b2b",
    pipeline="B2B",
    window_days=120,
    entry="outbound_call",
    deal_stage_order=2,
    stages=(
        StageSpec("cold_call", "call"),
        crm_stage("meeting_scheduled", "Встреча назначена"),
        crm_stage("meeting_held", "Встреча проведена"),
        crm_stage("proposal", "КП отправлено"),
        crm_stage("negotiation", "Согласование договора"),
        StageSpec("signed", "won"),
    ),
    steps=(
        StepSpec("cold_call", 0.30, (2, 120)),
        StepSpec(
            "meeting_scheduled",
            0.75,
            (24, 504),
            lost_reasons=("Не отвечает", "Отменил встречу", "Нет потребности"),
        ),
        StepSpec(
            "meeting_held",
            0.65,
            (24, 720),
            skip_prob=0.03,
            regression_prob=0.03,
            lost_reasons=("Нет бюджета", "Нет потребности", "Отложил решение"),
        ),
        StepSpec(
            "proposal",
            0.55,
            (48, 1440),
            skip_prob=0.05,
            regression_prob=0.05,
            lost_reasons=("Дорого", "Выбрал конкурента", "Нет бюджета"),
        ),
        StepSpec(
            "negotiation",
            0.65,
            (72, 1440),
            skip_prob=0.10,
            regression_prob=0.08,
            lost_reasons=("Не согласовали условия", "Выбрал конкурента", "Отложил решение"),
        ),
    ),
    monthly_volume=150,
    seasonality=(0.55, 1.00, 1.10, 1.10, 0.95, 1.00, 0.92, 0.60, 1.15, 1.15, 1.10, 0.95),
    open_weekdays=WORK_DAYS,
    open_hours=(9, 18),
    closed_days=NEW_YEAR_HOLIDAYS,
    managers=(
        ("Иванов Иван", 0.30),
        ("Соколова Елена", 0.20),
        ("Морозов Дмитрий", 0.20),
        ("Новикова Ольга", 0.15),
        ("Лебедев Артём", 0.15),
    ),
    manager_multipliers={
        "Иванов Иван": {"meeting_scheduled": 1.05},
        "Соколова Елена": {"cold_call": 1.50},
        "Морозов Дмитрий": {"meeting_scheduled": 0.55, "cold_call": 1.05},
        "Новикова Ольга": {"meeting_held": 0.92},
        "Лебедев Артём": {"cold_call": 0.92, "negotiation": 1.08},
    },
    sources=(
        ("Холодная база", 0.50),
        ("Выставка", 0.20),
        ("Сайт", 0.18),
        ("Партнёр", 0.12),
    ),
    source_multipliers={
        "Холодная база": {"cold_call": 0.85},
        "Выставка": {"cold_call": 1.25, "meeting_held": 1.05},
        "Сайт": {"cold_call": 1.15},
        "Партнёр": {"cold_call": 1.30, "proposal": 1.15},
    },
    weakest=("Морозов Дмитрий", "meeting_scheduled"),
    strongest=("Соколова Елена", "cold_call"),
    loss_delay_hours=(24, 720),
    amount_range=(200_000, 5_000_000),
    amount_step=1_000,
    attribute_column="Товар",
    attribute_values=(
        ("Кассовое оборудование", 0.35),
        ("Складская техника", 0.25),
        ("Сервисный контракт", 0.22),
        ("Программное обеспечение", 0.18),
    ),
    titles=("Поставка: {value}", "Проект: {value}", "{value} для сети магазинов"),
    call_talk_s=(30, 900),
)

KEY_ACCOUNTS = FunnelScenario(
    funnel_id="key_accounts",
    pipeline="Ключевые клиенты",
    window_days=180,
    entry="crm",
    deal_stage_order=1,
    stages=(
        crm_stage("analysis", "Анализ рынка"),
        crm_stage("shortlisted", "Шорт-лист"),
        crm_stage("referrer", "Найден рекомендатель"),
        crm_stage("presentation", "Презентация руководству"),
        crm_stage("proposal", "Коммерческое предложение"),
        crm_stage("negotiation", "Согласование договора"),
        StageSpec("signed", "won"),
    ),
    steps=(
        StepSpec(
            "analysis",
            0.60,
            (24, 480),
            lost_reasons=("Нет потребности", "Не целевой клиент"),
        ),
        StepSpec(
            "shortlisted",
            0.55,
            (48, 720),
            skip_prob=0.05,
            regression_prob=0.03,
            lost_reasons=("Не нашли выход на ЛПР", "Не отвечает"),
        ),
        StepSpec(
            "referrer",
            0.70,
            (48, 720),
            skip_prob=0.20,
            regression_prob=0.03,
            lost_reasons=("Нет интереса", "Отложил решение"),
        ),
        StepSpec(
            "presentation",
            0.65,
            (24, 480),
            skip_prob=0.05,
            regression_prob=0.05,
            lost_reasons=("Нет бюджета", "Отложил решение", "Выбрал конкурента"),
        ),
        StepSpec(
            "proposal",
            0.60,
            (48, 720),
            skip_prob=0.05,
            regression_prob=0.06,
            lost_reasons=("Дорого", "Выбрал конкурента"),
        ),
        StepSpec(
            "negotiation",
            0.65,
            (72, 1440),
            skip_prob=0.10,
            regression_prob=0.10,
            lost_reasons=("Не согласовали условия", "Юридические риски", "Отложил решение"),
        ),
    ),
    monthly_volume=40,
    seasonality=(0.80, 1.00, 1.05, 1.05, 1.00, 1.00, 0.95, 0.85, 1.10, 1.10, 1.05, 1.05),
    open_weekdays=WORK_DAYS,
    open_hours=(9, 18),
    closed_days=NEW_YEAR_HOLIDAYS,
    managers=(
        ("Волков Сергей", 0.45),
        ("Фёдорова Наталья", 0.30),
        ("Павлов Игорь", 0.25),
    ),
    manager_multipliers={
        "Волков Сергей": {"presentation": 1.05},
        "Фёдорова Наталья": {"analysis": 1.35},
        "Павлов Игорь": {"shortlisted": 0.50},
    },
    sources=(
        ("Аналитика рынка", 0.55),
        ("Рекомендация", 0.25),
        ("Конференция", 0.20),
    ),
    source_multipliers={
        "Аналитика рынка": {"analysis": 0.90},
        "Рекомендация": {"analysis": 1.30, "referrer": 1.30},
        "Конференция": {"shortlisted": 1.15},
    },
    weakest=("Павлов Игорь", "shortlisted"),
    strongest=("Фёдорова Наталья", "analysis"),
    loss_delay_hours=(72, 1440),
    amount_range=(2_000_000, 30_000_000),
    amount_step=10_000,
    titles=(
        "Комплексный контракт",
        "Рамочный договор поставки",
        "Годовой сервисный контракт",
        "Пилотный проект",
    ),
    repeat_calls=False,
)


@dataclass(frozen=True)
class PlantedChange:
    """The demo's one real change: from `from_month` on (t0 on the scenario's clock),
    `manager`'s probability of leaving `from_key` for the next stage is multiplied by
    `factor`. Every other rate stays as declared, so months and steps it does not touch
    are where a change detector must stay quiet."""

    funnel_id: str
    manager: str
    from_key: str
    from_month: dt.date
    factor: float

    def applies(self, funnel_id: str, manager: str, t0: dt.datetime) -> bool:
        return (
            funnel_id == self.funnel_id and manager == self.manager and t0.date() >= self.from_month
        )


# b2b's busiest cold caller (~45 answered cold calls a month) books meetings at 0.30 × 0.1
# = 0.03 from May 2026: −27 pp, two mature cohort months (May, June) before the snapshot.
# Not doors: its plan test pools the last three mature months against the all-months rate.
PLANTED_CHANGE = PlantedChange("b2b", "Иванов Иван", "cold_call", dt.date(2026, 5, 1), 0.1)

FUNNELS = (DOORS, B2B, KEY_ACCOUNTS)
FUNNEL_BY_ID = {funnel.funnel_id: funnel for funnel in FUNNELS}
WEAKEST = {funnel.funnel_id: funnel.weakest for funnel in FUNNELS}
STRONGEST = {funnel.funnel_id: funnel.strongest for funnel in FUNNELS}

PROBABILITY_FLOOR = 0.01
PROBABILITY_CEILING = 0.99


def advance_probability(
    funnel: FunnelScenario, manager: str, source: str, order: int, changed: bool = False
) -> float:
    """P(advance from stage `order` to the next): base × manager × source, clipped;
    × the planted change's factor at its step when `changed` (PlantedChange.applies)."""
    key = funnel.stages[order - 1].key
    rate = (
        funnel.steps[order - 1].base_rate
        * funnel.manager_multipliers.get(manager, {}).get(key, 1.0)
        * funnel.source_multipliers.get(source, {}).get(key, 1.0)
    )
    if changed and key == PLANTED_CHANGE.from_key:
        rate *= PLANTED_CHANGE.factor
    return min(max(rate, PROBABILITY_FLOOR), PROBABILITY_CEILING)


def is_skippable(funnel: FunnelScenario, order: int) -> bool:
    """Stage 1, the deal-creating stage and the last stage are always recorded."""
    return order not in (1, funnel.deal_stage_order, len(funnel.stages))


def can_regress(funnel: FunnelScenario, order: int) -> bool:
    """Only CRM stages after the first CRM stage move back (never the won status)."""
    return funnel.deal_stage_order < order < len(funnel.stages)


def skip_probability(funnel: FunnelScenario, order: int) -> float:
    return funnel.steps[order - 1].skip_prob if is_skippable(funnel, order) else 0.0


def crm_stage_name(stage: StageSpec, on: dt.date) -> str:
    """The CRM's name of a stage on a local date (stages get renamed)."""
    for crm_name in stage.crm_names:
        if (crm_name.valid_from is None or crm_name.valid_from <= on) and (
            crm_name.valid_to is None or on <= crm_name.valid_to
        ):
            return crm_name.name
    raise ValueError(f"stage {stage.key!r} has no CRM name on {on}")


def calendar_months() -> tuple[dt.date, ...]:
    months = []
    year, month = FIRST_MONTH.year, FIRST_MONTH.month
    for _ in range(MONTHS):
        months.append(dt.date(year, month, 1))
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return tuple(months)


def next_month(month: dt.date) -> dt.date:
    return (
        dt.date(month.year + 1, 1, 1) if month.month == 12 else month.replace(month=month.month + 1)
    )


def local_to_utc(moment: dt.datetime) -> dt.datetime:
    return (moment - UTC_OFFSET).replace(tzinfo=dt.UTC)


def wall_time(moment: dt.datetime, zone: str = TIMEZONE) -> dt.datetime:
    """A scenario time as a wall clock in `zone` shows that instant (naive). Converting
    instants never yields a wall time a DST change skips; one it repeats is written
    without its offset, as exports do."""
    if zone == TIMEZONE:
        return moment
    return local_to_utc(moment).astimezone(ZoneInfo(zone)).replace(tzinfo=None)
