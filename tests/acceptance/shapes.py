"""The acceptance corpus: eleven export shapes (nine of CRMs, two call logs with their CRM
export), each a set of files under exports/<shape>/ with the voronka.yaml sources and
funnel that read them.

This module is configuration only (what a user would write in voronka.yaml). The hand
counter (hand_count.py) reads the same stage names and windows from here and the same
files from exports/, and counts with plain Python; nothing here imports the pipeline.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DATA = Path(__file__).parent / "exports"

# Every shape runs under each of these business time zones (one project per zone).
ZONES = ("Europe/Moscow", "America/New_York")

MANAGERS = [
    {"name": "Смирнова Анна", "aliases": ["Смирнова А.", "ext:101"]},
    {"name": "Кузнецов Пётр", "aliases": ["Кузнецов П.", "ext:102"]},
    {"name": "Попова Мария", "aliases": ["Попова М.", "ext:103"]},
    {"name": "Иванов Иван", "aliases": ["Иванов И.", "ext:104"]},
    {"name": "Соколова Елена", "aliases": ["Соколова Е."]},
    {"name": "Морозов Дмитрий", "aliases": ["Морозов Д."]},
    {"name": "Васильев Олег", "aliases": []},
    {"name": "Новикова Ольга", "aliases": []},
    {"name": "Павлов Игорь", "aliases": []},
    {"name": "Фёдорова Наталья", "aliases": []},
    {"name": "Волков Сергей", "aliases": []},
    {"name": "Лебедев Артём", "aliases": []},
]


@dataclass(frozen=True)
class Shape:
    name: str
    what: str
    sources: list[dict[str, Any]]
    funnel: dict[str, Any]
    report_month: str  # a month with data, for the one PDF rendered per shape
    zone_sensitive: bool = True  # some deals change cohort month between ZONES
    notes: list[str] = field(default_factory=list)

    @property
    def window_days(self) -> int:
        return self.funnel["window_days"]

    @property
    def pipeline(self) -> str | None:
        return self.funnel["crm"][0].get("pipeline")

    @property
    def stage_keys(self) -> list[str]:
        return [stage["key"] for stage in self.funnel["stages"]]

    def source(self, name: str) -> dict[str, Any]:
        return next(s for s in self.sources if s["name"] == name)


def stage(key: str, en: str, *crm_names: str, ru: str | None = None) -> dict[str, Any]:
    names = [{"name": n} for n in crm_names]
    return {"key": key, "name": {"ru": ru or en, "en": en}, "crm_stages": names}


# A call stage: an answered inbound call (a conversation: calls.conversation_min_s).
INCOMING_CALL = {
    "key": "call",
    "name": {"ru": "Входящий звонок", "en": "Incoming call"},
    "calls": {"direction": "inbound", "answered": True},
}


def won(key: str = "won", en: str = "Won", ru: str = "Успешно") -> dict[str, Any]:
    return {"key": key, "name": {"ru": ru, "en": en}, "crm_status": "won"}


def funnel(fid: str, en: str, crm: list[dict], window: int, stages: list[dict]) -> dict[str, Any]:
    return {
        "id": fid,
        "name": {"ru": en, "en": en},
        "crm": crm,
        "reach": "implied",
        "window_days": window,
        "segments": ["manager", "lead_source"],
        "stages": stages,
    }


AMO_STAGES = [
    stage("contact", "First contact", "Первичный контакт", ru="Первичный контакт"),
    stage("negotiation", "Negotiation", "Переговоры", ru="Переговоры"),
    stage("decision", "Decision", "Принимают решение", ru="Принимают решение"),
    stage("contract", "Contract", "Согласование договора", ru="Согласование договора"),
    won(),
]

SHAPES: dict[str, Shape] = {
    s.name: s
    for s in [
        Shape(
            "amo_single",
            "one amoCRM deals export, current stage only, no history (2019-2020, cp1251)",
            sources=[
                {
                    "name": "amo_single",
                    "kind": "crm",
                    "preset": "amocrm",
                    "files": "amo_single/*.csv",
                    "timezone": "Europe/Moscow",
                },
            ],
            funnel=funnel(
                "amo_single",
                "Doors (amoCRM, one export)",
                [{"source": "amo_single", "pipeline": "Розница"}],
                60,
                AMO_STAGES,
            ),
            report_month="2019-11",
            notes=["file name without a date: the snapshot time comes from the rows"],
        ),
        Shape(
            "amo_events",
            "amoCRM deals export + events export (generic crm_history, long format)",
            sources=[
                {
                    "name": "amo_events",
                    "kind": "crm",
                    "preset": "amocrm",
                    "files": "amo_events/amocrm_deals_*.csv",
                    "timezone": "Europe/Moscow",
                },
                {
                    "name": "amo_events_log",
                    "kind": "crm_history",
                    "history_of": "amo_events",
                    "preset": "generic",
                    "files": "amo_events/amocrm_events*.csv",
                    "timezone": "Europe/Moscow",
                    "columns": {
                        "deal_id": "ID объекта",
                        "stage": "Значение после",
                        "entered_at": "Дата",
                        "manager": "Автор",
                    },
                },
            ],
            funnel=funnel(
                "amo_events",
                "Furniture (amoCRM + events)",
                [{"source": "amo_events", "pipeline": "Воронка"}],
                90,
                AMO_STAGES,
            ),
            report_month="2025-09",
            notes=["deals created before 01.07.2025 have no events (the export's range)"],
        ),
        Shape(
            "amo_weekly",
            "two weekly amoCRM exports of the same deals (2026)",
            sources=[
                {
                    "name": "amo_weekly",
                    "kind": "crm",
                    "preset": "amocrm",
                    "files": "amo_weekly/*.csv",
                    "timezone": "Europe/Moscow",
                },
            ],
            funnel=funnel(
                "amo_weekly",
                "Windows (amoCRM, weekly exports)",
                [{"source": "amo_weekly", "pipeline": "Воронка"}],
                30,
                AMO_STAGES,
            ),
            report_month="2026-04",
        ),
        Shape(
            "leads",
            "lead list (constant stage, no pipeline) + won file (generic crm_history, stage_dates)",
            sources=[
                {
                    "name": "leads",
                    "kind": "crm",
                    "preset": "generic",
                    "files": "leads/lead_list*.csv",
                    "timezone": "Europe/Moscow",
                    "columns": {
                        "deal_id": "№",
                        "created_at": "Дата обращения",
                        "client_phone": "Телефон",
                        "lead_source": "Канал",
                        "manager": "Менеджер",
                        "city": "Город",
                    },
                    "stage": {"value": "new"},
                },
                {
                    "name": "lead_outcomes",
                    "kind": "crm_history",
                    "history_of": "leads",
                    "preset": "generic",
                    "files": "leads/won_deals*.csv",
                    "timezone": "Europe/Moscow",
                    "columns": {"deal_id": "№ лида"},
                    "stage_dates": {"Договор": "Дата договора", "Оплата": "Дата оплаты"},
                },
            ],
            funnel=funnel(
                "leads",
                "Leads (list + won file)",
                [{"source": "leads"}],
                60,
                [
                    stage("lead", "Lead", "new", ru="Обращение"),
                    stage("contract", "Contract", "Договор", ru="Договор"),
                    stage("paid", "Paid", "Оплата", ru="Оплата"),
                ],
            ),
            report_month="2020-03",
        ),
        Shape(
            "opportunities",
            "an analyst's opportunity table: one date column per stage, blanks (generic crm "
            "with stage_dates)",
            sources=[
                {
                    "name": "opportunities",
                    "kind": "crm",
                    "preset": "generic",
                    "files": "opportunities/*.csv",
                    "columns": {
                        "deal_id": "Сделка",
                        "crm_pipeline": "Направление",
                        "manager": "Менеджер",
                        "lead_source": "Источник",
                        "stage": "Этап",
                        "created_at": "Создана",
                        "closed_at": "Закрыта",
                        "amount": "Сумма",
                        "client": "Клиент",
                    },
                    "status": {"won": ["Выиграна"], "lost": ["Проиграна"]},
                    "stage_dates": {
                        "Квалификация": "Квалификация",
                        "Демонстрация": "Демонстрация",
                        "КП отправлено": "КП отправлено",
                    },
                },
            ],
            funnel=funnel(
                "opportunities",
                "B2B (opportunity table)",
                [{"source": "opportunities", "pipeline": "Продажи"}],
                45,
                [
                    stage("new", "New", "Новая", ru="Новая"),
                    stage("qualified", "Qualified", "Квалификация", ru="Квалификация"),
                    stage("demo", "Demo", "Демонстрация", ru="Демонстрация"),
                    stage("proposal", "Proposal", "КП отправлено", ru="КП отправлено"),
                    won(),
                ],
            ),
            report_month="2025-12",
            zone_sensitive=False,  # dates only, naive in the business zone: no shift
        ),
        Shape(
            "hubspot",
            "HubSpot deals export with Date entered columns (portal zone America/Chicago)",
            sources=[
                {
                    "name": "hubspot",
                    "kind": "crm",
                    "preset": "hubspot",
                    "files": "hubspot/*.csv",
                    "timezone": "America/Chicago",
                },
            ],
            funnel=funnel(
                "hubspot",
                "SaaS (HubSpot)",
                [{"source": "hubspot", "pipeline": "Sales Pipeline"}],
                90,
                [
                    stage("appointment", "Appointment", "Appointment scheduled"),
                    stage("qualified", "Qualified", "Qualified to buy"),
                    stage("presentation", "Presentation", "Presentation scheduled"),
                    stage("decision", "Decision maker", "Decision maker bought-in"),
                    stage("contract", "Contract sent", "Contract sent"),
                    won(),
                ],
            ),
            report_month="2025-03",
        ),
        Shape(
            "pipedrive",
            "Pipedrive deals export (Berlin) + deal flow (UTC log times)",
            sources=[
                {
                    "name": "pipedrive",
                    "kind": "crm",
                    "preset": "pipedrive",
                    "files": "pipedrive/deals*.csv",
                    "timezone": "Europe/Berlin",
                },
                {
                    "name": "pipedrive_flow",
                    "kind": "crm_history",
                    "history_of": "pipedrive",
                    "preset": "pipedrive",
                    "files": "pipedrive/deal-flow*.csv",
                    "timezone": "UTC",
                },
            ],
            funnel=funnel(
                "pipedrive",
                "Retail tech (Pipedrive)",
                [{"source": "pipedrive", "pipeline": "Sales"}],
                60,
                [
                    stage("lead_in", "Lead in", "1", "Lead In"),
                    stage("contact", "Contact made", "2", "Contact Made"),
                    stage("demo", "Demo", "3", "Demo Scheduled"),
                    stage("proposal", "Proposal", "4", "Proposal Made"),
                    stage("negotiation", "Negotiation", "5", "Negotiations Started"),
                    won(),
                ],
            ),
            report_month="2019-05",
        ),
        Shape(
            "bitrix",
            "Bitrix24 deals export (Yekaterinburg) + crm.stagehistory.list rows",
            sources=[
                {
                    "name": "bitrix",
                    "kind": "crm",
                    "preset": "bitrix24",
                    "files": "bitrix/DEAL_*.csv",
                    "timezone": "Asia/Yekaterinburg",
                },
                {
                    "name": "bitrix_history",
                    "kind": "crm_history",
                    "history_of": "bitrix",
                    "preset": "bitrix24",
                    "files": "bitrix/stagehistory*.csv",
                    "timezone": "Asia/Yekaterinburg",
                },
            ],
            funnel=funnel(
                "bitrix",
                "Machine tools (Bitrix24)",
                [{"source": "bitrix", "pipeline": "Общая"}],
                90,
                [
                    stage("new", "New", "NEW", "Новая", ru="Новая"),
                    stage(
                        "docs",
                        "Documents",
                        "PREPARATION",
                        "Подготовка документов",
                        ru="Подготовка документов",
                    ),
                    stage(
                        "invoice",
                        "Prepayment invoice",
                        "PREPAYMENT_INVOICE",
                        "Счёт на предоплату",
                        ru="Счёт на предоплату",
                    ),
                    stage("work", "In progress", "EXECUTING", "В работе", ru="В работе"),
                    won(),
                ],
            ),
            report_month="2025-10",
        ),
        Shape(
            "salesforce",
            "Salesforce Opportunity + OpportunityHistory (Data Loader, UTC times)",
            sources=[
                {
                    "name": "salesforce",
                    "kind": "crm",
                    "preset": "salesforce",
                    "files": "salesforce/Opportunity.csv",
                },
                {
                    "name": "salesforce_history",
                    "kind": "crm_history",
                    "history_of": "salesforce",
                    "preset": "salesforce",
                    "files": "salesforce/OpportunityHistory*.csv",
                },
            ],
            funnel=funnel(
                "salesforce",
                "Enterprise (Salesforce)",
                [{"source": "salesforce", "pipeline": "New Business"}],
                120,
                [
                    stage("prospecting", "Prospecting", "Prospecting"),
                    stage("qualification", "Qualification", "Qualification"),
                    stage("needs", "Needs analysis", "Needs Analysis"),
                    stage("proposal", "Proposal", "Proposal/Price Quote"),
                    stage("negotiation", "Negotiation", "Negotiation/Review"),
                    won(),
                ],
            ),
            report_month="2020-03",
        ),
        Shape(
            "mango",
            "Mango Office call statistics (API layout) + one amoCRM export: call stages, "
            "call leads and missed calls",
            sources=[
                {
                    "name": "mango_amo",
                    "kind": "crm",
                    "preset": "amocrm",
                    "files": "mango/amocrm_export_*.csv",
                    "timezone": "Europe/Moscow",
                },
                {
                    "name": "mango_calls",
                    "kind": "calls",
                    "preset": "mango",
                    "files": "mango/stats_*.csv",
                },
            ],
            funnel={
                **funnel(
                    "mango",
                    "Doors (Mango Office + amoCRM)",
                    [{"source": "mango_amo", "pipeline": "Розница"}],
                    60,
                    [
                        INCOMING_CALL,
                        stage("measure", "Measurer invited", "Вызов замерщика"),
                        stage("visit", "Measurer visit", "Замер выполнен"),
                        won("paid", "Order paid", "Заказ оплачен"),
                    ],
                ),
                "calls": {"source": "mango_calls", "lines": ["+7 (495) 111-22-33"]},
                "link_days": 14,
            },
            report_month="2025-10",
            notes=[
                "calls link to deals by phone; the others are call leads by episode",
                "a 20- and a 25-second answered call are no conversations",
            ],
        ),
        Shape(
            "twilio_us",
            "Twilio call log + HubSpot deals of a US team: North American national numbers",
            sources=[
                {
                    "name": "twilio_us_crm",
                    "kind": "crm",
                    "preset": "hubspot",
                    "files": "twilio_us/hubspot-*.csv",
                    "timezone": "America/New_York",
                    "phone_country": "US",
                },
                {
                    "name": "twilio_us_calls",
                    "kind": "calls",
                    "preset": "twilio",
                    "files": "twilio_us/twilio-*.csv",
                    "phone_country": "US",
                },
            ],
            funnel={
                **funnel(
                    "twilio_us",
                    "Doors (Twilio + HubSpot)",
                    [{"source": "twilio_us_crm", "pipeline": "Sales Pipeline"}],
                    30,
                    [
                        INCOMING_CALL,
                        stage("appointment", "Appointment", "Appointment scheduled"),
                        stage("qualified", "Qualified", "Qualified to buy"),
                        won(),
                    ],
                ),
                "calls": {"source": "twilio_us_calls", "lines": ["(312) 555-0000"]},
                "link_days": 14,
            },
            report_month="2025-10",
            notes=[
                "(917) 555-0102 is +1 917 555 0102 (phone_country US), not +7 917 555-01-02",
            ],
        ),
    ]
}


def config_for(zone: str, shapes: list[Shape]) -> dict[str, Any]:
    """One voronka.yaml (as data) with every shape's sources and funnel, in `zone`."""
    return {
        "timezone": zone,
        "locales": ["ru", "en"],
        "paths": {
            "inbox": "inbox",
            "landing": "landing",
            "warehouse": "warehouse.duckdb",
            "reports": "reports",
        },
        # Small hand-made files: one bad row in 13 is 7.7 %.
        "quality": {"max_reject_ratio": 0.1},
        "privacy": {"phone_hash_key": "acceptance-corpus"},
        "managers": MANAGERS,
        "sources": [source for shape in shapes for source in shape.sources],
        "funnels": [shape.funnel for shape in shapes],
        "delivery": {"failures_dir": "failures"},
    }
