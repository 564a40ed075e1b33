"""Report pieces that need no PDF: locale formats, labels, the report model, the SVG chart."""

from __future__ import annotations

import datetime as dt
import xml.etree.ElementTree as ET

import pytest

from pipeline.config import CustomSegment, Funnel
from pipeline.months import add_months, parse_month
from pipeline.reporting import template_context
from pipeline.reporting.build import build_report_model
from pipeline.reporting.charts import funnel_chart
from pipeline.reporting.formatting import Formatter, significant
from pipeline.reporting.labels import LABELS, labels_for
from pipeline.reporting.render import render_html
from pipeline.reporting.sections.appendix import mask_phone_like
from pipeline.reporting.sections.managers import build_manager_board
from pipeline.reporting.warehouse import (
    BottleneckRow,
    Cutoff,
    FunnelMarts,
    ScorecardRow,
    StageDurationRow,
    StageMonthRow,
)
from pipeline.reporting.words import Words, display_value


def plain(text: str) -> str:
    """Babel separates groups and units with no-break spaces; compare them as spaces."""
    return text.replace("\u00a0", " ").replace("\u202f", " ").replace("\u2009", " ")


@pytest.mark.parametrize(
    ("locale", "number", "percent", "month"),
    [
        ("ru", "1 234 567", "1 234,5 %", "октябрь 2026"),
        ("en", "1,234,567", "1,234.5%", "October 2026"),
    ],
)
def test_numbers_percents_and_months_follow_the_locale(locale, number, percent, month):
    fmt = Formatter(locale)
    assert plain(fmt.number(1234567)) == number
    assert plain(fmt.percent(12.345)) == percent
    assert fmt.month(dt.date(2026, 10, 1)) == month


def test_rates_show_one_decimal_and_null_shows_a_dash():
    assert plain(Formatter("ru").percent(0.4)) == "40,0 %"
    assert Formatter("en").percent(0.13636) == "13.6%"
    assert Formatter("en").percent(None) == "—"
    assert Formatter("ru").number(None) == "—"


def test_changes_carry_a_sign_and_rate_changes_are_in_points():
    ru, en = Formatter("ru"), Formatter("en")
    assert plain(ru.signed_number(1234)) == "+1 234"
    assert en.signed_number(-56) == "−56"
    assert en.signed_number(0) == "0"
    assert plain(ru.signed_points(-0.0213, "п. п.")) == "−2,1 п. п."
    assert plain(en.signed_points(0.003, "pp")) == "+0.3 pp"


def test_cutoff_time_is_written_in_the_readers_language():
    moment = dt.datetime(2026, 11, 3, 13, 0)
    assert Formatter("ru").datetime(moment) == "3 ноября 2026, 13:00"
    assert Formatter("en").datetime(moment) == "November 3, 2026, 13:00"


def test_every_locale_has_the_same_label_keys():
    assert set(LABELS["ru"]) == set(LABELS["en"])
    with pytest.raises(ValueError, match="no report labels"):
        labels_for("de")


def test_month_arithmetic_and_parsing():
    assert add_months(dt.date(2026, 1, 1), -1) == dt.date(2025, 12, 1)
    assert add_months(dt.date(2026, 10, 1), -12) == dt.date(2025, 10, 1)
    assert parse_month("2026-10") == dt.date(2026, 10, 1)
    with pytest.raises(ValueError, match="YYYY-MM"):
        parse_month("10/2026")


# ── the model ────────────────────────────────────────────────────────────────

FUNNEL = Funnel(
    id="f",
    name={"ru": "Воронка", "en": "Funnel"},
    crm=[{"source": "crm", "pipeline": "P"}],
    window_days=30,
    stages=[
        {"key": "lead", "name": {"ru": "Лид", "en": "Lead"}, "crm_stages": [{"name": "a"}]},
        {
            "key": "meet",
            "name": {"ru": "Встреча", "en": "<b>Meet & greet</b>"},
            "crm_stages": [{"name": "b"}],
        },
        {"key": "won", "name": {"ru": "Оплата", "en": "Won"}, "crm_status": "won"},
    ],
)
CUTOFF = Cutoff(dt.datetime(2026, 3, 2, 9), dt.datetime(2026, 3, 2, 12), dt.date(2026, 2, 1))


def rows_for(month, view, counts, rates, *, mature=True, segment=("total", "all")):
    out = []
    for order, (key, entities) in enumerate(zip(("lead", "meet", "won"), counts, strict=True), 1):
        rate = rates[order - 1] if order < 3 else None
        out.append(
            StageMonthRow(
                "f",
                month,
                view,
                segment[0],
                segment[1],
                order,
                key,
                entities,
                counts[order] if order < 3 else None,
                0,
                0,
                rate,
                0.5 / order,
                None if rate is None else 1 - rate,
                0.1,
                0.9,
                mature,
                0.0 if mature else 0.4,
            )
        )
    return out


