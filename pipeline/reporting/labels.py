"""Report wording per locale: the only place the report's own text lives.

Stage and funnel names come from the config; everything else a reader sees is here.
Keys are identical across locales (a unit test checks it).
"""

from __future__ import annotations

from types import MappingProxyType

_RU = {
    "report_kind": "Ежемесячный отчёт по воронке продаж",
    "data_as_of": "Данные на",
    "page": "Стр.",
    "of": "из",
    "views_title": "Два взгляда на воронку",
    "view_cohort": "Когорта",
    "view_period": "Период",
    "view_cohort_def": (
        "сущности, чей первый зафиксированный этап пришёлся на месяц; "
        "каждую ведём {window_days} дн. и смотрим, до какого этапа она дошла."
    ),
    "view_period_def": (
        "входы на каждый этап в течение месяца; конверсия — отношение этих "
        "входов и может превышать 100\u00a0%."
    ),
    "kpi_title": "Главное за месяц",
    "kpi_top_volume": "Вход в воронку",
    "kpi_closed": "Закрытые продажи",
    "kpi_overall_conversion": "Сквозная конверсия",
    "kpi_weakest_step": "Самый слабый шаг",
    "kpi_period_note": "период, {month}",
    "kpi_cohort_note": "когорта {month}",
    "kpi_no_mature": "зрелой когорты пока нет",
    "vs_prev": "к пред. месяцу",
    "vs_year": "к году ранее",
    "no_comparison": "нет данных",
    "period_title": "Период: {month}",
    "period_lead": "Сколько сущностей вошло на каждый этап за месяц.",
    "cohort_title": "Когорта: {month}",
    "cohort_lead": (
        "Последняя зрелая когорта: все её сущности прошли окно {window_days} дн. "
        "до даты среза. В скобках — 95\u00a0% интервал Уилсона."
    ),
    "cohort_open_title": "Когорта {month} — ещё не зрелая",
    "cohort_open_lead": (
        "Окно когорты ещё не закрыто: {share_open} сущностей в работе, "
        "поэтому конверсии пока занижены."
    ),
    "no_mature_cohort": "В данных пока нет зрелой когорты до этого месяца.",
    "chart_dropoff": "отсев",
    "chart_weakest": "самый слабый шаг",
    "col_stage": "Этап",
    "col_entities": "Сущности",
    "col_conversion_to_next": "Конверсия в след.",
    "col_interval": "95\u00a0% интервал",
    "col_dropoff": "Отсев",
    "col_from_first": "От первого этапа",
    "col_share_open": "В работе",
    "trend_title": "Конверсия по шагам: когорты за 12 месяцев",
    "trend_lead": (
        "Конверсия в следующий этап по месяцам когорты. Серым со знаком ° — "
        "незрелые когорты: их окно ещё открыто."
    ),
    "trend_cohort_size": "Размер когорты",
    "trend_overall": "Сквозная конверсия",
    "immature_mark": "°",
    "segments_title": "Разрезы",
    "segments_lead": (
        "Вход и закрытые продажи — период {month}; сквозная конверсия — когорта {cohort_month}."
    ),
    "segments_lead_period": "Вход и закрытые продажи — период {month}.",
    "segments_more": "и ещё {count}",
    "segment_type_manager": "Менеджер",
    "segment_type_lead_source": "Источник лида",
    "col_segment_top": "Вход в воронку",
    "col_segment_closed": "Закрытые продажи",
    "col_segment_cohort": "Когорта: сущности",
    "col_segment_overall": "Сквозная конверсия",
    "no_data": "За этот месяц в витринах нет данных по воронке.",
    "method_title": "Как считать",
    "method_text": (
        "Все числа взяты из витрин хранилища, отчёт их только форматирует. "
        "Изменения — разность со значением прошлого месяца или того же месяца годом ранее "
        "(для конверсий — в процентных пунктах, п. п.). "
        "Когорта зрелая, когда конец месяца плюс окно {window_days} дн. не позже даты среза."
    ),
    "points": "п. п.",
    "not_available": "—",
}

