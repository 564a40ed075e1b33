"""The monthly PDF report, end to end on a tiny hand-checkable warehouse built here.

Fixture: one 4-stage funnel, 14 months (2025-09 … 2026-10), both views, two managers
(one named like an HTML tag), two lead sources. Report month 2026-10; the data cutoff
2026-11-03 makes 2026-08 the latest mature cohort (window 60 days). The other marts
hold hand-written rows with only the columns the report reads: revenue, sales cycle,
stage durations, trends, the manager scorecard and bottleneck of the window
2026-06 … 2026-08, the plan for 2026-11, lost reasons, call leaks and data quality.
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import tempfile
import textwrap
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from pipeline import delivery
from pipeline.cli import main as voronka
from pipeline.config import ConfigError, load_config
from pipeline.reporting import ReportDataError, default_report_month, render_reports
from pipeline.reporting import render as render_module
from pipeline.reporting.render import RenderError, html_to_pdf, templates_only_fetcher
from tests.unit._report_checks import (
    english_words,
    names_in,
    numbers,
    page_fills,
    rendered_html,
    words_broken_across_lines,
)

MONTH = "2026-10"
STAGES = ("call", "meeting", "proposal", "won")
FIRST_MONTH = dt.date(2025, 9, 1)
MONTHS = 14
WINDOW_DAYS = 60
CUTOFF_LOCAL = dt.datetime(2026, 11, 3, 13, 0)
CUTOFF_UTC = dt.datetime(2026, 11, 3, 10, 0)
INJECTED = '<img src="file:///etc/passwd">'
INJECTED_REASON = "<script>alert(1)</script> слишком дорого"
PHONE_IN_REJECT = "'+7 (495) 123-45-67' is not a date/time"
MATURE = dt.date(2026, 8, 1)

# Hand-written mart rows for the months the report reads most; the rest follow a formula.
PERIOD_ENTITIES = {
    dt.date(2026, 10, 1): (1234, 802, 377, 161),
    dt.date(2026, 9, 1): (1200, 790, 350, 150),
    dt.date(2025, 10, 1): (1000, 640, 300, 120),
}
COHORT_ENTITIES = {
    dt.date(2026, 8, 1): (1100, 660, 264, 150),
    dt.date(2026, 7, 1): (1050, 640, 270, 140),
}

CONFIG_YAML = textwrap.dedent(
    """\
    timezone: Europe/Moscow
    locales: [ru, en]
    currency: RUB
    paths: {inbox: inbox, landing: landing, warehouse: warehouse.duckdb, reports: reports}
    sources:
      - {name: crm, kind: crm, preset: generic, files: "crm/*.csv"}
      - {name: pbx, kind: calls, preset: asterisk, files: "pbx/*.csv"}
    funnels:
      - id: doors
        name: {ru: "Двери: розница", en: "Doors: retail"}
        crm: [{source: crm, pipeline: "Розница"}]
        calls: {source: pbx, lines: ["+74951112233"]}
        window_days: 60
        segments:
          - manager
          - lead_source
          - {type: city, column: city, name: {ru: "Город", en: "City"}}
        plan: {target: 40, months: 3}
        stages:
          - {key: call, name: {ru: "Входящий звонок", en: "Incoming call"},
             calls: {direction: inbound}}
          - {key: meeting, name: {ru: "Встреча", en: "Meeting"}, crm_stages: [{name: "Встреча"}]}
          - {key: proposal, name: {ru: "Предложение", en: "Proposal"}, crm_stages: [{name: "КП"}]}
          - {key: won, name: {ru: "Оплата", en: "Paid"}, crm_status: won}
    """
)


def _month(offset: int) -> dt.date:
    index = FIRST_MONTH.year * 12 + FIRST_MONTH.month - 1 + offset
    return dt.date(index // 12, index % 12 + 1, 1)


def _formula(offset: int, view: str) -> tuple[int, ...]:
    first = 900 + 23 * offset + (40 if view == "cohort" else 0)
    rates = (0.6 + 0.01 * (offset % 4), 0.42 + 0.01 * (offset % 3), 0.5 - 0.01 * (offset % 5))
    counts = [first]
    for rate in rates:
        counts.append(round(counts[-1] * rate))
    return tuple(counts)


def _wilson(successes: int, n: int) -> tuple[float, float]:
    z = 1.959963984540054
    p = successes / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _stage_rows(month, view, segment_type, segment, counts, mature, share_open):
    rows = []
    for order, (key, entities) in enumerate(zip(STAGES, counts, strict=True), start=1):
        last = order == len(STAGES)
        following = None if last else counts[order]
        rate = None if last or entities == 0 else following / entities
        low = high = None
        if view == "cohort" and rate is not None:
            low, high = _wilson(following, entities)
        rows.append(
            (
                "doors",
                month,
                view,
                segment_type,
                segment,
                order,
                key,
                entities,
                following,
                0,
                0,
                rate,
                entities / counts[0] if counts[0] else None,
                None if rate is None else 1 - rate,
                low,
                high,
                mature,
                share_open if view == "cohort" else None,
            )
        )
    return rows


def build_warehouse(path: Path, managers: int = 0) -> None:
    """The fixture marts; `managers` > 4 adds generated managers to the scorecard."""
    rows = []
    for offset in range(MONTHS):
        month = _month(offset)
        for view in ("period", "cohort"):
            table = PERIOD_ENTITIES if view == "period" else COHORT_ENTITIES
            counts = table.get(month) or _formula(offset, view)
            month_end = _month(offset + 1)
            mature = view == "period" or (
                dt.datetime.combine(month_end, dt.time()) + dt.timedelta(days=WINDOW_DAYS)
                <= CUTOFF_LOCAL
            )
            share_open = 0.0 if mature else round(0.2 + 0.1 * (offset % 3), 2)
            rows += _stage_rows(month, view, "total", "all", counts, mature, share_open)
            split = {
                ("manager", "Смирнова Анна"): 0.6,
                ("manager", INJECTED): 0.4,
                ("lead_source", "Сайт"): 0.7,
                ("lead_source", "Реклама"): 0.3,
                ("city", "Москва"): 0.8,
                ("city", "(unknown)"): 0.2,
            }
            for (segment_type, segment), part in split.items():
                part_counts = tuple(round(c * part) for c in counts)
                rows += _stage_rows(
                    month, view, segment_type, segment, part_counts, mature, share_open
                )
    with duckdb.connect(str(path)) as con:
        con.execute("create schema marts")
        con.execute(
            """
            create table marts.funnel_stage_monthly (
              funnel_id varchar, month date, view varchar, segment_type varchar, segment varchar,
              stage_order integer, stage_key varchar, entities bigint, entities_next bigint,
              entities_implied bigint, entities_regressed bigint, conversion_to_next double,
              conversion_from_first double, dropoff_to_next double, conversion_ci_low double,
              conversion_ci_high double, is_mature boolean, share_open double)
            """
        )
        _insert(con, "funnel_stage_monthly", rows)
        con.execute(
            "create table marts.data_cutoff as select ?::timestamp as cutoff_at, "
            "?::timestamp as cutoff_local, ?::date as last_complete_month",
            [CUTOFF_UTC, CUTOFF_LOCAL, dt.date(2026, 10, 1)],
        )
        con.execute(
            """
            create table marts.funnel_entities (
              funnel_id varchar, entity_id varchar, entity_kind varchar, stage_key varchar,
              stage_order integer, reached_at timestamp, is_implied boolean, cohort_month date,
              manager varchar, lead_source varchar)
            """
        )
        build_other_marts(con, rows, managers)


def _insert(con, table: str, rows: list[tuple]) -> None:
    """Many rows in a few statements (executemany is slow in DuckDB)."""
    for start in range(0, len(rows), 400):
        chunk = rows[start : start + 400]
        marks = ", ".join("(" + ", ".join(["?"] * len(chunk[0])) + ")" for _ in chunk)
        con.execute(f"insert into marts.{table} values {marks}", [v for r in chunk for v in r])


def _table(con, name: str, columns: str, rows: list[tuple]) -> None:
    con.execute(f"create table marts.{name} ({columns})")
    if rows:
        _insert(con, name, rows)


# The manager window 2026-06 … 2026-08: (manager, [(n, rate, shrunk, too_few, gap, significant)
# for the steps call → meeting, meeting → proposal, proposal → won]).
SCORECARD = [
    (
        "Смирнова Анна",
        [
            (300, 0.62, 0.615, False, 0.05, True),
            (186, 0.45, 0.44, False, 0.05, True),
            (84, 0.55, 0.54, False, 0.05, False),
        ],
    ),
    (
        INJECTED,
        [
            (200, 0.55, 0.552, False, -0.05, False),
            (110, 0.33, 0.35, False, -0.09, True),
            (36, 0.5, 0.51, False, 0.0, False),
        ],
    ),
    (
        "(unknown)",
        [
            (20, 0.5, 0.58, True, -0.1, False),
            (10, 0.4, 0.39, True, 0.0, False),
            (4, 0.25, 0.47, True, -0.25, False),
        ],
    ),
    (
        "Петров Пётр",
        [
            (100, 0.58, 0.57, False, -0.02, False),
            (60, 0.42, 0.41, False, 0.02, False),
            (25, 0.52, 0.515, True, 0.02, False),
        ],
    ),
]
TEAM_RATES = (0.6, 0.4, 0.5)
PLAN = [  # stage_order: (rate, low, high, volume, volume_low, volume_high)
    (0.6, 0.57, 0.63, 333.3, 150.2, 433.2),  # 151 – 434: too wide (434 > 2 × 151)
    (0.4, 0.36, 0.44, 200.0000000001, 165.3, 246.9),  # float noise does not add one
    (0.5, 0.45, 0.55, 80.0, 72.7, 88.9),
    (None, None, None, 40.0, 40.0, 40.0),
]
DURATIONS = (2.5, 12.4, 20.0, None)


def build_other_marts(con, stage_rows: list[tuple], managers: int) -> None:
    month, previous, year_ago = dt.date(2026, 10, 1), dt.date(2026, 9, 1), dt.date(2025, 10, 1)
    _table(
        con,
        "revenue_monthly",
        "funnel_id varchar, month date, segment_type varchar, won_deals bigint, "
        "won_amount double, avg_deal double",
        [
            ("doors", month, "total", 161, 16_543_210.0, 102_752.9),
            ("doors", previous, "total", 150, 15_000_000.0, 100_000.0),
            ("doors", year_ago, "total", 120, 12_000_000.0, 100_000.0),
        ],
    )
    _table(
        con,
        "sales_cycle_monthly",
        "funnel_id varchar, month date, segment_type varchar, won_deals bigint, "
        "median_days double, p80_days double",
        [
            ("doors", month, "total", 161, 41.3, 63.5),
            ("doors", previous, "total", 150, 38.0, 60.0),
            ("doors", year_ago, "total", 120, 45.0, 70.0),
        ],
    )
    _table(
        con,
        "stage_durations",
        "funnel_id varchar, month date, segment_type varchar, stage_order integer, "
        "stage_key varchar, converted bigint, median_days double, converted_timed bigint",
        [
            (
                "doors",
                MATURE,
                "total",
                order,
                key,
                *((None, None, None) if days is None else (100, days, 90)),
            )
            for order, (key, days) in enumerate(zip(STAGES, DURATIONS, strict=True), start=1)
        ],
    )
    trend_rows = [
        ("doors", r[1], "cohort", "total", r[5], r[6], r[16], r[7], r[11], 0.012)
        for r in stage_rows
        if r[2] == "cohort" and r[3] == "total" and r[1] >= dt.date(2025, 11, 1)
    ]
    _table(
        con,
        "funnel_stage_trends",
        "funnel_id varchar, month date, view varchar, segment_type varchar, "
        "stage_order integer, stage_key varchar, is_mature boolean, entities bigint, "
        "conversion_to_next double, change_vs_last_year double",
        trend_rows,
    )
    scorecard = list(SCORECARD)
    for number in range(1, managers - len(SCORECARD) + 1):
        rate = 0.3 + (number % 40) / 100
        scorecard.append(
            (f"Менеджер {number:03d}", [(40 + number % 50, rate, rate, False, 0.0, False)] * 3)
        )
    score_rows = []
    for window_month, mature in ((MATURE, True), (dt.date(2026, 9, 1), False)):
        for manager, steps in scorecard:
            for order, (n, rate, shrunk, too_few, gap, significant) in enumerate(steps, 1):
                score_rows.append(
                    (
                        "doors",
                        window_month,
                        manager,
                        order,
                        STAGES[order - 1],
                        3,
                        mature,
                        n,
                        rate,
                        shrunk,
                        too_few,
                        gap,
                        significant,
                    )
                )
    _table(
        con,
        "manager_scorecard",
        "funnel_id varchar, month date, manager varchar, stage_order integer, "
        "stage_key varchar, window_months integer, is_mature boolean, n bigint, rate double, "
        "shrunk_rate double, too_few boolean, gap double, gap_significant boolean",
        score_rows,
    )
    bottleneck_rows = []
    for window_month, mature in ((dt.date(2026, 7, 1), True), (MATURE, True), (previous, False)):
        for order, team_rate in enumerate(TEAM_RATES, start=1):
            is_bottleneck = order == 2 and window_month != previous
            extra = 3.5 if window_month == MATURE else 2.0
            bottleneck_rows.append(
                (
                    "doors",
                    window_month,
                    order,
                    STAGES[order - 1],
                    mature,
                    "Смирнова Анна",
                    team_rate + 0.04,
                    team_rate,
                    extra if is_bottleneck else 0.5,
                    is_bottleneck,
                )
            )
    _table(
        con,
        "funnel_bottleneck",
        "funnel_id varchar, month date, stage_order integer, stage_key varchar, "
        "is_mature boolean, best_manager varchar, best_rate double, team_rate double, "
        "extra_closed_sales double, is_bottleneck boolean",
        bottleneck_rows,
    )
    _table(
        con,
        "funnel_plan",
        "funnel_id varchar, month date, segment_type varchar, segment varchar, "
        "stage_order integer, stage_key varchar, basis_from date, basis_to date, "
        "rate double, rate_low double, rate_high double, target bigint, volume double, "
        "volume_low double, volume_high double",
        [
            (
                "doors",
                dt.date(2026, 11, 1),
                "total",
                "all",
                order,
                STAGES[order - 1],
                dt.date(2026, 6, 1),
                MATURE,
                *values[:3],
                40,
                *values[3:],
            )
            for order, values in enumerate(PLAN, start=1)
        ],
    )
    _table(
        con,
        "lost_reasons",
        "funnel_id varchar, month date, segment_type varchar, stage_key varchar, "
        "reason varchar, deals bigint",
        [
            ("doors", month, "total", "meeting", "Дорого", 12),
            ("doors", month, "total", "meeting", INJECTED_REASON, 5),
            ("doors", month, "total", "proposal", "(not given)", 7),
            ("doors", month, "total", "call", "Не дозвонились", 3),
            ("doors", previous, "total", "call", "Прошлый месяц", 99),
        ],
    )
    _table(
        con,
        "call_leaks",
        "funnel_id varchar, month date, manager varchar, missed_inbound bigint, "
        "not_called_back bigint, call_leads_never_in_crm bigint",
        [
            ("doors", month, "Смирнова Анна", 5, 2, 9),
            ("doors", month, INJECTED, 3, 1, 4),
            ("doors", month, "all", 8, 3, 13),
        ],
    )
    _table(
        con,
        "data_quality",
        "month date, source varchar, metric varchar, detail varchar, value double",
        [
            (month, "pbx", "files_loaded", "all", 1.0),
            (month, "pbx", "rows_total", "all", 5000.0),
            (month, "pbx", "rows_rejected", PHONE_IN_REJECT, 2.0),
            (None, "crm", "files_duplicate", "all", 1.0),
            (month, "crm", "unknown_managers", "Ivan?", 4.0),
            (month, "pbx", "calls_not_linked", "doors", 17.0),
        ],
    )
    _table(
        con,
        "unmapped_stages",
        "source varchar, crm_pipeline varchar, stage varchar, deals bigint, first_seen timestamp,"
        " first_seen_local timestamp",
        [
            # 13 September 22:00 UTC is the 14th in Moscow: the report prints the local day.
            (
                "crm",
                "Розница",
                "Старый этап",
                3,
                dt.datetime(2026, 9, 13, 22, 0),
                dt.datetime(2026, 9, 14, 1, 0),
            ),
            (
                "crm",
                "Опт",
                "Чужой этап",
                1,
                dt.datetime(2026, 9, 1, 8, 0),
                dt.datetime(2026, 9, 1, 11),
            ),
        ],
    )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "voronka.yaml").write_text(CONFIG_YAML, encoding="utf-8")
    build_warehouse(root / "warehouse.duckdb")
    return load_config(root / "voronka.yaml")


@pytest.fixture(scope="module")
def render_run(project):
    """Both locales of the fixture funnel, rendered once for the whole module, with the
    HTML each PDF was rendered from."""
    with rendered_html() as htmls:
        paths = render_reports(project, MONTH)
    return {path.stem.rsplit("_", 1)[1]: (path, htmls[path.name]) for path in paths}


@pytest.fixture(scope="module")
def rendered(render_run):
    return {locale: path for locale, (path, _) in render_run.items()}


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return re.sub(r"[\u00a0\u202f ]+", " ", text)


def test_default_month_is_the_last_complete_month_of_the_cutoff(project):
    assert default_report_month(project) == "2026-10"


def test_one_pdf_per_funnel_and_locale_at_the_contract_path(project, rendered):
    folder = project.reports_dir / MONTH
    assert sorted(p.name for p in folder.iterdir()) == [
        "voronka_doors_2026-10_en.pdf",
        "voronka_doors_2026-10_ru.pdf",
    ]
    assert set(rendered) == {"ru", "en"}


def test_russian_pdf_shows_the_marts_numbers_in_russian_format(rendered):
    text = pdf_text(rendered["ru"])
    assert "Двери: розница" in text
    assert "октябрь 2026" in text.lower()
    assert "Данные на 3 ноября 2026, 13:00" in text  # cutoff_local, not the render time
    # KPIs: period stage 1 and last stage in October; overall conversion of cohort 2026-08.
    assert "1 234" in text
    assert "161" in text
    assert "13,6 %" in text  # 150 / 1100
    assert "40,0 %" in text  # weakest step: meeting → proposal in cohort 2026-08
    assert "+34" in text  # vs September (1 200)
    assert "+234" in text  # vs October 2025 (1 000)
    # One stage-table row of the period view: meeting, 802 entities, 47,0 % on, 53,0 % lost.
    assert re.search(r"Встреча 802 47,0 % 53,0 % 65,0 %", text)


def test_english_pdf_shows_the_same_numbers_in_english_format(rendered):
    text = pdf_text(rendered["en"])
    assert "Doors: retail" in text
    assert "October 2026" in text
    assert "1,234" in text
    assert "13.6%" in text
    assert "40.0%" in text
    assert re.search(r"Meeting 802 47.0% 53.0% 65.0%", text)
    assert "Page 1 of" in text


def test_cohort_table_shows_the_wilson_interval_and_marks_the_open_cohort(rendered):
    text = pdf_text(rendered["en"])
    assert "Cohort: August 2026" in text
    low, high = _wilson(264, 660)
    assert f"{low:.1%} – {high:.1%}" in text
    assert "Cohort October 2026, not yet mature" in text


def test_summary_kpis_match_revenue_cycle_and_bottleneck_marts(rendered):
    text = pdf_text(rendered["ru"])
    # revenue_monthly 2026-10: 16 543 210, vs 15 000 000 and 12 000 000; avg_deal; in the
    # configured currency.
    assert "16 543 210 ₽" in text
    assert "+1 543 210 ₽" in text
    assert "+4 543 210 ₽" in text
    assert "средний чек 102 753 ₽" in text
    # sales_cycle_monthly: 41.3 days, +3.3 vs 38.0, −3.7 vs 45.0; p80 63.5.
    assert "41,3 дн." in text
    assert "+3,3 дн." in text
    assert "−3,7 дн." in text
    assert "63,5 дн." in text
    # funnel_bottleneck 2026-08: meeting → proposal, 40 % → 44 %, ≈ 3.5 a month.
    sentence = re.sub(r"\s+", " ", text)
    assert (
        "Поднять «Встреча → Предложение» с 40,0 % до 44,0 % (лучший: Смирнова Анна) — "
        "это ≈ 3,5 закрытых продаж в месяц дополнительно." in sentence
    )
    english = re.sub(r"\s+", " ", pdf_text(rendered["en"]))
    assert "RUB 16,543,210" in english
    assert "Raising “Meeting → Proposal” from 40.0% to 44.0% (best: Смирнова Анна)" in english


def test_cohort_stage_table_carries_the_median_days_in_stage(rendered):
    text = pdf_text(rendered["ru"])
    low, high = _wilson(264, 660)
    interval = f"{low:.1%} – {high:.1%}".replace(".", ",").replace("%", " %")
    assert f"2 Встреча 660 ▼ 40,0 % {interval} 60,0 % 60,0 % 12,4" in text
    assert "Дней на этапе" in text


def test_plan_rows_come_from_funnel_plan_for_the_next_month_rounded_up(rendered):
    text = pdf_text(rendered["ru"])
    assert "План на ноябрь 2026" in text
    # 200.0000000001 is 200 (float noise), 165.3 and 246.9 are 166 and 247 whole clients.
    assert "2 Встреча 40,0 % 36,0 % – 44,0 % 200 166 – 247" in text
    english = pdf_text(rendered["en"])
    assert "Plan for November 2026" in english
    assert "1 Incoming call 60.0% 57.0% – 63.0% 334 151 – 434" in english


def test_manager_heat_map_ranks_by_shrunk_rate_and_marks_gaps(rendered):
    text = pdf_text(rendered["ru"])
    # Ranked by the shrunk rate of the bottleneck step (meeting → proposal).
    assert "1 Смирнова Анна ▲ 62,0 % из 300 ▲ 45,0 % из 186 55,0 % из 84 44,0 %" in text
    assert "2 Петров Пётр 58,0 % из 100 42,0 % из 60 52,0 % из 25 мало данных 41,0 %" in text
    # '(unknown)' localized, last and with no rank: the deals that name no manager
    assert "не указан 50,0 % из 20 мало данных" in text and "3 не указан" not in text
    assert "▼ 33,0 % из 110" in text
    # The "Estimate" column is explained: the shrunk rate at the ranking step.
    lead = re.sub(r"\s+", " ", text)
    assert "«Оценка» — сглаженная конверсия шага «Встреча → Предложение» (узкое место)" in lead
    assert "Команда 60,0 % 40,0 % 50,0 %" in text
    assert "июнь – август 2026" in text  # the pooled window is named
    assert "(unknown)" not in text
    assert "not specified" in pdf_text(rendered["en"])


def test_lost_reasons_appendix_and_custom_segment_names_are_shown(rendered):
    text = pdf_text(rendered["ru"])
    assert "Встреча Дорого 12" in text
    assert "Предложение причина не указана 7" in text
    assert "Прошлый месяц" not in text  # lost in September, not in the report month
    assert "Город" in text  # CustomSegment.name, not the type `city`
    assert "Сущности" not in text and "Клиенты" in text
    assert "Ivan?" in text  # unknown manager as written
    assert "не связанные ни с одной сделкой: 17" in text
    assert "Старый этап" in text and "Чужой этап" not in text  # this funnel's pipeline only
    assert "Старый этап 3 14 сент. 2026" in text  # first seen: the Moscow day, not UTC's 13th
    assert "Смирнова Анна 5 2 9" in text and "Команда 8 3 13" in text  # call_leaks
    assert "495" not in text  # the phone quoted in a reject reason is masked


def test_a_segment_named_like_markup_prints_as_text(rendered):
    for path in rendered.values():
        text = pdf_text(path)
        assert INJECTED in text
        assert INJECTED_REASON in text  # a lost reason with a script tag, as text


def test_the_same_marts_give_byte_identical_pdfs(project, rendered):
    before = rendered["ru"].read_bytes()
    [again] = render_reports(project, MONTH, locales=["ru"])
    assert again == rendered["ru"]
    assert again.read_bytes() == before
    metadata = PdfReader(again).metadata
    # Dated by the data cutoff (UTC), not by the clock.
    assert metadata["/CreationDate"] == metadata["/ModDate"] == "D:20261103100000Z"


def test_a_failed_render_leaves_the_published_pdf_and_no_temp_files(project, rendered, monkeypatch):
    folder = rendered["en"].parent
    before = rendered["en"].read_bytes()

    def broken(html, target, **kwargs):
        Path(target).write_bytes(b"half a pdf")
        raise RenderError("simulated crash")

    monkeypatch.setattr("pipeline.reporting.write_pdf", broken)
    with pytest.raises(RenderError):
        render_reports(project, MONTH, locales=["en"])
    assert rendered["en"].read_bytes() == before
    assert sorted(p.name for p in folder.iterdir()) == [
        "voronka_doors_2026-10_en.pdf",
        "voronka_doors_2026-10_ru.pdf",
    ]


def test_render_child_is_stopped_at_its_time_cap(tmp_path):
    target = tmp_path / "slow.pdf"
    with pytest.raises(RenderError, match="longer than"):
        render_module.write_pdf("<p>x</p>", target, epoch=0, timeout_s=0.05)


def test_warehouse_is_closed_after_rendering(project, rendered):
    # A writer can open the file again: the report held no connection.
    with duckdb.connect(str(project.warehouse_path)) as con:
        assert con.execute("select count(*) from marts.data_cutoff").fetchone() == (1,)


FORBIDDEN_PAGE = """
<html><head>
<link rel="stylesheet" href="../../x.css">
<style>
  @import url("file:///etc/passwd");
  body { background: url("https://example.com/track.png"); }