def model_for(rows, month=dt.date(2026, 2, 1)):
    return build_report_model(FUNNEL, month, CUTOFF, rows, timezone="UTC")


def test_kpis_take_mart_values_as_they_are_and_compare_only_where_data_reaches():
    jan, feb = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    rows = (
        rows_for(jan, "period", (10, 5, 2), (0.5, 0.4))
        + rows_for(feb, "period", (12, 6, 3), (0.5, 0.5))
        + rows_for(jan, "cohort", (9, 3, 1), (0.3333, 0.3333))
        + rows_for(feb, "cohort", (11, 7, 2), (0.6363, 0.2857), mature=False)
    )
    model = model_for(rows)
    kpis = {kpi.key: kpi for kpi in model.sections[0].data}
    assert kpis["top_volume"].value == 12
    assert kpis["top_volume"].vs_previous.change == 2
    assert kpis["top_volume"].vs_year is None  # February 2025 is not in the data
    assert kpis["closed"].value == 3
    # February's cohort is still open: the overall conversion is January's, as stored.
    assert model.mature_month == jan
    assert kpis["overall_conversion"].month == jan
    assert kpis["overall_conversion"].value == 0.5 / 3
    assert kpis["overall_conversion"].vs_previous is None
    # 9 and 3 clients are too few to judge a step (n ≥ 30, the managers' rule): no flag.
    assert kpis["weakest_step"].value is None and kpis["weakest_step"].stages == ()
    assert model.cohort.weakest is None and model.cohort.judged
    assert model.cohort_open is not None and model.cohort_open.month == feb


def test_a_month_in_progress_says_so_and_compares_its_figures_to_date_with_no_month():
    """The cutoff's own month (a report asked for with --month) is not over: page one says
    so, and its volumes to date are compared with no whole month."""
    jan, feb, mar = dt.date(2026, 1, 1), dt.date(2026, 2, 1), dt.date(2026, 3, 1)
    rows = (  # CUTOFF: 2 March, the last complete month February
        rows_for(jan, "period", (10, 5, 2), (0.5, 0.4))
        + rows_for(feb, "period", (12, 6, 3), (0.5, 0.5))
        + rows_for(mar, "period", (2, 0, 0), (0.0, None))
    )
    in_progress = model_for(rows, month=mar)
    assert in_progress.notice_keys == ("notice_month_in_progress",)
    kpis = {kpi.key: kpi for kpi in in_progress.sections[0].data}
    assert kpis["top_volume"].value == 2
    assert kpis["top_volume"].vs_previous is None and kpis["closed"].vs_previous is None
    assert kpis["top_volume"].to_date and not kpis["overall_conversion"].to_date
    complete = model_for(rows, month=feb)
    assert complete.notice_keys == ()
    assert {kpi.key: kpi for kpi in complete.sections[0].data}["top_volume"].vs_previous.change == 2
    for locale, words in (("en", "This month is not over"), ("ru", "Месяц ещё не закончился")):
        assert labels_for(locale)["notice_month_in_progress"].startswith(words)


def test_sections_are_omitted_when_their_data_is_absent():
    model = model_for([])
    assert model.has_data is False
    assert model.sections == ()
    only_period = model_for(rows_for(dt.date(2026, 2, 1), "period", (4, 2, 1), (0.5, 0.5)))
    templates = [section.template for section in only_period.sections]
    assert "partials/period.html.j2" in templates
    assert "partials/segments.html.j2" not in templates


def test_html_escapes_names_from_config_and_data():
    feb = dt.date(2026, 2, 1)
    rows = rows_for(feb, "period", (4, 2, 1), (0.5, 0.5)) + rows_for(
        feb, "period", (4, 2, 1), (0.5, 0.5), segment=("manager", '<img src="file:///etc/passwd">')
    )
    model = model_for(rows)
    html = render_html(template_context(model, FUNNEL, "en"), "en")
    assert "<img src=" not in html
    assert "&lt;img src=&#34;file:///etc/passwd&#34;&gt;" in html
    assert "&lt;b&gt;Meet &amp; greet&lt;/b&gt;" in html


def test_chart_svg_is_well_formed_and_escapes_stage_names():
    jan, feb = dt.date(2026, 1, 1), dt.date(2026, 2, 1)
    rows = rows_for(feb, "period", (100, 40, 10), (0.4, 0.25)) + rows_for(
        jan, "cohort", (100, 40, 10), (0.4, 0.25)
    )
    model = model_for(rows)
    words = Words(FUNNEL, "en", labels_for("en"))
    svg = funnel_chart(model.cohort, Formatter("en"), words, 'Cohort "Jan"')
    root = ET.fromstring(svg)  # raises on broken XML
    texts = [element.text for element in root.iter("{http://www.w3.org/2000/svg}text")]
    assert "2. <b>Meet & greet</b>" in texts
    assert "↓ 40.0%" in texts
    assert any("weakest step" in (text or "") for text in texts)
    # The period view flags no step of its own: one weakest step, the cohort's.
    period = funnel_chart(model.period, Formatter("en"), words, "Period")
    assert "weakest step" not in period