_EN = {
    "report_kind": "Monthly sales funnel report",
    "data_as_of": "Data as of",
    "page": "Page",
    "of": "of",
    "views_title": "Two views of the funnel",
    "view_cohort": "Cohort",
    "view_period": "Period",
    "view_cohort_def": (
        "entities whose first recorded step was in the month, each followed for "
        "{window_days} days to see how far it got."
    ),
    "view_period_def": (
        "entries into each step during the month; conversion is the ratio of these "
        "entries and can exceed 100%."
    ),
    "kpi_title": "The month at a glance",
    "kpi_top_volume": "Top of funnel",
    "kpi_closed": "Closed sales",
    "kpi_overall_conversion": "Overall conversion",
    "kpi_weakest_step": "Weakest step",
    "kpi_period_note": "period, {month}",
    "kpi_cohort_note": "cohort {month}",
    "kpi_no_mature": "no mature cohort yet",
    "vs_prev": "vs previous month",
    "vs_year": "vs a year earlier",
    "no_comparison": "no data",
    "period_title": "Period: {month}",
    "period_lead": "How many entities entered each stage during the month.",
    "cohort_title": "Cohort: {month}",
    "cohort_lead": (
        "The latest mature cohort: all its entities have had their {window_days}-day "
        "window before the data cutoff. In brackets: the 95% Wilson interval."
    ),
    "cohort_open_title": "Cohort {month}, not yet mature",
    "cohort_open_lead": (
        "The cohort's window is still open: {share_open} of its entities are in progress, "
        "so its conversions are understated for now."
    ),
    "no_mature_cohort": "The data has no mature cohort up to this month yet.",
    "chart_dropoff": "drop-off",
    "chart_weakest": "weakest step",
    "col_stage": "Stage",
    "col_entities": "Entities",
    "col_conversion_to_next": "Conversion to next",
    "col_interval": "95% interval",
    "col_dropoff": "Drop-off",
    "col_from_first": "From first stage",
    "col_share_open": "In progress",
    "trend_title": "Step conversion: cohorts of the last 12 months",
    "trend_lead": (
        "Conversion to the next stage by cohort month. Grey figures with ° mark immature "
        "cohorts whose window is still open."
    ),
    "trend_cohort_size": "Cohort size",
    "trend_overall": "Overall conversion",
    "immature_mark": "°",
    "segments_title": "Segments",
    "segments_lead": (
        "Top of funnel and closed sales: period {month}; overall conversion: cohort {cohort_month}."
    ),
    "segments_lead_period": "Top of funnel and closed sales: period {month}.",
    "segments_more": "and {count} more",
    "segment_type_manager": "Manager",
    "segment_type_lead_source": "Lead source",
    "col_segment_top": "Top of funnel",
    "col_segment_closed": "Closed sales",
    "col_segment_cohort": "Cohort entities",
    "col_segment_overall": "Overall conversion",
    "no_data": "The marts hold no data for this funnel in this month.",
    "method_title": "How to read it",
    "method_text": (
        "Every number comes from the warehouse marts; the report only formats them. "
        "Changes are differences from the previous month or the same month a year earlier "
        "(percentage points, pp, for conversions). "
        "A cohort is mature when the end of its month plus the {window_days}-day window "
        "is not after the data cutoff."
    ),
    "points": "pp",
    "not_available": "—",
}

LABELS: MappingProxyType[str, MappingProxyType[str, str]] = MappingProxyType(
    {"ru": MappingProxyType(_RU), "en": MappingProxyType(_EN)}
)


def labels_for(locale: str) -> MappingProxyType[str, str]:
    try:
        return LABELS[locale]
    except KeyError:
        raise ValueError(f"no report labels for locale {locale!r}; have {sorted(LABELS)}") from None
