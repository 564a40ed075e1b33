"""The monthly PDF funnel report: marts → report model → HTML → PDF, one per funnel × locale.

Public API: `report_models`, `render_reports` and `default_report_month`. The warehouse
is read once, read-only, and closed before any rendering; one model per funnel, the same
in every locale (pipeline/reporting/build.py, sections from registry.py), is drawn by
every locale's template and read by the ledger and the mail digests (pipeline.delivery).
Each PDF is rendered in a capped child
process and published atomically (temp file beside it, then os.replace). Each PDF is
rendered on its own: one that fails leaves the others rendered, and `ReportsFailed`
names it. Temp files a killed render left behind are removed at the next render. A report
whose printed figures changed since its recorded render (pipeline.delivery's ledger) says
on page 1 that it is amended, and what changed.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.config import SUPPORTED_LOCALES, Config, ConfigError, Funnel
from pipeline.delivery import pending_amendment, printed_of
from pipeline.io import replaced_whole
from pipeline.months import parse_month
from pipeline.notices import hash_key_warning
from pipeline.reporting.build import build_report_model, with_amendment
from pipeline.reporting.charts import funnel_chart, sparkline
from pipeline.reporting.formatting import Formatter
from pipeline.reporting.labels import labels_for
from pipeline.reporting.model import ReportModel
from pipeline.reporting.render import (
    DEFAULT_MEMORY_BYTES,
    DEFAULT_TIMEOUT_S,
    RenderError,
    check_fonts,
    render_html,
    start_render_server,
    write_pdf,
)
from pipeline.reporting.sections.trends import Trends
from pipeline.reporting.warehouse import (
    ReportDataError,
    read_last_complete_month,
    read_marts,
)
from pipeline.reporting.words import Words

__all__ = [
    "RenderError",
    "ReportDataError",
    "ReportsFailed",
    "default_report_month",
    "render_reports",
    "report_models",
    "report_path",
    "template_context",
]

LOG = logging.getLogger(__name__)
TEMP_PATTERN = "*/.voronka_*.part"  # _publish's temp files, in the month folders


class ReportsFailed(RenderError):
    """Some of the month's PDFs failed; every other one was rendered and published."""

    def __init__(self, failed: dict[Path, str], written: list[Path]) -> None:
        self.failed = failed
        self.written = written
        total = len(failed) + len(written)
        lines = [f"{len(failed)} of {total} PDF(s) failed; the other {len(written)} were written."]
        for path, reason in failed.items():
            lines.append(f"- {path.name}: " + reason.strip().replace("\n", "\n    "))
        super().__init__("\n".join(lines))


NO_DATA = "the marts hold no data yet (no export has landed in the inbox): nothing to report"


def default_report_month(config: Config, warehouse: Path | None = None) -> str:
    """'YYYY-MM' of marts.data_cutoff.last_complete_month; ReportDataError when the marts
    hold no data at all (no export has landed: no cutoff)."""
    month = read_last_complete_month(Path(warehouse or config.warehouse_path))
    if month is None:
        raise ReportDataError(NO_DATA)
    return f"{month:%Y-%m}"


def report_path(config: Config, funnel_id: str, month: str, locale: str) -> Path:
    return config.reports_dir / month / f"voronka_{funnel_id}_{month}_{locale}.pdf"


def selected_funnels(config: Config, funnel_ids: list[str] | None) -> list[Funnel]:
    """The funnels of `funnel_ids` (ConfigError for an unknown one); every funnel if None."""
    return [config.funnel(funnel_id) for funnel_id in funnel_ids] if funnel_ids else config.funnels


def report_models(
    config: Config,
    month: str,
    funnels: list[str] | None = None,
    warehouse: Path | None = None,
) -> dict[str, ReportModel]:
    """funnel_id → the report model of `month` ('YYYY-MM'), the same in every locale, from
    the marts read once: the one way the renderer, the report ledger and the mail digests
    get it."""
    month_date = parse_month(month)
    selected = selected_funnels(config, funnels)
    snapshot = read_marts(
        Path(warehouse or config.warehouse_path), [f.id for f in selected], month_date
    )
    if snapshot.cutoff.last_complete_month is None:
        raise ReportDataError(NO_DATA)
    demo_key = hash_key_warning(config) is not None  # the CLI's warning, in the appendix too
    return {
        funnel.id: build_report_model(
            funnel,
            month_date,
            snapshot.cutoff,
            snapshot.stage_rows.get(funnel.id, ()),
            timezone=config.timezone,
            tables=snapshot.tables,
            marts=snapshot.funnel_marts.get(funnel.id),
            currency=config.currency,
            demo_phone_key=demo_key,
        )
        for funnel in selected
    }