@pytest.mark.parametrize(
    ("locale", "days", "change", "window"),
    [
        ("ru", "54,2", "−3,7", "май – июль 2026 г."),
        ("en", "54.2", "−3.7", "May – July 2026"),
    ],
)
def test_days_changes_and_month_windows_follow_the_locale(locale, days, change, window):
    fmt = Formatter(locale)
    assert fmt.decimal(54.2495) == days
    assert fmt.signed_decimal(-3.7000000000000028) == change
    assert fmt.signed_decimal(0.01) == ("0,0" if locale == "ru" else "0.0")
    assert plain(fmt.month_range(dt.date(2026, 5, 1), dt.date(2026, 7, 1))) == window
    assert fmt.month_range(dt.date(2026, 7, 1), dt.date(2026, 7, 1)) == fmt.month(
        dt.date(2026, 7, 1)
    )


def test_placeholders_print_in_the_readers_language_and_phones_are_masked():
    ru, en = labels_for("ru"), labels_for("en")
    assert display_value("(unknown)", ru) == "не указан"
    assert display_value("(unknown)", en) == "not specified"
    assert display_value("(not given)", en) == "no reason given"
    assert display_value("Сайт", ru) == "Сайт"
    assert mask_phone_like("'+7 (495) 123-45-67' is not a phone") == "'…' is not a phone"
    assert mask_phone_like("'89161234567' x") == "'…' x"
    kept = "'2025-13-01 10:00:00' is not a date/time; 16, 17 or 18 fields"
    assert mask_phone_like(kept) == kept


def test_manager_board_ranks_by_the_shrunk_rate_of_the_bottleneck_step():
    feb = dt.date(2026, 2, 1)

    def card(manager, order, n, rate, shrunk, *, too_few=False, significant=False):
        key = ("lead", "meet")[order - 1]
        return ScorecardRow(feb, manager, order, key, 3, n, rate, shrunk, too_few, 0.1, significant)

    marts = FunnelMarts(
        scorecard=(
            card("A", 1, 100, 0.9, 0.8),
            card("A", 2, 4, 0.75, 0.5, too_few=True),
            card("B", 1, 100, 0.5, 0.5, significant=True),
            card("B", 2, 100, 0.6, 0.6),
            card("(unknown)", 1, 50, 0.7, 0.7),
            card("Gone", 1, 0, None, 0.65),  # clients in other months only: left out
            card("Gone", 2, 0, None, 0.55),
        ),
        bottleneck=(
            BottleneckRow(feb, 1, "lead", "A", 0.8, 0.6, 0.5, False),
            BottleneckRow(feb, 2, "meet", "B", 0.6, 0.55, 2.0, True),
        ),
    )
    words = Words(FUNNEL, "en", labels_for("en"))
    board = build_manager_board(marts, FUNNEL)
    # 3 of 4 (A) does not outrank 60 of 100 (B): the shrunk rate ranks.
    assert [words.value(row.manager) for row in board.rows] == ["B", "A", "not specified"]
    assert board.rank_step == "meet" and board.rank_is_bottleneck
    assert words.step(board.rank_step) == "<b>Meet & greet</b> → Won"
    assert board.team_rates == (0.6, 0.55)
    assert board.window_from == dt.date(2025, 12, 1)
    a_cells = board.rows[1].cells
    assert a_cells[1].too_few and not a_cells[1].significant
    assert board.rows[0].cells[0].significant and board.rows[0].cells[0].direction == "above"
    assert board.rows[2].cells[1] is None  # no row for that step


def test_the_deals_that_name_no_manager_are_never_ranked_a_manager():
    # 50 deals without an owner convert best: they were ranked first, a "manager" named
    # "not specified" at the top of the team's table.
    feb = dt.date(2026, 2, 1)

    def card(manager, order, n, shrunk):
        key = ("lead", "meet")[order - 1]
        return ScorecardRow(feb, manager, order, key, 3, n, shrunk, shrunk, False, 0.1, False)

    marts = FunnelMarts(
        scorecard=(
            card("A", 1, 100, 0.5),
            card("A", 2, 60, 0.4),
            card("(unknown)", 1, 50, 0.9),
            card("(unknown)", 2, 45, 0.85),
            card("B", 1, 100, 0.6),
            card("B", 2, 60, 0.3),
        ),
    )
    board = build_manager_board(marts, FUNNEL)
    assert [(row.rank, row.manager) for row in board.rows] == [
        (1, "A"),
        (2, "B"),
        (None, "(unknown)"),
    ]


