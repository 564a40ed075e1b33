"""A funnel without `pipeline` takes every deal of its source, whose deals then carry no
pipeline. One CRM stage name its stages do not map failed the whole build (the
`unmapped_stages` contract required a pipeline): no warehouse, no report. The name is
reported, with no pipeline, in the mart and in the PDF's appendix."""

from __future__ import annotations

import re

import duckdb

from pipeline.reporting import report_models, template_context
from pipeline.reporting.render import render_html
from tests.reliability.tiny_project import built_project, deals


def test_an_unmapped_stage_of_a_funnel_without_a_pipeline_is_reported(tmp_path) -> None:
    rows = deals(1, 20) + deals(2, 20)
    rows += [("Q1", "2025-02-10 10:00", "Qualified", "Anna Smirnova", "+79160000001")]
    config = built_project(tmp_path, "deals_2025-03-01_0600.csv", rows)

    with duckdb.connect(str(config.warehouse_path), read_only=True) as con:
        unmapped = con.execute(
            "select source, crm_pipeline, stage, deals from marts.unmapped_stages"
        ).fetchall()
    assert unmapped == [("crm", None, "Qualified", 1)]

    [funnel] = config.funnels
    model = report_models(config, "2025-02")[funnel.id]
    html = render_html(template_context(model, funnel, "en"), "en")
    appendix = re.sub(r"\s+", " ", html.split('<section class="appendix">', 1)[1])
    assert re.search(
        r"<td class=\"name\">crm</td><td class=\"name\"></td>"
        r"<td class=\"name\">Qualified</td><td>1</td>",
        appendix,
    ), appendix