def render_reports(
    config: Config,
    month: str,
    *,
    funnels: list[str] | None = None,
    locales: list[str] | None = None,
    warehouse: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
    models: dict[str, ReportModel] | None = None,
) -> list[Path]:
    """Render and publish one PDF per funnel × locale for `month` ('YYYY-MM'); from
    `models` (report_models) when the caller has them, else from the marts."""
    month = f"{parse_month(month):%Y-%m}"
    selected = selected_funnels(config, funnels)
    locales = list(locales or config.locales)
    unknown = [locale for locale in locales if locale not in SUPPORTED_LOCALES]
    if unknown:
        raise ConfigError(
            f"unknown report locale(s) {unknown}; supported: {list(SUPPORTED_LOCALES)}"
        )
    check_fonts()
    # The render server imports WeasyPrint in its own process: started now, that import
    # runs while the marts are read and the HTML is drawn, not after.
    start_render_server()

    if models is None:
        models = report_models(config, month, [f.id for f in selected], warehouse)
    remove_stale_temp_files(config.reports_dir, older_than_s=timeout_s + 60)

    # One model per funnel, in no language: every locale's PDF draws it, and it tells
    # whether the ledger has its figures printed differently before (then it is amended).
    drawn = {}
    for funnel in selected:
        model = models[funnel.id]
        amendment = pending_amendment(config, month, funnel.id, printed_of(model))
        drawn[funnel.id] = with_amendment(model, amendment, funnel)

    def render_one(job: tuple[Funnel, str]) -> Path:
        funnel, locale = job
        model = drawn[funnel.id]
        epoch = document_epoch(model.cutoff_at)
        html = render_html(template_context(model, funnel, locale, epoch), locale)
        target = report_path(config, funnel.id, month, locale)
        _publish(html, target, epoch=epoch, timeout_s=timeout_s, memory_bytes=memory_bytes)
        LOG.info("report written: %s", target)
        return target

    # Each PDF renders in its own capped child process; threads only wait on them, so the
    # month's reports render in parallel, one per core. Every job runs to its end whatever
    # the others do: one bad PDF must not cost the month's other reports.
    jobs = [(funnel, locale) for funnel in selected for locale in locales]
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        futures = [pool.submit(render_one, job) for job in jobs]
    written, failed = [], {}
    for (funnel, locale), future in zip(jobs, futures, strict=True):
        error = future.exception()
        if error is None:
            written.append(future.result())
            continue
        target = report_path(config, funnel.id, month, locale)
        LOG.error("report failed: %s: %s", target, error, exc_info=error)
        failed[target] = f"{type(error).__name__}: {error}"
    if failed:
        raise ReportsFailed(failed, written)
    return written


def remove_stale_temp_files(reports_dir: Path, *, older_than_s: float) -> list[Path]:
    """Remove the hidden temp files of renders that were killed (kill -9, power loss).
    Only files older than a render may take: a render running beside this one (another
    Dagster run) created its temp file within its time cap and still needs it."""
    limit = time.time() - older_than_s
    removed = []
    for path in sorted(reports_dir.glob(TEMP_PATTERN)):
        with contextlib.suppress(FileNotFoundError):
            if path.stat().st_mtime < limit:
                path.unlink()
                removed.append(path)
                LOG.warning("removed a temp file a killed render left: %s", path)
    return removed


def document_epoch(moment: dt.datetime) -> int:
    """The PDF's creation date: the data cutoff (UTC), so the same marts give the same bytes."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def template_context(model: ReportModel, funnel: Funnel, locale: str, epoch: int = 0) -> dict:
    """What report.html.j2 draws: the model, the locale's labels (`t`) and names (`w`),
    the charts, and the document date (`epoch`, seconds: the PDF's creation date)."""
    labels = dict(labels_for(locale))
    words = Words(funnel, locale, labels)
    fmt = Formatter(locale)
    charts = {}
    if model.period is not None and model.period.has_entities:
        title = labels["period_title"].format(month=fmt.month(model.period.month))
        charts["period"] = funnel_chart(model.period, fmt, words, title)
    if model.cohort is not None:
        title = labels["cohort_title"].format(month=fmt.month(model.cohort.month))
        charts["cohort"] = funnel_chart(model.cohort, fmt, words, title)
    for section in model.sections:
        if isinstance(section.data, Trends):
            panels = section.data.panels
            charts["trends"] = [sparkline(panel, fmt, words.panel(panel)) for panel in panels]
    document_date = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "report": model,
        "t": labels,
        "w": words,
        "charts": charts,
        "document_date": document_date,
    }


def _publish(html: str, target: Path, *, epoch: int, timeout_s: float, memory_bytes: int) -> None:
    """Render into a temp file in the target's folder, then rename over the target."""
    with replaced_whole(target, suffix=".part") as temp:
        write_pdf(html, temp, epoch=epoch, timeout_s=timeout_s, memory_bytes=memory_bytes)
        if temp.stat().st_size == 0:
            raise RenderError(f"rendering {target.name} produced an empty file")
    with contextlib.suppress(OSError):
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