@pytest.mark.parametrize(
    ("locale", "line"),
    [
        ("en", "Only Anna had clients in"),
        ("ru", "клиенты были только у менеджера Anna: сравнивать не с кем"),
    ],
)
def test_a_single_manager_is_not_compared_with_herself(locale, line):
    # One manager with clients in the window: the team's rates are hers, and a table of
    # her against them (ranked first of one) said nothing; a line says why there is none.
    feb = dt.date(2026, 2, 1)
    scorecard = tuple(
        ScorecardRow(feb, "Anna", order, key, 3, 40, 0.5, 0.5, False, 0.0, False)
        for order, key in ((1, "lead"), (2, "meet"))
    )
    bottleneck = (BottleneckRow(feb, 1, "lead", "Anna", 0.5, 0.5, 0.0, False),)
    rows = rows_for(feb, "period", (4, 2, 1), (0.5, 0.5)) + rows_for(
        feb, "cohort", (4, 2, 1), (0.5, 0.5)
    )
    model = build_report_model(
        FUNNEL, feb, CUTOFF, rows, timezone="UTC",
        marts=FunnelMarts(scorecard=scorecard, bottleneck=bottleneck),
        tables=frozenset({"funnel_stage_monthly", "manager_scorecard", "funnel_bottleneck"}),
    )  # fmt: skip
    html = render_html(template_context(model, FUNNEL, locale), locale)
    assert 'class="managers"' in html
    assert line in html
    assert 'class="heatmap' not in html


def test_custom_segment_tables_are_headed_by_their_configured_name():
    funnel = FUNNEL.model_copy(
        update={
            "segments": [
                "manager",
                CustomSegment(type="city", column="city", name={"ru": "Город", "en": "City"}),
            ]
        }
    )
    feb = dt.date(2026, 2, 1)
    rows = rows_for(feb, "period", (4, 2, 1), (0.5, 0.5)) + rows_for(
        feb, "period", (4, 2, 1), (0.5, 0.5), segment=("city", "(unknown)")
    )
    model = build_report_model(funnel, feb, CUTOFF, rows, timezone="UTC")
    [segments] = [s.data for s in model.sections if s.template.endswith("segments.html.j2")]
    [table] = segments
    words = Words(funnel, "ru", labels_for("ru"))
    assert words.segment_type(table.segment_type) == "Город"
    assert [words.value(row.segment) for row in table.rows] == ["не указан"]


def durations(converted_and_timed):
    jan = dt.date(2026, 1, 1)
    return tuple(
        StageDurationRow(jan, order, key, converted, None, timed)
        for order, (key, (converted, timed)) in enumerate(
            zip(("lead", "meet"), converted_and_timed, strict=True), 1
        )
    )


def test_page_one_says_when_stage_times_are_unknown_and_only_then():
    rows = rows_for(dt.date(2026, 2, 1), "period", (12, 6, 3), (0.5, 0.5))
    # One export without history: 30 transitions, 4 of them with exact times.
    untimed = build_report_model(
        FUNNEL,
        dt.date(2026, 2, 1),
        CUTOFF,
        rows,
        timezone="UTC",
        marts=FunnelMarts(durations=durations([(20, 4), (10, 0)])),
    )
    assert untimed.notice_keys == ("notice_stage_times_unknown",)
    assert "Stage times are unknown" in labels_for("en")["notice_stage_times_unknown"]
    assert (
        "Время переходов между этапами неизвестно" in labels_for("ru")["notice_stage_times_unknown"]
    )
    # Half of them timed: durations rest on enough deals, nothing to say.
    timed = build_report_model(
        FUNNEL,
        dt.date(2026, 2, 1),
        CUTOFF,
        rows,
        timezone="UTC",
        marts=FunnelMarts(durations=durations([(20, 10), (10, 5)])),
    )
    assert timed.notice_keys == ()
    assert model_for(rows).notices == ()  # no durations mart at all


@pytest.mark.parametrize(
    ("value", "rounded"),
    [
        (3_091_958.4, 3_090_000),
        (999_500.0, 1_000_000),  # half up carries into a new figure
        (999_499.9, 999_000),
        (12_345, 12_300),
        (-12_355, -12_400),  # half away from zero
        (845.5, 846),
        (84.4, 84),  # never finer than a whole unit
        (0.0, 0),
        (None, None),
    ],
)
def test_an_estimated_sum_keeps_three_significant_figures(value, rounded):
    assert significant(value, 3) == rounded
    if value is not None:
        assert Formatter("en").estimated_money(value, "RUB").endswith(f"{abs(rounded):,}")
