"""Report wording per locale: the only place the report's own text lives.

Stage and funnel names come from the config; everything else a reader sees is here.
Keys are identical across locales (a unit test checks it). "Clients" is the plain word
for the funnel's entities (deals and call leads alike), used everywhere.
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
        "клиенты, чей первый зафиксированный этап пришёлся на месяц; "
        "каждого ведём {window_days} дн. и смотрим, до какого этапа он дошёл."
    ),
    "view_period_def": (
        "входы на каждый этап в течение месяца; конверсия — отношение этих "
        "входов и может превышать 100\u00a0%."
    ),
    "kpi_title": "Главное за месяц",
    "kpi_top_volume": "Вход в воронку",
    "kpi_closed": "Закрытые продажи",
    "kpi_won_amount": "Выручка",
    "kpi_overall_conversion": "Сквозная конверсия",
    "kpi_sales_cycle": "Цикл сделки",
    "kpi_bottleneck": "Узкое место",
    "kpi_weakest_step": "Самый слабый шаг",
    "kpi_period_note": "период, {month}",
    "kpi_cohort_note": "когорта {month}",
    "kpi_closed_note": "сделки, закрытые за {month}",
    "kpi_window_note": "когорты за {months}",
    "kpi_no_mature": "зрелой когорты пока нет",
    "kpi_avg_deal": "средний чек {value}",
    "kpi_cycle_detail": "медиана; 80\u00a0% сделок — не дольше {value} дн.",
    "kpi_cycle_median": "медиана",
    "kpi_days": "{value}\u00a0дн.",
    "kpi_bottleneck_value": "≈\u00a0+{value}",
    "kpi_bottleneck_sentence": (
        "Поднять «{step}» с {team_rate} до {best_rate} (лучший: {manager}) — "
        "это ≈\u00a0{extra} закрытых продаж в месяц дополнительно."
    ),
    "kpi_no_standout": (
        "Ни один менеджер не лучше остальной команды значимо ни на одном шаге "
        "(когорты за {months}), поэтому здесь шаг с наибольшим отсевом: {dropoff}."
    ),
    "kpi_no_standout_plain": (
        "Ни один менеджер не лучше остальной команды значимо ни на одном шаге "
        "(когорты за {months})."
    ),
    "kpi_weakest_sentence": "Шаг с наибольшим отсевом в когорте: {dropoff}.",
    "kpi_weakest_none": (
        "Меньше двух шагов, на которые вошло 30 и больше клиентов: сравнивать шаги рано."
    ),
    "vs_prev": "к пред. месяцу",
    "vs_year": "к году ранее",
    "no_comparison": "нет данных",
    "period_title": "Период: {month}",
    "period_lead": "Сколько клиентов вошло на каждый этап за месяц.",
    "cohort_title": "Когорта: {month}",
    "cohort_lead": (
        "Последняя зрелая когорта: все её клиенты прошли окно {window_days} дн. "
        "до даты среза. В скобках — 95\u00a0% интервал Уилсона."
    ),
    "cohort_durations_note": (
        "Дней на этапе — медиана дней от входа на этап до следующего этапа у клиентов, "
        "вошедших на этап за {month} и перешедших дальше."
    ),
    "cohort_open_title": "Когорта {month} — ещё не зрелая",
    "cohort_open_lead": (
        "Окно когорты ещё не закрыто: {share_open} её клиентов в работе, "
        "поэтому конверсии пока занижены, а самый слабый шаг не отмечается."
    ),
    "cohort_no_weakest": (
        "Самый слабый шаг не отмечен: меньше двух шагов, на которые вошло 30 и больше "
        "клиентов, — для сравнения мало данных."
    ),
    "no_mature_cohort": "В данных пока нет зрелой когорты до этого месяца.",
    "chart_dropoff": "отсев",
    "chart_weakest": "самый слабый шаг",
    "col_stage": "Этап",
    "col_entities": "Клиенты",
    "col_conversion_to_next": "Конверсия в след.",
    "col_interval": "95\u00a0% интервал",
    "col_dropoff": "Отсев",
    "col_from_first": "От первого этапа",
    "col_median_days": "Дней на этапе",
    "trend_title": "Конверсия по шагам: когорты за 12 месяцев",
    "trend_lead": (
        "Конверсия в следующий этап по месяцам когорты. Серым со знаком ° — "
        "незрелые когорты: их окно ещё открыто."
    ),
    "trends_lead": (
        "Каждый график — 12 когорт по месяцам. Сплошная линия и залитые точки — зрелые "
        "когорты; пунктир и пустые точки — незрелые (окно ещё открыто, значения занижены). "
        "Обведена последняя зрелая когорта; шкала у каждого графика своя: от минимума до "
        "максимума."
    ),
    "trends_latest": "{month}: {value}",
    "trends_vs_year": "к году ранее {change}",
    "trend_cohort_size": "Размер когорты (клиенты)",
    "trend_overall": "Сквозная конверсия",
    "immature_mark": "°",
    "managers_title": "Менеджеры против команды",
    "managers_lead": (
        "Конверсия каждого шага у менеджера; когорты за {months} вместе ({count} мес.: "
        "по одному месяцу слишком мало сделок). Выделены только значимые отличия от "
        "остальной команды (95\u00a0% интервал менеджера не содержит её конверсию, "
        "не меньше 30 клиентов)."
    ),
    "managers_rank": (
        "«Оценка» — сглаженная конверсия шага «{step}»{bottleneck}: конверсия менеджера, "
        "подтянутая к командной тем сильнее, чем меньше у него клиентов, чтобы 3 из 4 не "
        "обгоняли 60 из 100. По ней — порядок строк."
    ),
    "managers_rank_bottleneck": " (узкое место)",
    "managers_rank_weakest": " (самый слабый шаг)",
    "managers_legend_above": "выше команды",
    "managers_legend_below": "ниже команды",
    "managers_legend_few": "мало данных — меньше 30 клиентов, не оцениваем",
    "col_rank": "№",
    "col_manager": "Менеджер",
    "col_rank_rate": "Оценка",
    "team": "Команда",
    "too_few": "мало данных",
    "n_clients": "из\u00a0{n}",
    "lost_title": "Причины потерь по этапам",
    "lost_lead": (
        "Сделки, проигранные за {month}, по последнему этапу, которого они достигли, "
        "и причине из CRM."
    ),
    "col_lost_stage": "Последний этап",
    "col_reason": "Причина",
    "col_lost_deals": "Сделок",
    "lost_more": "и ещё причин: {count}",
    "lost_none": "В этом месяце проигранных сделок нет.",
    "plan_title": "План на {month}",
    "plan_lead": (
        "Сколько клиентов нужно на каждом этапе для {target} закрытых продаж, если "
        "конверсии будут как у когорт за {basis} (сводно); округлено вверх до целого "
        "клиента. Диапазон — по границам 95\u00a0% интервалов конверсий."
    ),
    "plan_too_wide_mark": "слишком широк",
    "plan_too_wide": (
        "Диапазон «слишком широк», когда его верх больше низа более чем в {ratio} раза: "
        "по нему нельзя планировать — за какой-то конверсией мало клиентов, а границы "
        "всех шагов перемножаются. Число «Нужно клиентов» тогда — грубый ориентир, "
        "пока не накопится история."
    ),
    "col_plan_rate": "Конверсия в след.",
    "col_plan_needed": "Нужно клиентов",
    "col_plan_range": "Диапазон",
    "quality_title": "Приложение: качество данных",
    "quality_files": "Файлы выгрузок",
    "quality_files_lead": (
        "По месяцу данных файла (его самой поздней записи); без месяца — файлы, "
        "не добавившие ни одной строки."
    ),
    "col_data_month": "Месяц данных",
    "col_source": "Источник",
    "col_files": "Файлы",
    "col_rows_read": "Строк прочитано",
    "col_file": "Файл",
    "col_sha256": "SHA-256 (начало)",
    "col_status": "Статус",
    "col_accepted": "Принято",
    "col_rejected": "Отклонено",
    "quality_files_detail_lead": (
        "Каждый файл с началом его SHA-256 (полный — в витрине data_files): сколько строк "
        "прочитано, принято и отклонено. Месяц данных — месяц самой поздней записи файла."
    ),
    "col_rows": "Строк",
    "no_month": "без месяца",
    "file_status_loaded": "загружен",
    "file_status_duplicate": "дубликат",
    "file_status_incomplete": "неполный",
    "file_status_empty": "пустой",
    "file_status_failed": "ошибка",
    "quality_rejected": "Отклонённые строки по причинам",
    "quality_rejected_none": "Отклонённых строк нет.",
    "quality_more": "и ещё {count}",
    "quality_unknown_managers": "Неизвестные менеджеры за {month}",
    "quality_unknown_managers_none": "Все менеджеры за {month} есть в настройках.",
    "col_name_as_written": "Как записано",
    "quality_unmapped": "Этапы CRM без соответствия",
    "quality_unmapped_none": "Нет: все этапы CRM этой воронки сопоставлены.",
    "col_pipeline": "Воронка CRM",
    "col_crm_stage": "Этап CRM",
    "col_deals": "Сделок",
    "col_first_seen": "Впервые",
    "quality_calls_not_linked": (
        "Звонки этой воронки за {month}, не связанные ни с одной сделкой: {count}."
    ),
    "leaks_title": "Потери на звонках за {month}",
    "col_missed_inbound": "Пропущено входящих",
    "col_not_called_back": "Не перезвонили",
    "col_call_leads": "Звонки без сделки в CRM",
    "leaks_lead": (
        "Не перезвонили — пропущенный входящий без ответа клиенту в отведённые часы. "
        "Звонки без сделки — клиенты, звонившие по линиям воронки, которых нет в CRM."
    ),
    "leaks_lead_no_call_stage": (
        "Не перезвонили — пропущенный входящий без ответа клиенту в отведённые часы."
    ),
    "value_unknown": "не указан",
    "reason_not_given": "причина не указана",
    "stage_none": "ни один этап",
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
    "col_segment_cohort": "Когорта: клиенты",
    "col_segment_overall": "Сквозная конверсия",
    "no_data": "За этот месяц в витринах нет данных по воронке.",
    "notice_stage_times_unknown": (
        "Время переходов между этапами неизвестно: в выгрузке CRM нет истории этапов, "
        "этапы видны только на дату выгрузки. Счёт клиентов по этапам верен, а "
        "длительности этапов не показаны. Присылайте выгрузку еженедельно или файл "
        "истории этапов."
    ),
    "notice_amended": (
        "Исправленный отчёт{edition}. После первой рассылки пришли поздние данные, и "
        "цифры, напечатанные в версии с данными на {as_of}, изменились:"
    ),
    "notice_amended_plain": (
        "Исправленный отчёт{edition}. После первой рассылки пришли поздние данные, и "
        "напечатанные в нём цифры изменились."
    ),
    "amended_edition": " (редакция {count})",
    "amended_period": "Период, {month}",
    "amended_cohort": "Когорта {month}",
    "amended_cohort_month": "Последняя зрелая когорта: {old} → {new}",
    "amended_entities": "«{stage}»: клиентов {old} → {new}",
    "amended_conversion_to_next": "«{stage}»: конверсия в след. {old} → {new}",
    "amended_median_days": "«{stage}»: дней на этапе {old} → {new}",
    "amended_more": "и ещё изменений: {count}",
    "reject_not_datetime": "«{value}» — не дата и время",
    "reject_dst_gap": (
        "«{value}» не бывает в поясе {zone}: при переводе часов этот час пропускается"
    ),
    "reject_excel_early": "«{value}» — дата Excel раньше 1 марта 1900 (0 — пустая ячейка)",
    "reject_two_digit_year": "«{value}»: год из двух цифр, пишите год полностью",
    "reject_implausible_year": "«{value}»: {year} год, вне допустимых {low}–{high}",
    "reject_after_read_day": "«{value}» — позже дня, когда файл прочитан ({day})",
    "reject_after_snapshot": "«{value}» — позже даты выгрузки в имени файла",
    "reject_after": "«{value}» — дата из будущего",
    "reject_not_number": "«{value}» — не число",
    "reject_not_seconds": "«{value}» — не целое число секунд",
    "reject_not_phone": "«{value}» — не номер телефона",
    "reject_unknown_disposition": "неизвестный исход звонка «{value}»",
    "reject_no_direction": "не понять направление звонка",
    "reject_empty_call_id": "нет номера звонка",
    "reject_empty_deal_id": "нет номера сделки",
    "reject_empty_stage": "нет этапа",
    "reject_empty_entered_at": "нет даты перехода на этап",
    "reject_empty_created_at": "нет даты создания",
    "reject_empty_started_at": "нет времени начала звонка",
    "reject_fields_vs_header": "в строке полей: {count}, в заголовке: {width}{truncated}",
    "reject_fields_asterisk": "в строке полей: {count}, у Asterisk их 16, 17 или 18",
    "reject_fields_vs_list": "в строке полей: {count}, в описании файла: {width}",
    "reject_truncated": " (строка оборвана?)",
    "reject_call_ends_before_start": (
        "звонок кончается («{ended}») раньше, чем начинается («{started}»)"
    ),
    "reject_value_too_long": "значение в {length} символов: читаем не больше {limit}",
    "reject_unclosed_quote": "кавычка не закрыта до конца строки",
    "reject_quoting": "ошибка в кавычках",
    "reject_none_given": "причина не записана",
    "reject_other": "другая причина (текст — в витрине data_quality)",
    "method_title": "Как читать отчёт",
    "def_changes": "Изменения",
    "def_changes_text": (
        "разность со значением прошлого месяца или того же месяца годом ранее (для "
        "конверсий — в процентных пунктах, п. п.). Все числа отчёта — из витрин "
        "хранилища, отчёт их только форматирует."
    ),
    "def_clients": "Клиенты",
    "def_clients_text": (
        "сделки CRM и обращения по телефону, не ставшие сделкой; каждый считается на "
        "этапе один раз, даже если возвращался назад."
    ),
    "def_cohort": "Когорта",
    "def_cohort_text": (
        "клиенты, впервые появившиеся в месяце; каждого ведём {window_days} дн. "
        "(окно) и смотрим, до какого этапа он дошёл. Отвечает на вопрос «насколько "
        "хорошо мы доводим клиентов до продажи»."
    ),
    "def_period": "Период",
    "def_period_text": (
        "сколько клиентов вошло на каждый этап за календарный месяц, кем бы они ни были. "
        "Так считают вручную; конверсия может быть больше 100\u00a0%."
    ),
    "def_window": "Окно",
    "def_window_text": (
        "{window_days} дн. от первого этапа: что случилось позже, когорте не засчитывается."
    ),
    "def_maturity": "Зрелость",
    "def_maturity_text": (
        "когорта зрелая, когда конец её месяца плюс окно уже прошли к дате среза; "
        "у незрелой часть клиентов ещё в работе, и её конверсии занижены."
    ),
    "def_wilson": "Интервал Уилсона",
    "def_wilson_text": (
        "диапазон, в котором с вероятностью 95\u00a0% лежит настоящая конверсия; "
        "чем меньше клиентов, тем он шире."
    ),
    "def_shrinkage": "Сглаженная оценка",
    "def_shrinkage_text": (
        "конверсия менеджера, подтянутая к командной тем сильнее, чем меньше у него "
        "клиентов, — чтобы случайная удача на малых числах не выводила в лидеры."
    ),
    "def_weakest": "Самый слабый шаг",
    "def_weakest_text": (
        "шаг с наибольшим отсевом в последней зрелой когорте среди шагов, на которые "
        "вошло 30 и больше клиентов (правило менеджеров); таких шагов меньше двух — не "
        "отмечается. Один на весь отчёт."
    ),
    "def_what_changed": "Что изменилось",
    "def_what_changed_text": (
        "конверсия каждого шага последней зрелой когорты против шести зрелых месяцев до "
        "неё, всего и по каждому сегменту: критерий разности двух долей, значимо при доле ложных "
        "открытий 5\u00a0% (Бенджамини — Хохберг), от 30 клиентов с каждой стороны."
    ),
    "def_bottleneck": "Узкое место",
    "def_bottleneck_text": (
        "шаг, где подъём конверсии команды до уровня лучшего менеджера добавил бы больше "
        "всего закрытых продаж в месяц, — если этот менеджер значимо лучше остальной "
        "команды. Нет такого — плитка называет самый слабый шаг."
    ),
    "def_plan": "План",
    "def_plan_text": (
        "цель по закрытым продажам, делённая назад на конверсии шагов последних зрелых "
        "когорт, с округлением вверх. Диапазон слишком широк, если верх больше низа "
        "более чем вдвое."
    ),
    "changes_title": "Что изменилось",
    "changes_lead": "Когорта {month} против шести зрелых месяцев до неё ({baseline}).",
    "changes_rates": "{recent} против {baseline}",
    "changes_behind": "больше всего — {segment} ({size})",
    "changes_more": "и ещё значимых изменений: {count}",
    "changes_none": (
        "Значимых изменений нет. Шагов и сегментов с достаточным числом клиентов: {tested}."
    ),
    "changes_too_few": "Слишком мало клиентов, чтобы судить об изменениях.",
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
        "clients whose first recorded step was in the month, each followed for "
        "{window_days} days to see how far they got."
    ),
    "view_period_def": (
        "entries into each step during the month; conversion is the ratio of these "
        "entries and can exceed 100%."
    ),
    "kpi_title": "The month at a glance",
    "kpi_top_volume": "Top of funnel",
    "kpi_closed": "Closed sales",
    "kpi_won_amount": "Won amount",
    "kpi_overall_conversion": "Overall conversion",
    "kpi_sales_cycle": "Sales cycle",
    "kpi_bottleneck": "Bottleneck",
    "kpi_weakest_step": "Weakest step",
    "kpi_period_note": "period, {month}",
    "kpi_cohort_note": "cohort {month}",
    "kpi_closed_note": "deals closed in {month}",
    "kpi_window_note": "cohorts of {months}",
    "kpi_no_mature": "no mature cohort yet",
    "kpi_avg_deal": "average deal {value}",
    "kpi_cycle_detail": "median; 80% of deals within {value} days",
    "kpi_cycle_median": "median",
    "kpi_days": "{value}\u00a0days",
    "kpi_bottleneck_value": "≈\u00a0+{value}",
    "kpi_bottleneck_sentence": (
        "Raising “{step}” from {team_rate} to {best_rate} (best: {manager}) would add "
        "≈\u00a0{extra} closed sales a month."
    ),
    "kpi_no_standout": (
        "No manager is significantly better than the rest of the team at any step "
        "(cohorts of {months}), so this is the step with the largest drop-off: {dropoff}."
    ),
    "kpi_no_standout_plain": (
        "No manager is significantly better than the rest of the team at any step "
        "(cohorts of {months})."
    ),
    "kpi_weakest_sentence": "The cohort's largest drop-off: {dropoff}.",
    "kpi_weakest_none": (
        "Fewer than two steps with 30 or more clients: too early to compare steps."
    ),
    "vs_prev": "vs previous month",
    "vs_year": "vs a year earlier",
    "no_comparison": "no data",
    "period_title": "Period: {month}",
    "period_lead": "How many clients entered each stage during the month.",
    "cohort_title": "Cohort: {month}",
    "cohort_lead": (
        "The latest mature cohort: all its clients have had their {window_days}-day "
        "window before the data cutoff. In brackets: the 95% Wilson interval."
    ),
    "cohort_durations_note": (
        "Days in stage: the median days from entering the stage to entering the next, "
        "over clients who entered the stage in {month} and moved on."
    ),
    "cohort_open_title": "Cohort {month}, not yet mature",
    "cohort_open_lead": (
        "The cohort's window is still open: {share_open} of its clients are in progress, "
        "so its conversions are understated for now and no weakest step is marked."
    ),
    "cohort_no_weakest": (
        "No weakest step is marked: fewer than two steps had 30 or more clients, too few "
        "to compare."
    ),
    "no_mature_cohort": "The data has no mature cohort up to this month yet.",
    "chart_dropoff": "drop-off",
    "chart_weakest": "weakest step",
    "col_stage": "Stage",
    "col_entities": "Clients",
    "col_conversion_to_next": "Conversion to next",
    "col_interval": "95% interval",
    "col_dropoff": "Drop-off",
    "col_from_first": "From first stage",
    "col_median_days": "Days in stage",
    "trend_title": "Step conversion: cohorts of the last 12 months",
    "trend_lead": (
        "Conversion to the next stage by cohort month. Grey figures with ° mark immature "
        "cohorts whose window is still open."
    ),
    "trends_lead": (
        "Each chart shows 12 monthly cohorts. Solid line and filled dots: mature cohorts; "
        "dashed line and hollow dots: immature ones (window still open, values understated). "
        "The latest mature cohort is ringed; every chart has its own scale, from its "
        "lowest to its highest value."
    ),
    "trends_latest": "{month}: {value}",
    "trends_vs_year": "vs a year earlier {change}",
    "trend_cohort_size": "Cohort size (clients)",
    "trend_overall": "Overall conversion",
    "immature_mark": "°",
    "managers_title": "Managers vs the team",
    "managers_lead": (
        "Each manager's conversion per step, pooling the cohorts of {months} ({count} "
        "months: one month has too few deals to judge). Only significant gaps from the "
        "rest of the team are highlighted (the manager's 95% interval excludes the team's "
        "rate, at least 30 clients)."
    ),
    "managers_rank": (
        "“Estimate”: the shrunk rate at “{step}”{bottleneck} — the manager's rate pulled "
        "towards the team's, the more so the fewer clients they have, so that 3 of 4 does "
        "not outrank 60 of 100. Rows are ranked by it."
    ),
    "managers_rank_bottleneck": " (the bottleneck)",
    "managers_rank_weakest": " (the weakest step)",
    "managers_legend_above": "above the team",
    "managers_legend_below": "below the team",
    "managers_legend_few": "too few to judge: fewer than 30 clients",
    "col_rank": "#",
    "col_manager": "Manager",
    "col_rank_rate": "Estimate",
    "team": "Team",
    "too_few": "too few to judge",
    "n_clients": "of\u00a0{n}",
    "lost_title": "Lost reasons by stage",
    "lost_lead": (
        "Deals lost in {month}, by the last stage they reached and the reason given in the CRM."
    ),
    "col_lost_stage": "Last stage reached",
    "col_reason": "Reason",
    "col_lost_deals": "Deals",
    "lost_more": "{count} more reasons",
    "lost_none": "No deals were lost this month.",
    "plan_title": "Plan for {month}",
    "plan_lead": (
        "Clients needed at each stage for {target} closed sales if conversions match the "
        "cohorts of {basis} (pooled), rounded up to whole clients. The range follows the "
        "95% intervals of those rates."
    ),
    "plan_too_wide_mark": "too wide",
    "plan_too_wide": (
        "A range is “too wide” when its high end is more than {ratio} times its low end: "
        "too uncertain to plan on (few clients behind some rate, and the bounds of every "
        "step compound). Treat “Clients needed” as a rough guide until more history "
        "pools."
    ),
    "col_plan_rate": "Conversion to next",
    "col_plan_needed": "Clients needed",
    "col_plan_range": "Range",
    "quality_title": "Appendix: data quality",
    "quality_files": "Export files",
    "quality_files_lead": (
        "By the month of a file's data (its latest record); no month: files that added no rows."
    ),
    "col_data_month": "Data month",
    "col_source": "Source",
    "col_files": "Files",
    "col_rows_read": "Rows read",
    "col_file": "File",
    "col_sha256": "SHA-256 (prefix)",
    "col_status": "Status",
    "col_accepted": "Accepted",
    "col_rejected": "Rejected",
    "quality_files_detail_lead": (
        "Every file with the start of its SHA-256 (in full in the data_files mart): rows read, "
        "accepted and rejected. Data month: the month of the file's latest record."
    ),
    "col_rows": "Rows",
    "no_month": "no month",
    "file_status_loaded": "loaded",
    "file_status_duplicate": "duplicate",
    "file_status_incomplete": "incomplete",
    "file_status_empty": "empty",
    "file_status_failed": "failed",
    "quality_rejected": "Rejected rows by reason",
    "quality_rejected_none": "No rows were rejected.",
    "quality_more": "and {count} more",
    "quality_unknown_managers": "Unknown managers in {month}",
    "quality_unknown_managers_none": "Every manager in {month} is in the configuration.",
    "col_name_as_written": "As written",
    "quality_unmapped": "CRM stages without a mapping",
    "quality_unmapped_none": "None: every CRM stage of this funnel is mapped.",
    "col_pipeline": "CRM pipeline",
    "col_crm_stage": "CRM stage",
    "col_deals": "Deals",
    "col_first_seen": "First seen",
    "quality_calls_not_linked": (
        "Calls of this funnel in {month} that linked to no deal: {count}."
    ),
    "leaks_title": "Calls lost in {month}",
    "col_missed_inbound": "Missed inbound",
    "col_not_called_back": "Not called back",
    "col_call_leads": "Callers never in the CRM",
    "leaks_lead": (
        "Not called back: a missed inbound call with no answered call to that client "
        "within the callback hours. Callers never in the CRM: clients who called the "
        "funnel's lines and have no deal."
    ),
    "leaks_lead_no_call_stage": (
        "Not called back: a missed inbound call with no answered call to that client "
        "within the callback hours."
    ),
    "value_unknown": "not specified",
    "reason_not_given": "no reason given",
    "stage_none": "no stage",
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
    "col_segment_cohort": "Cohort clients",
    "col_segment_overall": "Overall conversion",
    "no_data": "The marts hold no data for this funnel in this month.",
    "notice_stage_times_unknown": (
        "Stage times are unknown: the CRM export has no stage history, so stages are seen "
        "only as of the export date. Counts by stage are right; stage durations are not "
        "shown. Send weekly exports or a stage-history file."
    ),
    "notice_amended": (
        "Amended report{edition}. Late data arrived after it was first sent, and figures "
        "printed in the version with data as of {as_of} changed:"
    ),
    "notice_amended_plain": (
        "Amended report{edition}. Late data arrived after it was first sent, and figures "
        "it printed changed."
    ),
    "amended_edition": " (edition {count})",
    "amended_period": "Period, {month}",
    "amended_cohort": "Cohort {month}",
    "amended_cohort_month": "Latest mature cohort: {old} → {new}",
    "amended_entities": "“{stage}”: clients {old} → {new}",
    "amended_conversion_to_next": "“{stage}”: conversion to next {old} → {new}",
    "amended_median_days": "“{stage}”: days in stage {old} → {new}",
    "amended_more": "and {count} more changes",
    "reject_not_datetime": "'{value}' is not a date/time",
    "reject_dst_gap": "'{value}' does not exist in {zone}: the clock skips that hour",
    "reject_excel_early": "'{value}' is an Excel date before 1 March 1900 (0 is an empty cell)",
    "reject_two_digit_year": "'{value}' has a two-digit year; write the year in full",
    "reject_implausible_year": "'{value}': the year {year}, outside {low}–{high}",
    "reject_after_read_day": "'{value}' is after the day the file was read ({day})",
    "reject_after_snapshot": "'{value}' is after the export date in the file name",
    "reject_after": "'{value}' is a date in the future",
    "reject_not_number": "'{value}' is not a number",
    "reject_not_seconds": "'{value}' is not a whole number of seconds",
    "reject_not_phone": "'{value}' is not a phone number",
    "reject_unknown_disposition": "unknown call outcome '{value}'",
    "reject_no_direction": "cannot tell the call direction",
    "reject_empty_call_id": "no call id",
    "reject_empty_deal_id": "no deal id",
    "reject_empty_stage": "no stage",
    "reject_empty_entered_at": "no stage entry date",
    "reject_empty_created_at": "no creation date",
    "reject_empty_started_at": "no call start time",
    "reject_fields_vs_header": "{count} fields, the header has {width}{truncated}",
    "reject_fields_asterisk": "{count} fields; Asterisk writes 16, 17 or 18",
    "reject_fields_vs_list": "{count} fields, the file's field list has {width}",
    "reject_truncated": " (a truncated line?)",
    "reject_call_ends_before_start": "the call ends ('{ended}') before it starts ('{started}')",
    "reject_value_too_long": "a value of {length} characters; at most {limit} are read",
    "reject_unclosed_quote": "a quote is never closed on its line",
    "reject_quoting": "malformed quoting",
    "reject_none_given": "no reason recorded",
    "reject_other": "another reason (its text is in the data_quality mart)",
    "method_title": "How to read it",
    "def_changes": "Changes",
    "def_changes_text": (
        "differences from the previous month or the same month a year earlier (percentage "
        "points, pp, for conversions). Every number comes from the warehouse marts; the "
        "report only formats them."
    ),
    "def_clients": "Clients",
    "def_clients_text": (
        "CRM deals and phone callers who never became a deal; each counts once per stage, "
        "even if they went back and forth."
    ),
    "def_cohort": "Cohort",
    "def_cohort_text": (
        "the clients who first appeared in a month, each followed for {window_days} days "
        "(the window) to see how far they got. It answers “how well do we take clients "
        "to a sale”."
    ),
    "def_period": "Period",
    "def_period_text": (
        "how many clients entered each stage during the calendar month, whoever they are. "
        "What teams count by hand; its conversion can exceed 100%."
    ),
    "def_window": "Window",
    "def_window_text": (
        "{window_days} days from the first stage; later steps do not count for the cohort."
    ),
    "def_maturity": "Maturity",
    "def_maturity_text": (
        "a cohort is mature once the end of its month plus the window has passed by the "
        "data cutoff; an immature one still has clients in progress, so its rates are low."
    ),
    "def_wilson": "Wilson interval",
    "def_wilson_text": (
        "the range that holds the true conversion with 95% probability; the fewer the "
        "clients, the wider it is."
    ),
    "def_shrinkage": "Shrunk estimate",
    "def_shrinkage_text": (
        "a manager's rate pulled towards the team's, the more so the fewer clients they "
        "have, so that luck on small numbers does not make a leader."
    ),
    "def_weakest": "Weakest step",
    "def_weakest_text": (
        "the step with the largest drop-off in the latest mature cohort, among steps that "
        "30 or more clients entered (the managers' rule); none with fewer than two such "
        "steps. One for the whole report."
    ),
    "def_what_changed": "What changed",
    "def_what_changed_text": (
        "each step's conversion in the latest mature cohort against the six mature months "
        "before it, in total and by segment: a two-proportion z-test, significant at a 5% "
        "false discovery rate (Benjamini–Hochberg), with at least 30 clients on each side."
    ),
    "def_bottleneck": "Bottleneck",
    "def_bottleneck_text": (
        "the step where lifting the team's rate to its best manager's would add the most "
        "closed sales a month, if that manager is significantly better than the rest of "
        "the team. With none, the tile names the weakest step."
    ),
    "def_plan": "Plan",
    "def_plan_text": (
        "the closed-sales target divided back through the step rates of the latest mature "
        "cohorts, rounded up. A range is too wide when its high end is more than twice "
        "its low end."
    ),
    "changes_title": "What changed",
    "changes_lead": "The {month} cohort against the six mature months before it ({baseline}).",
    "changes_rates": "{recent} vs {baseline}",
    "changes_behind": "mostly {segment} ({size})",
    "changes_more": "and {count} more significant changes",
    "changes_none": "No significant change. Steps and segments with enough clients: {tested}.",
    "changes_too_few": "Too few clients to judge any change.",
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
