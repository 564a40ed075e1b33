"""The monthly PDF report, end to end on a tiny hand-checkable warehouse built here.

Fixture: one 4-stage funnel, 14 months (2025-09 … 2026-10), both views, two managers
(one named like an HTML tag), two lead sources. Report month 2026-10; the data cutoff
2026-11-03 makes 2026-08 the latest mature cohort (window 60 days).
"""

from __future__ import annotations

import datetime as dt
import math
import os
import re
import textwrap
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from pipeline.config import ConfigError, load_config
from pipeline.reporting import ReportDataError, default_report_month, render_reports
from pipeline.reporting import render as render_module
from pipeline.reporting.render import RenderError, html_to_pdf, templates_only_fetcher

MONTH = "2026-10"
STAGES = ("call", "meeting", "proposal", "won")
FIRST_MONTH = dt.date(2025, 9, 1)
MONTHS = 14
WINDOW_DAYS = 60
CUTOFF_LOCAL = dt.datetime(2026, 11, 3, 13, 0)
CUTOFF_UTC = dt.datetime(2026, 11, 3, 10, 0)
INJECTED = '<img src="file:///etc/passwd">'

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
        segments: [manager, lead_source]
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


def build_warehouse(path: Path) -> None:
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
        con.executemany(
            "insert into marts.funnel_stage_monthly values (" + ", ".join(["?"] * 18) + ")", rows
        )
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


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("report")
    (root / "voronka.yaml").write_text(CONFIG_YAML, encoding="utf-8")
    build_warehouse(root / "warehouse.duckdb")
    return load_config(root / "voronka.yaml")


@pytest.fixture(scope="module")
def rendered(project):
    """Both locales of the fixture funnel, rendered once for the whole module."""
    paths = render_reports(project, MONTH)
    return {path.stem.rsplit("_", 1)[1]: path for path in paths}


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


def test_a_segment_named_like_markup_prints_as_text(rendered):
    for path in rendered.values():
        assert INJECTED in pdf_text(path)


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
    served = sorted(url.rsplit("/static/", 1)[1] for url in fetcher.served)
    assert served == [
        "fonts/DejaVuSans-Bold.ttf",
        "fonts/DejaVuSans.ttf",
        "fonts/DejaVuSansCondensed-Bold.ttf",
        "fonts/DejaVuSansCondensed.ttf",
        "report.css",
    ]
