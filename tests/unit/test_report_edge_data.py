"""What page one and the tables say on data at the edges: exports without amounts, a
funnel where nobody drops, a period with more entries at a step than at the one before,
a plan with a step nobody passed, a bottleneck worth nothing. Each printed a confident
number that meant nothing (0 revenue, a 100 % 'weakest step', '-87.5%', '386 – —',
'≈ +0.0 closed sales')."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

from pipeline.config.funnels import Plan
from pipeline.planning import PlanRow
from pipeline.reporting import template_context
from pipeline.reporting.build import build_report_model, left_out
from pipeline.reporting.model import Section
from pipeline.reporting.render import render_html
from pipeline.reporting.sections.appendix import build_appendix
from pipeline.reporting.sections.kpis import won_amount_of
from pipeline.reporting.sections.managers import build_bottleneck
from pipeline.reporting.sections.plan import PlanTable
from pipeline.reporting.sections.trends import build_trends
from pipeline.reporting.stages import no_step_drops, weakest_order
from pipeline.reporting.warehouse import (
    BottleneckRow,
    FunnelMarts,
    QualityRow,
    RevenueRow,
    StageTrendRow,
)
from tests.unit.test_report_formatting import CUTOFF, FUNNEL, model_for, rows_for

FEB = dt.date(2026, 2, 1)


def html_of(model, locale: str = "en") -> str:
    return re.sub(r"\s+", " ", render_html(template_context(model, FUNNEL, locale), locale))


def test_won_deals_without_amounts_have_no_revenue_rather_than_zero() -> None:
    no_amounts = RevenueRow(FEB, won_deals=13, won_amount=0.0, avg_deal=None)
    nothing_won = RevenueRow(FEB, won_deals=0, won_amount=0.0, avg_deal=None)
    some = RevenueRow(FEB, won_deals=3, won_amount=500.0, avg_deal=250.0)
    assert won_amount_of(no_amounts) is None
    assert won_amount_of(nothing_won) == 0.0
    assert won_amount_of(some) == 500.0

    rows = rows_for(FEB, "period", (40, 30, 13), (0.75, 0.4333))
    model = build_report_model(
        FUNNEL,
        FEB,
        CUTOFF,
        rows,
        timezone="UTC",
        tables=frozenset({"funnel_stage_monthly", "revenue_monthly"}),
        marts=FunnelMarts(revenue=(no_amounts,)),
    )
    html = html_of(model)
    assert "The exports give no amount for these sales" in html
    assert not re.search(r"kpi-won_amount.*?kpi-value\">[^<]*0<", html)


def test_a_funnel_where_no_step_loses_a_client_has_no_weakest_step() -> None:
    everyone = rows_for(FEB, "cohort", (60, 60, 60), (1.0, 1.0))
    assert weakest_order(everyone) is None and no_step_drops(everyone)
    some_drop = rows_for(FEB, "cohort", (60, 60, 54), (1.0, 0.9))
    assert weakest_order(some_drop) == 2 and not no_step_drops(some_drop)
    too_few = rows_for(FEB, "cohort", (20, 20, 20), (1.0, 1.0))
    assert weakest_order(too_few) is None and not no_step_drops(too_few)

    html = html_of(model_for(everyone))
    assert "no step is weaker than another" in html
    assert "weakest step" not in html.split("kpi-weakest_step", 1)[1].split("</div>", 3)[0]


def test_a_negative_drop_off_of_the_period_view_is_not_printed() -> None:
    """More entered the next step than this one in the month (conversion over 100 %): a
    drop-off of '-87.5%' means nothing to a manager."""
    rows = rows_for(FEB, "period", (8, 15, 3), (1.875, 0.2))
    html = html_of(model_for(rows))
    assert "-87.5%" not in html and "−87.5%" not in html
    assert "187.5%" in html  # the conversion itself stays


def plan_row(order: int, key: str, rate, low, high, volume, volume_low, volume_high) -> PlanRow:
    return PlanRow(
        dt.date(2026, 3, 1),
        order,
        key,
        FEB,
        FEB,
        rate,
        low,
        high,
        10,
        volume,
        volume_low,
        volume_high,
    )


def test_a_plan_with_a_step_nobody_passed_says_so_and_prints_no_half_range() -> None:
    steps = (
        plan_row(1, "lead", 0.5, 0.4, 0.6, None, 386.0, None),
        plan_row(2, "meet", 0.0, 0.0, 0.026, None, 193.0, None),
        plan_row(3, "won", None, None, None, 10.0, None, None),
    )
    table = PlanTable(dt.date(2026, 3, 1), 10, FEB, FEB, steps)
    assert table.blocked_step is steps[1]

    model = model_for(rows_for(FEB, "period", (4, 2, 1), (0.5, 0.5)))
    html = html_of(dataclasses.replace(model, sections=(Section("partials/plan.html.j2", table),)))
    assert "386 – —" not in html and "193 – —" not in html
    assert "No client of the cohorts of February 2026 passed the step &lt;b&gt;Meet" in html


def test_a_bottleneck_worth_no_closed_sale_is_no_bottleneck() -> None:
    def marts(extra: float) -> FunnelMarts:
        row = BottleneckRow(FEB, 1, "lead", "Anna", 0.6972, 0.6972, extra, True)
        return FunnelMarts(bottleneck=(row,))

    assert build_bottleneck(marts(0.00003), FUNNEL) is None
    assert build_bottleneck(marts(0.4), FUNNEL).extra_closed_sales == 0.4


def test_an_immature_cohort_with_none_in_progress_says_its_figures_are_final() -> None:
    """'0.0% of its clients are in progress, so its conversions are understated' said the
    reverse of what 0 % means."""
    jan = dt.date(2026, 1, 1)
    mature = rows_for(jan, "cohort", (40, 20, 10), (0.5, 0.5))
    settled = [
        dataclasses.replace(row, share_open=0.0)
        for row in rows_for(FEB, "cohort", (40, 20, 10), (0.5, 0.5), mature=False)
    ]
    html = html_of(model_for(mature + settled))
    assert "none of its clients is in progress any more" in html
    assert "of its clients are in progress" not in html


def test_the_cohort_size_panel_points_at_the_latest_mature_cohort_with_clients() -> None:
    # March is mature but nobody entered the funnel then: the panel's highlighted latest
    # point stays on February, the month the report judges (stages.latest_mature_month).
    mar = dt.date(2026, 3, 1)
    trends = (
        StageTrendRow(FEB, 1, FUNNEL.stages[0].key, True, 60, 0.5, None),
        StageTrendRow(mar, 1, FUNNEL.stages[0].key, True, 0, None, None),
    )
    built = build_trends(FunnelMarts(trends=trends), (), FUNNEL, mar)
    size = next(panel for panel in built.panels if panel.label == "trend_cohort_size")
    assert (size.latest.month, size.latest.value) == (FEB, 60)
    assert [p.value for p in size.points][-2:] == [60, 0]  # the empty month is still drawn


def test_the_appendix_says_how_many_deals_have_an_amount_in_another_currency() -> None:
    quality = (
        QualityRow(FEB, "crm", "amounts_other_currency", "USD", 3.0),
        QualityRow(FEB, "hs", "amounts_other_currency", "EUR", 1.0),
        QualityRow(dt.date(2026, 1, 1), "crm", "amounts_other_currency", "USD", 7.0),
    )
    appendix = build_appendix(
        FunnelMarts(quality=quality), FUNNEL, FEB, has_quality=True, has_unmapped_mart=False
    )
    assert (appendix.other_currency_deals, appendix.other_currencies) == (4.0, ("EUR", "USD"))
    rows = rows_for(FEB, "cohort", (40, 30, 13), (0.75, 0.4333))
    model = build_report_model(
        FUNNEL, FEB, CUTOFF, rows, timezone="UTC",
        tables=frozenset({"funnel_stage_monthly", "data_quality"}),
        marts=FunnelMarts(quality=quality),
    )  # fmt: skip
    assert "(EUR, USD): 4; their amounts are left out of every sum" in html_of(model)


def test_a_segments_conversion_of_a_small_cohort_is_printed_grey_and_said_so() -> None:
    # Anna's February cohort has 40 clients, Boris's 3: his conversion is no rate to compare.
    rows = (
        rows_for(FEB, "cohort", (43, 30, 14), (0.6977, 0.4667))
        + rows_for(FEB, "cohort", (40, 28, 13), (0.7, 0.4643), segment=("manager", "Anna"))
        + rows_for(FEB, "cohort", (3, 2, 1), (0.6667, 0.5), segment=("manager", "Boris"))
    )
    model = build_report_model(FUNNEL, FEB, CUTOFF, rows, timezone="UTC")
    [table] = next(s.data for s in model.sections if s.template.endswith("segments.html.j2"))
    assert [(row.segment, row.few) for row in table.rows] == [("Anna", False), ("Boris", True)]
    html = html_of(model)
    assert "Grey: a cohort of fewer than 30 clients" in html
    segments = re.search(r'<section class="segments">.*?</section>', html).group(0)
    assert segments.count('<td class="muted">') == 1  # Boris's conversion alone


def test_page_one_says_which_sections_the_data_does_not_give_yet() -> None:
    # A new site: two months of data, no mature cohort month, no plan target. The report
    # left out "What changed", the forecast, the managers and the plan without a word.
    rows = rows_for(FEB, "period", (40, 30, 13), (0.75, 0.4333))
    model = model_for(rows)
    assert model.left_out == (
        "left_out_changes",
        "left_out_forecast",
        "left_out_managers",
        "left_out_plan_unset",
    )
    html = html_of(model)
    assert "Not in this report" in html
    assert "“What changed”: from the 7th mature cohort month on" in html
    assert "the plan: no target of closed sales is set for this funnel (plan: target)." in html
    assert "«Что изменилось»: с 7-го зрелого месяца когорт" in html_of(model, "ru")

    with_target = FUNNEL.model_copy(update={"plan": Plan(target=8)})
    planned = build_report_model(with_target, FEB, CUTOFF, rows, timezone="UTC")
    assert planned.left_out[-1] == "left_out_plan"
    assert "the plan for next month: from the first mature cohort month on." in html_of(planned)


def test_only_the_sections_a_reader_looks_for_are_said_to_be_left_out() -> None:
    # A funnel without segments or trends rows has nothing to say about them.
    assert left_out(frozenset({"trends", "segments"}), FUNNEL) == ()
    assert left_out(frozenset({"plan", "changes"}), FUNNEL) == (
        "left_out_changes",
        "left_out_plan_unset",
    )
