"""Issue 14 item 2: one 10,000-character name must not stop every funnel's PDF.

Before: a manager name of 10,000 characters took WeasyPrint minutes of CPU, hit the
render's time cap, and the pool's first failure cancelled the other PDFs. Now every data
string is capped (with an ellipsis) where mart rows become the report model, long words
may break in tables, each PDF renders on its own (a failure leaves the others written
and is named in the error), and temp files a killed render left behind are cleaned up.

The marts are the hand-written fixture of tests/unit/test_report_pdf.py with its
manager, lost reason, unmapped stage and a file path replaced by 10,000 characters.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
import time
from pathlib import Path

import duckdb
import pytest
from pypdf import PdfReader

from pipeline.config import load_config
from pipeline.reporting import ReportsFailed, render_reports
from pipeline.reporting.build import build_report_model
from pipeline.reporting.model import TEXT_MAX
from pipeline.reporting.render import RenderError
from pipeline.reporting.warehouse import read_marts
from tests.unit.test_report_pdf import CONFIG_YAML, MONTH, build_warehouse

LONG = "Ж" * 10_000
SECOND_FUNNEL = """\
  - id: other
    name: {ru: "Другая", en: "Other"}
    crm: [{source: crm}]
    stages:
      - {key: meeting, name: {ru: "Встреча", en: "Meeting"}, crm_stages: [{name: "Встреча"}]}
      - {key: won, name: {ru: "Оплата", en: "Paid"}, crm_status: won}
"""


def long_values(path: Path) -> None:
    """Put LONG where a CRM or telephony export's text reaches the marts."""
    with duckdb.connect(str(path)) as con:
        for table, column in (
            ("funnel_stage_monthly", "segment"),
            ("manager_scorecard", "manager"),
            ("funnel_bottleneck", "best_manager"),
            ("call_leaks", "manager"),
        ):
            con.execute(
                f"update marts.{table} set {column} = ? where {column} = 'Смирнова Анна'", [LONG]
            )
        con.execute("update marts.lost_reasons set reason = ? where reason = 'Дорого'", [LONG])
        con.execute(
            "update marts.unmapped_stages set stage = ?, crm_pipeline = ?", [LONG, "Розница"]
        )
        con.execute(
            "create table marts.data_files (data_month date, source varchar, path varchar, "
            "file_id varchar, status varchar, rows_total bigint, rows_accepted bigint, "
            "rows_rejected bigint)"
        )
        con.execute(
            "insert into marts.data_files values (?, 'crm', ?, ?, 'loaded', 10, 10, 0)",
            [dt.date(2026, 10, 1), f"crm/{LONG}.csv", "ab" * 32],
        )


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("long_values")
    (root / "voronka.yaml").write_text(CONFIG_YAML + SECOND_FUNNEL, encoding="utf-8")
    build_warehouse(root / "warehouse.duckdb")
    long_values(root / "warehouse.duckdb")
    return load_config(root / "voronka.yaml")


def strings(value) -> list[str]:
    """Every string in a report model, however deep."""
    if isinstance(value, str):
        return [value]
    if dataclasses.is_dataclass(value):
        return [s for f in dataclasses.fields(value) for s in strings(getattr(value, f.name))]
    if isinstance(value, (tuple, list)):
        return [s for item in value for s in strings(item)]
    if isinstance(value, dict):
        return [s for pair in value.items() for item in pair for s in strings(item)]
    return []


def test_every_string_of_the_report_model_is_capped_with_an_ellipsis(project) -> None:
    month = dt.date(2026, 10, 1)
    snapshot = read_marts(project.warehouse_path, ["doors"], month)
    model = build_report_model(
        project.funnel("doors"),
        month,
        snapshot.cutoff,
        snapshot.stage_rows["doors"],
        timezone=project.timezone,
        tables=snapshot.tables,
        marts=snapshot.funnel_marts["doors"],
    )
    found = strings(model)
    assert max(len(s) for s in found) <= TEXT_MAX
    capped = LONG[: TEXT_MAX - 1] + "…"
    assert found.count(capped) >= 4  # manager rows, lost reason, unmapped stage, …
    assert any(s.startswith("crm/ЖЖЖ") and s.endswith("…") for s in found)  # file path


def test_a_10000_character_name_renders_every_pdf_in_seconds(project) -> None:
    started = time.monotonic()
    paths = render_reports(project, MONTH, timeout_s=60)
    assert len(paths) == 4 and all(path.stat().st_size > 0 for path in paths)
    assert time.monotonic() - started < 60
    text = "".join(page.extract_text() or "" for page in PdfReader(paths[0]).pages)
    assert "ЖЖЖЖЖ…" in text.replace("\n", "")
    assert "Ж" * (TEXT_MAX + 1) not in text.replace("\n", "")


def test_one_failing_pdf_leaves_the_others_rendered_and_names_itself(project, monkeypatch):
    from pipeline import reporting

    for path in project.reports_dir.glob(f"{MONTH}/*.pdf"):
        path.unlink()
    real = reporting.write_pdf

    def fails_for_doors_ru(html, target, **kwargs):
        if Path(target).name.startswith(".voronka_doors_2026-10_ru."):
            raise RenderError("simulated: rendering took longer than 120 s; stopped")
        real(html, target, **kwargs)

    monkeypatch.setattr(reporting, "write_pdf", fails_for_doors_ru)
    with pytest.raises(ReportsFailed) as failure:
        render_reports(project, MONTH)
    written = sorted(p.name for p in project.reports_dir.glob(f"{MONTH}/*.pdf"))
    assert written == [
        "voronka_doors_2026-10_en.pdf",
        "voronka_other_2026-10_en.pdf",
        "voronka_other_2026-10_ru.pdf",
    ]
    message = str(failure.value)
    assert "1 of 4 PDF(s) failed" in message
    assert "voronka_doors_2026-10_ru.pdf" in message and "simulated" in message
    assert [p.name for p in failure.value.failed] == ["voronka_doors_2026-10_ru.pdf"]
    assert sorted(p.name for p in failure.value.written) == written
    assert isinstance(failure.value, RenderError)  # callers that catch RenderError still do


def test_a_killed_renders_temp_files_are_cleaned_up_at_the_next_render(project) -> None:
    folder = project.reports_dir / MONTH
    folder.mkdir(parents=True, exist_ok=True)
    stale = folder / ".voronka_doors_2026-10_ru.k1ll3d.part"
    fresh = folder / ".voronka_doors_2026-10_en.inuse.part"  # another render's, right now
    for path in (stale, fresh):
        path.write_bytes(b"%PDF-1.7 half")
    day_ago = time.time() - 86_400
    os.utime(stale, (day_ago, day_ago))
    render_reports(project, MONTH, funnels=["other"], locales=["en"])
    assert not stale.exists()
    assert fresh.exists()
    fresh.unlink()
