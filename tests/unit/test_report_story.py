"""Issue 16: the report tells one true story. The rules, on hand-checkable report models
and their HTML (no PDF): one weakest step for every section, never on counts too small to
judge; a bottleneck only where a manager is significantly better, else said plainly;
reject reasons, money and the sections that apply in the reader's terms; the plan's
volumes in whole prospects, rounded up, and a range too wide to act on flagged."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from pipeline.config import Funnel
from pipeline.planning import range_too_wide, whole_prospects
from pipeline.reporting import template_context
from pipeline.reporting.build import build_report_model, with_amendment
from pipeline.reporting.formatting import Formatter
from pipeline.reporting.labels import labels_for
from pipeline.reporting.reasons import known_reason, reject_reason
from pipeline.reporting.render import render_html
from pipeline.reporting.sections.appendix import build_appendix
from pipeline.reporting.warehouse import (
    BottleneckRow,
    CallLeakRow,
    Cutoff,
    DataFileRow,
    FunnelMarts,
    LostReasonRow,
    SalesCycleRow,
    ScorecardRow,
    StageMonthRow,
    StageTrendRow,
)

JAN, FEB, MAR = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
CUTOFF = Cutoff(dt.datetime(2026, 4, 2, 9), dt.datetime(2026, 4, 2, 12), MAR)
KEYS = ("call", "meet", "offer", "won")
FUNNEL = Funnel(
    id="f",
    name={"ru": "Воронка", "en": "Funnel"},
    crm=[{"source": "crm"}],
    calls={"source": "pbx", "lines": ["+74950000001"]},
    window_days=30,
    stages=[
        {"key": "call", "name": {"ru": "Звонок", "en": "Call"}, "calls": {"direction": "inbound"}},
        {"key": "meet", "name": {"ru": "Встреча", "en": "Meet"}, "crm_stages": [{"name": "m"}]},
        {"key": "offer", "name": {"ru": "КП", "en": "Offer"}, "crm_stages": [{"name": "o"}]},
        {"key": "won", "name": {"ru": "Оплата", "en": "Won"}, "crm_status": "won"},
    ],
)


def stage_rows(month, view, counts, *, mature=True, share_open=0.0):
    rows = []
    for order, (key, entities) in enumerate(zip(KEYS, counts, strict=True), 1):
        following = counts[order] if order < len(counts) else None
        rate = following / entities if following is not None and entities else None
        rows.append(
            StageMonthRow(
                "f", month, view, "total", "all", order, key, entities, following, 0, 0,
                rate, entities / counts[0], None if rate is None else 1 - rate,
                None, None, mature, share_open if view == "cohort" else None,
            )
        )  # fmt: skip
    return rows


def card(month, manager, order, n, rate, shrunk, *, significant=False, gap=0.05):
    return ScorecardRow(
        month, manager, order, KEYS[order - 1], 3, n, rate, shrunk, n < 30, gap, significant
    )


def model(rows, marts=None, month=MAR, funnel=FUNNEL):
    return build_report_model(
        funnel,
        month,
        CUTOFF,
        rows,
        timezone="UTC",
        tables=frozenset({"funnel_stage_monthly", "call_leaks", "data_quality"}),
        marts=marts,
        currency="RUB",
    )


def html_of(report, locale="en") -> str:
    html = render_html(template_context(report, FUNNEL, locale), locale)
    return re.sub(r"\s+", " ", html)


def section(report, name):
    return next(s.data for s in report.sections if s.template.endswith(name))


# Period March: its own lowest rate is offer → won (10 / 50). Cohort January (mature,
# the latest mature one): call 200 → meet 120 (60 %) → offer 60 (50 %) → won 20 (33 %
# of 60). Cohort March is still open.
ROWS = (
    stage_rows(MAR, "period", (300, 150, 50, 10))
    + stage_rows(JAN, "cohort", (200, 120, 60, 20))
    + stage_rows(MAR, "cohort", (250, 40, 5, 0), mature=False, share_open=0.8)
)


def test_one_weakest_step_marks_the_mature_cohort_only_and_is_the_tiles():
    report = model(ROWS)
    assert [s.is_weakest for s in report.cohort.stages] == [False, False, True, False]
    assert not any(s.is_weakest for s in report.period.stages)  # no flag of its own
    assert not any(s.is_weakest for s in report.cohort_open.stages)  # immature: none
    kpis = {kpi.key: kpi for kpi in section(report, "kpis.html.j2")}
    assert kpis["weakest_step"].stages == ("offer", "won")
    assert "Offer → Won" in html_of(report)
    assert kpis["weakest_step"].value == pytest.approx(20 / 60)
    assert kpis["weakest_step"].dropoff == pytest.approx(1 - 20 / 60)


def test_a_step_fewer_than_30_entered_is_never_flagged():
    # Offer has 25 clients: only call (150 / 200) and meet (25 / 150 = 16.7 %) are judged;
    # meet is the weakest although offer → won is 4 of 25 (16 %).
    rows = stage_rows(JAN, "cohort", (200, 150, 25, 4))
    report = model(rows, month=JAN)
    assert report.cohort.weakest.key == "meet"
    # Two clients at the step (the key-accounts "0 of 2"): not judged, and with fewer
    # than two judged steps nothing is flagged, and the report says why.
    few = model(stage_rows(JAN, "cohort", (40, 20, 2, 0)), month=JAN)
    assert few.cohort.weakest is None
    html = html_of(few)
    assert "No weakest step is marked: fewer than two steps had 30 or more clients" in html
    assert "Fewer than two steps with 30 or more clients" in html  # the page-one tile


def test_no_significantly_better_manager_means_no_bottleneck_and_a_plain_sentence():
    scorecard = (
        card(JAN, "A", 1, 120, 0.61, 0.605),
        card(JAN, "B", 1, 80, 0.59, 0.595),
        card(JAN, "A", 2, 70, 0.52, 0.51),
        card(JAN, "B", 2, 50, 0.48, 0.49),
        card(JAN, "A", 3, 35, 0.34, 0.335),
        card(JAN, "B", 3, 25, 0.32, 0.33),
    )
    # The mart flags no step: its best managers are not significantly better.
    bottleneck = tuple(
        BottleneckRow(JAN, order, KEYS[order - 1], "A", rate, rate, 0.01, False)
        for order, rate in ((1, 0.6), (2, 0.5), (3, 0.3333))
    )
    report = model(ROWS, FunnelMarts(scorecard=scorecard, bottleneck=bottleneck))
    kpis = {kpi.key: kpi for kpi in section(report, "kpis.html.j2")}
    assert "bottleneck" not in kpis
    assert kpis["weakest_step"].no_standout.month == JAN
    html = html_of(report)
    assert (
        "No manager is significantly better than the rest of the team at any step "
        "(cohorts of November 2025 – January 2026), so this is the step with the largest "
        "drop-off: 66.7%." in html
    )
    assert "Raising" not in html  # never "from 33.3% to 33.3%"
    board = section(report, "managers.html.j2")
    assert board.rank_step == "offer" and board.rank_is_weakest
    assert "“Estimate”: the shrunk rate at “Offer → Won” (the weakest step)" in html
    ru = html_of(model(ROWS, FunnelMarts(scorecard=scorecard, bottleneck=bottleneck)), "ru")
    assert "Ни один менеджер не лучше остальной команды значимо ни на одном шаге" in ru
    # Too few clients to name a weakest step: the tile still says it plainly.
    few = stage_rows(JAN, "cohort", (40, 20, 2, 0))
    html = html_of(model(few, FunnelMarts(scorecard=scorecard, bottleneck=bottleneck), month=JAN))
    assert "No manager is significantly better than the rest of the team at any step" in html
    assert "Fewer than two steps with 30 or more clients" in html


def test_an_older_windows_bottleneck_is_not_brought_forward():
    scorecard = (card(JAN, "A", 1, 120, 0.7, 0.68, significant=True),)
    bottleneck = (
        BottleneckRow(dt.date(2025, 12, 1), 1, "call", "A", 0.7, 0.6, 5.0, True),
        BottleneckRow(JAN, 1, "call", "A", 0.7, 0.6, 5.0, False),
    )
    report = model(ROWS, FunnelMarts(scorecard=scorecard, bottleneck=bottleneck))
    assert "bottleneck" not in {kpi.key for kpi in section(report, "kpis.html.j2")}
    flagged = (BottleneckRow(JAN, 1, "call", "A", 0.68, 0.6, 8.0, True),)
    report = model(ROWS, FunnelMarts(scorecard=scorecard, bottleneck=flagged))
    kpis = {kpi.key: kpi for kpi in section(report, "kpis.html.j2")}
    assert kpis["bottleneck"].bottleneck.stage_key == "call"
    assert "Raising “Call → Meet”" in html_of(report)


REASONS = [
    "'вчера' is not a date/time",
    "'2026-03-29 02:30' does not exist in Europe/Berlin "
    "(the clock skips that hour at the DST change)",
    "'12' is an Excel serial date before 1900-03-01 (0 is an empty date cell)",
    "'01.11.24' has a two-digit year; write the year in full (dd.mm.yyyy), "
    "or set the source's formats.date with %y",
    "'01.01.1899' is in the year 1899, outside the plausible years 2000–2027 "
    "(quality.min_year, quality.max_year)",
    "'05.12.2026 10:00' is after the end of the day it was read (2026-12-01, Europe/Moscow)",
    "'05.12.2026 10:00' is after the file's snapshot time 2026-11-01 06:00 "
    "(from the file name) plus a day",
    "'12 000 руб' is not a number",
    "'2m' is not a whole number of seconds",
    "unknown disposition 'HUNG'",
    "cannot tell the call direction",
    "call id is empty",
    "deal id is empty",
    "stage is empty",
    "stage entry date is empty",
    "creation date is empty",
    "start time is empty",
    "the record has 3 fields, the header 5 (a truncated line?)",
    "the record has 7 fields, the header 5",
    "the record has 13 fields; Asterisk cdr-csv writes 16, 17 or 18",
    "the record has 9 fields, the field list 12",
    "a quote opened in this line is never closed (malformed quoting: x); "
    "the lines after it are read as records of their own",
    "malformed quoting: unexpected end of data",
    "the call ends ('2026-10-01 10:00') before it starts ('2026-10-01 11:00')",
    "the value is 10,000 characters long; at most 4,096 are read",
    "(no reason)",
]


@pytest.mark.parametrize("reason", REASONS)
def test_every_reject_reason_ingest_writes_prints_in_russian(reason):
    assert known_reason(reason)
    text = reject_reason(reason, labels_for("ru"))
    names = re.sub(r"«[^»]*»|\b[A-Z][a-z]+/[A-Za-z_]+", "", text)  # raw values, zones
    latin = re.findall(r"[A-Za-z]+", names)
    assert set(latin) <= {"Asterisk", "Excel"}, text  # products' names, nothing else
    value = re.match(r"'(.*?)'(?= )", reason) or re.search(r"'(.*)'$", reason)
    if value:
        assert f"«{value.group(1)}»" in text  # the raw value, as exported


def test_a_reason_of_an_unknown_shape_says_so_in_the_readers_language():
    assert not known_reason("something new went wrong")
    assert reject_reason("something new went wrong", labels_for("ru")).startswith("другая причина")
    assert (
        reject_reason("'вчера' is not a date/time", labels_for("en"))
        == "'вчера' is not a date/time"
    )


def test_sections_that_do_not_apply_are_left_out():
    leaks = (CallLeakRow("all", 0, 0, 40),)
    cold = FUNNEL.model_copy(
        update={
            "stages": [
                FUNNEL.stages[0].model_copy(
                    update={
                        "calls": FUNNEL.stages[0].calls.model_copy(update={"direction": "outbound"})
                    }
                ),
                *FUNNEL.stages[1:],
            ]
        }
    )
    appendix = build_appendix(
        FunnelMarts(call_leaks=leaks), cold, MAR, has_quality=False, has_unmapped_mart=False
    )
    assert not appendix.has_inbound and appendix.has_calls  # cold calls: no missed inbound
    html = html_of(model(ROWS, FunnelMarts(call_leaks=leaks), funnel=cold))
    assert "Missed inbound" not in html and "Calls lost in" not in html
    # A funnel with its calls source but no call stage: no call leads, no "linked to no deal".
    no_call_stage = FUNNEL.model_copy(
        update={"stages": [FUNNEL.stages[1].model_copy(update={"key": "call"}), *FUNNEL.stages[1:]]}
    )
    leaks = (CallLeakRow("Анна", 3, 1, 0), CallLeakRow("all", 3, 1, 0))
    appendix = build_appendix(
        FunnelMarts(call_leaks=leaks), no_call_stage, MAR, has_quality=False,
        has_unmapped_mart=False,
    )  # fmt: skip
    assert appendix.has_inbound and not appendix.has_calls
    html = html_of(model(ROWS, FunnelMarts(call_leaks=leaks), funnel=no_call_stage))
    assert "Missed inbound" in html
    assert "Calls without a deal" not in html and "linked to no deal" not in html


def test_phones_in_the_exports_free_text_are_masked_in_the_report():
    """A lost reason ("call back on 8 926 …"), a file name and a manager's name are the
    exports' own text: a phone in them prints with every digit but the last two masked, in
    both languages; amounts and counts print whole."""
    marts = FunnelMarts(
        lost_reasons=(LostReasonRow("meet", "Просил перезвонить 8 926 123-45-67", 60),),
        files=(
            DataFileRow(MAR, "crm", "crm/deals_tel_89261234567.csv", "a" * 64, "loaded", 9, 9, 0),
        ),
        call_leaks=(CallLeakRow("+7 926 765-43-21", 3, 1, 0), CallLeakRow("all", 3, 1, 0)),
    )
    tables = frozenset(
        {"funnel_stage_monthly", "call_leaks", "lost_reasons", "data_files", "data_quality"}
    )
    report = build_report_model(
        FUNNEL, MAR, CUTOFF, ROWS, timezone="UTC", tables=tables, marts=marts
    )
    for locale in ("en", "ru"):
        html = html_of(report, locale)
        assert "перезвонить • ••• •••-••-67" in html, locale
        assert "deals_tel_•••••••••67.csv" in html, locale
        digits = re.sub(r"\D", "", html)
        for phone in ("9261234567", "9267654321"):
            assert phone not in digits, (locale, phone)


def test_money_carries_the_currency_and_an_empty_sales_cycle_prints_no_dash_days():
    ru, en = Formatter("ru"), Formatter("en")
    assert ru.money(4161800.4, "RUB") == "4\u00a0161\u00a0800\u00a0₽"
    assert en.money(4161800, "RUB") == "RUB\u00a04,161,800"
    assert en.money(12, "USD") == "$12"
    assert en.money(12, None) == "12"
    assert ru.signed_money(-485300, "RUB") == "−485\u00a0300\u00a0₽"
    cycle = (SalesCycleRow(MAR, 0, None, None), SalesCycleRow(FEB, 3, 12.0, None))
    html = html_of(
        build_report_model(
            FUNNEL, MAR, CUTOFF, list(ROWS), timezone="UTC",
            tables=frozenset({"funnel_stage_monthly", "sales_cycle_monthly"}),
            marts=FunnelMarts(sales_cycle=cycle),
        ),
        "ru",
    )  # fmt: skip
    assert "не дольше — дн." not in html and "— дн." not in html


def test_plan_volumes_are_whole_prospects_rounded_up_and_wide_ranges_flagged():
    assert whole_prospects(3.27) == 4  # 3 at 91.7 % closes 2.75: 4 are needed, not 3
    assert whole_prospects(40.0000000001) == 40
    assert whole_prospects(None) is None
    assert range_too_wide(13, 189) and range_too_wide(151, 303)
    assert not range_too_wide(151, 302) and not range_too_wide(None, 10)


def test_an_amended_report_lists_what_changed_first_on_page_one():
    record = {
        "edition": 2,
        "previous_as_of": "2026-04-02T12:00:00",
        "changes": [
            {"view": "cohort", "month": "2026-01-01", "stage_key": "won",
             "measure": "entities", "old": 20, "new": 21},
            {"view": "period", "month": "2026-03-01", "stage_key": "call",
             "measure": "entities", "old": 300, "new": 306},
        ],
    }  # fmt: skip
    report = with_amendment(model(ROWS), record, FUNNEL)
    assert report.notice_keys[0] == "notice_amended"
    html = html_of(report, "ru")
    assert "Исправленный отчёт (редакция 2)" in html
    assert "в версии с данными на 2 апреля 2026, 12:00" in html
    period = html.index("Период, март 2026: «Звонок»: клиентов 300 → 306")
    cohort = html.index("Когорта январь 2026: «Оплата»: клиентов 20 → 21")
    assert period < cohort
    assert with_amendment(model(ROWS), None, FUNNEL).notices == ()


def test_one_model_serves_every_locale_and_the_templates_name_its_stages():
    report = model(ROWS, FunnelMarts(scorecard=(card(JAN, None, 1, 120, 0.7, 0.68),)))
    assert "КП" not in repr(report) and "Offer" not in repr(report)  # keys only
    ru, en = html_of(report, "ru"), html_of(report, "en")
    assert "КП → Оплата" in ru and "Offer → Won" not in ru
    assert "Offer → Won" in en and "КП" not in en
    assert "не указан" in ru and "not specified" in en  # the unknown manager


def test_one_trend_model_with_or_without_the_trends_mart():
    # funnel_stage_trends rows: the steps' panels carry the mart's change vs a year ago.
    trend = StageTrendRow(JAN, 1, "call", True, 200, 0.6, 0.05)
    with_mart = section(model(ROWS, FunnelMarts(trends=(trend,))), "trends.html.j2")
    assert [(p.label, p.step) for p in with_mart.panels][:2] == [
        ("trend_cohort_size", None),
        (None, "call"),
    ]
    assert with_mart.panels[1].change_vs_year == 0.05
    # None (a warehouse built before that mart): the same panels from funnel_stage_monthly.
    without = section(model(ROWS), "trends.html.j2")
    steps = [p for p in without.panels if p.step]
    assert [p.step for p in steps] == ["call", "meet", "offer"]
    assert steps[0].latest.month == JAN and steps[0].latest.value == pytest.approx(0.6)
    assert all(p.change_vs_year is None for p in steps)
    assert without.panels[-1].label == "trend_overall"
    assert "Call → Meet" in html_of(model(ROWS))