</style></head>
<body><p>ok</p>
<img src="file:///etc/passwd"><img src="../../../etc/hostname">
<img src="http://127.0.0.1:9/x.png">
<img src="data:image/svg+xml;utf8,<svg xmlns='http://www.w3.org/2000/svg' width='4' height='4'/>">
<img src="static/fonts/LICENSE-DejaVu.txt">
</body></html>
"""


def test_fetcher_refuses_anything_outside_the_templates_folder():
    fetcher = templates_only_fetcher()
    pdf = html_to_pdf(FORBIDDEN_PAGE, fetcher)
    assert pdf.startswith(b"%PDF")
    refused = set(fetcher.refused)
    assert "file:///etc/passwd" in refused
    assert "https://example.com/track.png" in refused
    assert "http://127.0.0.1:9/x.png" in refused
    assert any(url.endswith("/x.css") for url in refused)
    assert any(url.endswith("/etc/hostname") for url in refused)
    templates = render_module.TEMPLATES_DIR.resolve().as_uri()
    assert all(url.startswith(templates + "/") for url in fetcher.served)
    assert any(url.endswith("LICENSE-DejaVu.txt") for url in fetcher.served)


def test_fetcher_refuses_file_urls_directly():
    fetcher = templates_only_fetcher()
    for url in ("file:///etc/passwd", "file://host/share/x", "http://example.com/"):
        with pytest.raises(PermissionError):
            fetcher.fetch(url)
    served = fetcher.fetch((render_module.TEMPLATES_DIR / "static" / "report.css").as_uri())
    assert served.content_type == "text/css"


def test_missing_font_files_fail_clearly(tmp_path):
    with pytest.raises(RenderError, match="fonts missing"):
        render_module.check_fonts(tmp_path)


def test_no_report_temp_files_are_left_behind(rendered):
    leftovers = [name for name in os.listdir(rendered["ru"].parent) if name.endswith(".part")]
    assert leftovers == []


def test_a_published_pdf_gets_the_permissions_of_any_new_file(rendered):
    mask = os.umask(0)
    os.umask(mask)
    for path in rendered.values():
        assert path.stat().st_mode & 0o777 == 0o666 & ~mask, path


STYLED_PAGE = (
    '<html><head><link rel="stylesheet" href="static/report.css"></head>'
    "<body><p>x</p></body></html>"
)


def test_rendering_leaves_nothing_in_the_temp_folder(tmp_path, monkeypatch):
    # WeasyPrint copies the @font-face fonts into a temp folder of its own, which a render
    # child (ended with os._exit, or killed) never removed: ~2.8 MB per PDF, for good.
    system_temp = Path(tempfile.gettempdir())
    before = set(system_temp.glob("weasyprint-*"))
    scratch_parent = tmp_path / "temp"
    scratch_parent.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch_parent))
    render_module.write_pdf(STYLED_PAGE, tmp_path / "styled.pdf", epoch=0)
    assert (tmp_path / "styled.pdf").read_bytes().startswith(b"%PDF")
    with pytest.raises(RenderError, match="longer than"):
        render_module.write_pdf(STYLED_PAGE, tmp_path / "slow.pdf", epoch=0, timeout_s=0.05)
    assert list(scratch_parent.iterdir()) == []
    assert set(system_temp.glob("weasyprint-*")) <= before


def test_render_child_is_stopped_at_its_memory_cap(tmp_path):
    with pytest.raises(RenderError, match="failed"):
        render_module.write_pdf(
            "<p>x</p>", tmp_path / "big.pdf", epoch=0, memory_bytes=64 * 1024**2
        )


def test_a_warehouse_without_the_marts_fails_clearly(project, tmp_path):
    empty = tmp_path / "empty.duckdb"
    duckdb.connect(str(empty)).close()
    with pytest.raises(ReportDataError, match=r"marts\.data_cutoff is missing"):
        render_reports(project, MONTH, warehouse=empty)
    with pytest.raises(ReportDataError, match="not found"):
        render_reports(project, MONTH, warehouse=tmp_path / "nowhere.duckdb")


def test_the_render_server_is_started_before_the_marts_are_read(project, monkeypatch, tmp_path):
    """It loads WeasyPrint in its own process while this one reads the marts."""
    from pipeline import reporting

    running_when_read = []
    read = reporting.report_models

    def reading(*args, **kwargs):
        running_when_read.append(render_module._SERVER is not None)
        return read(*args, **kwargs)

    monkeypatch.setattr(render_module, "_SERVER", None)  # as in a fresh process
    monkeypatch.setattr(reporting, "report_models", reading)
    monkeypatch.setattr(type(project), "reports_dir", property(lambda self: tmp_path))
    render_reports(project, MONTH, locales=["en"])
    assert running_when_read == [True]


def test_unknown_funnel_locale_or_month_is_refused_before_reading(project):
    with pytest.raises(ConfigError, match="unknown funnel"):
        render_reports(project, MONTH, funnels=["nope"])
    with pytest.raises(ConfigError, match="locale"):
        render_reports(project, MONTH, locales=["de"])
    with pytest.raises(ValueError, match="YYYY-MM"):
        render_reports(project, "2026/10")


def test_the_report_loads_only_its_own_stylesheet_and_bundled_fonts(project, monkeypatch, tmp_path):
    fetchers = []

    def in_process(html, target, **kwargs):
        fetcher = templates_only_fetcher()
        fetchers.append(fetcher)
        Path(target).write_bytes(html_to_pdf(html, fetcher))

    monkeypatch.setattr("pipeline.reporting.write_pdf", in_process)
    monkeypatch.setattr(type(project), "reports_dir", property(lambda self: tmp_path))
    render_reports(project, MONTH, locales=["ru"])
    [fetcher] = fetchers
    assert fetcher.refused == []
    # Each layout (a fitted one too, html_to_pdf) loads these again: the set is the rule.
    served = sorted({url.rsplit("/static/", 1)[1] for url in fetcher.served})
    assert served == [
        "fonts/DejaVuSans-Bold.ttf",
        "fonts/DejaVuSans.ttf",
        "fonts/DejaVuSansCondensed-Bold.ttf",
        "fonts/DejaVuSansCondensed.ttf",
        "report.css",
    ]


def test_a_month_with_500_managers_paginates_and_breaks_no_word(tmp_path):
    (tmp_path / "voronka.yaml").write_text(CONFIG_YAML, encoding="utf-8")
    build_warehouse(tmp_path / "warehouse.duckdb", managers=500)
    config = load_config(tmp_path / "voronka.yaml")
    with rendered_html() as htmls:
        paths = {path.stem.rsplit("_", 1)[1]: path for path in render_reports(config, MONTH)}
    reader = PdfReader(paths["en"])
    pages = [re.sub(r"[\u00a0\u202f ]+", " ", page.extract_text() or "") for page in reader.pages]
    heat_map_pages = [number for number, text in enumerate(pages) if "Менеджер " in text]
    assert len(heat_map_pages) >= 6  # the heat map runs over several pages
    for number in heat_map_pages[1:]:
        assert "Manager" in pages[number] and "Team" in pages[number]  # thead repeats
    text = "\n".join(pages)
    assert all(f"Менеджер {number:03d}" in text for number in (1, 250, 496))
    assert f"Page {len(pages)} of {len(pages)}" in text
    for locale, path in paths.items():
        assert words_broken_across_lines(path, htmls[path.name]) == [], locale
    names = names_in(config.warehouse_path, CONFIG_YAML)
    assert english_words(paths["ru"], names) == set()


# ── issue 16: one true story ─────────────────────────────────────────────────


def test_no_table_cell_breaks_a_word(render_run):
    for locale, (path, html) in render_run.items():
        assert words_broken_across_lines(path, html) == [], locale


def test_the_word_break_check_sees_a_squeezed_column(tmp_path):
    """The check itself: a column squeezed below its words (the old overflow-wrap:
    anywhere in an auto-width table) breaks "загружен" and is caught."""
    html = (
        '<html lang="ru"><body style="font: 10pt sans-serif; overflow-wrap: anywhere">'
        '<table style="width: 60mm"><tr><td>crm/history_2026-11-01_0600.csv-and-more-text</td>'
        "<td>загружен</td><td>18 105</td></tr></table></body></html>"
    )
    path = tmp_path / "squeezed.pdf"
    path.write_bytes(html_to_pdf(html, templates_only_fetcher()))
    assert words_broken_across_lines(path, html) != []


def test_russian_pdf_has_no_english_words_outside_names(project, rendered):
    names = names_in(project.warehouse_path, CONFIG_YAML)
    assert english_words(rendered["ru"], names) == set()
    # The reject reason is in Russian, its quoted value (masked: a phone) kept.
    assert "«…» — не дата и время" in pdf_text(rendered["ru"])
    assert "'…' is not a date/time" in pdf_text(rendered["en"])


def plan_rows_of_pdf(path: Path, names: list[str]) -> list[list]:
    """Each plan-table row of the PDF (found by '<order> <stage name>') as its numbers."""
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    plan = text[text.index("Plan for") if "Plan for" in text else text.index("План на") :]
    rows = []
    for order, name in enumerate(names, start=1):
        line = next(line for line in plan.split("\n") if line.startswith(f"{order} {name}"))
        rows.append(numbers(line.removeprefix(f"{order} {name}")))
    return rows


def plan_rows_of_cli(output: str, names: list[str]) -> list[list]:
    rows = []
    for name in names:
        line = next(line for line in output.splitlines() if line.startswith(name + " "))
        rows.append(numbers(line.removeprefix(name)))
    return rows


def test_every_number_the_pdf_prints_for_the_plan_equals_voronka_plans(project, rendered, capsys):
    config_file = str(project.config_file)
    code = voronka(
        [
            "plan",
            "--config",
            config_file,
            "--funnel",
            "doors",
            "--target",
            "40",
            "--month",
            "2026-11",
        ]
    )
    output = capsys.readouterr().out
    assert code == 0, output
    assert "2026-11: 40 closed sales" in output and "2026-06 … 2026-08" in output
    for locale, path in rendered.items():
        names = [stage.name.get(locale) for stage in project.funnel("doors").stages]
        cli_names = [stage.name.get(project.locales[0]) for stage in project.funnel("doors").stages]
        pdf_rows = plan_rows_of_pdf(path, names)
        assert pdf_rows == plan_rows_of_cli(output, cli_names), locale
        assert pdf_rows[0][-2:] == [151, 434] and pdf_rows[1][-3:] == [200, 166, 247]
        lead = re.sub(r"\s+", " ", pdf_text(path))
        target = "для 40 закрытых продаж" if locale == "ru" else "for 40 closed sales"
        basis = "июнь – август 2026" if locale == "ru" else "June – August 2026"
        assert target in lead and basis in lead


def test_a_plan_range_too_wide_to_act_on_is_flagged_with_its_rule(rendered, project, capsys):
    text = re.sub(r"\s+", " ", pdf_text(rendered["ru"])).lower()
    assert "151 – 434 слишком широк" in text  # 434 > 2 × 151
    assert "166 – 247 слишком широк" not in text
    assert "когда его верх больше низа более чем в 2 раза" in text
    voronka(["plan", "--config", str(project.config_file), "--funnel", "doors", "--target", "40"])
    output = capsys.readouterr().out
    assert "151–434 (too wide)" in output and "166–247 (too wide)" not in output
    assert "more than 2 times its low end" in output


def test_the_immature_cohort_prints_its_share_open_once(rendered):
    text = pdf_text(rendered["ru"])
    # Cohort 2026-10 is still open (share_open 0.2 + 0.1 × (13 % 3) = 0.3 of its clients).
    assert "Окно когорты ещё не закрыто: 30,0 % её клиентов в работе" in re.sub(r"\s+", " ", text)
    assert text.count("30,0 %") == 1
    assert "В работе" not in text


def test_the_glossary_shares_the_last_page_with_the_appendix(rendered):
    pages = [page.extract_text() or "" for page in PdfReader(rendered["ru"]).pages]
    [glossary] = [number for number, text in enumerate(pages) if "Как читать отчёт" in text]
    assert "Этапы CRM без соответствия" in pages[glossary]
    assert "Самый слабый шаг" in pages[glossary] or "Самый слабый шаг" in pages[-1]


def test_an_amended_report_says_so_on_page_one_with_what_changed(tmp_path):
    (tmp_path / "voronka.yaml").write_text(CONFIG_YAML, encoding="utf-8")
    build_warehouse(tmp_path / "warehouse.duckdb")
    config = load_config(tmp_path / "voronka.yaml")
    [first] = render_reports(config, MONTH, locales=["ru"])
    now = delivery.printed(config, MONTH)
    delivery.record_render(config, MONTH, {f: p.digest for f, p in now.items()}, [first], now)
    assert "Исправленный" not in pdf_text(first)
    # Late data: 6 more clients entered the funnel in October, 2 more closed.
    with duckdb.connect(str(config.warehouse_path)) as con:
        con.execute(
            "update marts.funnel_stage_monthly set entities = entities + "
            "case stage_order when 1 then 6 when 4 then 2 else 0 end "
            "where view = 'period' and month = '2026-10-01' and segment_type = 'total'"
        )
    [amended] = render_reports(config, MONTH, locales=["ru"])
    page_one = re.sub(r"\s+", " ", PdfReader(amended).pages[0].extract_text())
    assert "Исправленный отчёт (редакция 2)" in page_one
    assert "в версии с данными на 3 ноября 2026, 13:00" in page_one
    assert "Период, октябрь 2026: «Входящий звонок»: клиентов 1 234 → 1 240" in page_one
    assert "Период, октябрь 2026: «Оплата»: клиентов 161 → 163" in page_one
    # The ledger records the amendment; a re-render of the same figures still says so.
    now = delivery.printed(config, MONTH)
    changed = delivery.record_render(
        config, MONTH, {f: p.digest for f, p in now.items()}, [amended], now
    )
    assert changed == {"doors": True}
    [again] = render_reports(config, MONTH, locales=["ru"])
    assert again.read_bytes() == amended.read_bytes()


def glossary_after(spacer_mm: int) -> str:
    """A page of the report's stylesheet: a block `spacer_mm` tall, then a glossary of
    twelve definitions (the report's two-column glossary, three columns fitted)."""
    definitions = "".join(
        f'<div class="definition"><dt>Term {n}</dt><dd>{"a definition of some words " * 9}</dd>'
        "</div>"
        for n in range(12)
    )
    return (
        '<html lang="en"><head><link rel="stylesheet" href="static/report.css"></head><body>'
        f'<div style="height: {spacer_mm}mm">Above</div>'
        f'<section class="method"><h2>How to read it</h2><dl class="definitions">{definitions}'
        "</dl></section></body></html>"
    )


def test_a_glossary_spilling_a_few_lines_over_is_fitted_onto_the_page(tmp_path):
    """A report whose glossary would end a few lines into a new page is laid out fitted
    (html_to_pdf) and printed on one page; one that needs the page keeps it, filled."""
    path = tmp_path / "fitted.pdf"

    def fills(spacer_mm: int, *, fit: bool) -> list[float]:
        path.write_bytes(html_to_pdf(glossary_after(spacer_mm), fit=fit))
        return page_fills(path)

    # The first spacer whose plain layout spills the glossary onto a nearly empty page.
    spacer = next(mm for mm in range(160, 260, 4) if len(fills(mm, fit=False)) == 2)
    assert fills(spacer, fit=False)[-1] < 1 / 3
    assert len(fills(spacer, fit=True)) == 1
    # Twelve definitions after a full page of spacer cannot fit: two pages either way.
    assert len(fills(255, fit=True)) == 2
