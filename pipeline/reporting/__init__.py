"""The monthly PDF funnel report: marts → report model → HTML → PDF, one per funnel × locale.

Public API: `render_reports` and `default_report_month`. The warehouse is read once,
read-only, and closed before any rendering; each PDF is rendered in a capped child
process and published atomically (temp file beside it, then os.replace).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import logging
import os
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from pipeline.config import SUPPORTED_LOCALES, Config, ConfigError
from pipeline.reporting.charts import funnel_chart, sparkline
from pipeline.reporting.context import ReportModel, build_report_model, parse_month
from pipeline.reporting.formatting import Formatter
from pipeline.reporting.labels import labels_for
from pipeline.reporting.render import (
    DEFAULT_MEMORY_BYTES,
    DEFAULT_TIMEOUT_S,
    RenderError,
    check_fonts,
    render_html,
    write_pdf,
)
from pipeline.reporting.sections import Trends
from pipeline.reporting.warehouse import (
    Cutoff,
    ReportDataError,
    read_last_complete_month,
    read_marts,
)

__all__ = [
    "RenderError",
    "ReportDataError",
    "default_report_month",
    "render_reports",
    "report_path",
]

LOG = logging.getLogger(__name__)


def default_report_month(config: Config, warehouse: Path | None = None) -> str:
    """'YYYY-MM' of marts.data_cutoff.last_complete_month."""
    month = read_last_complete_month(Path(warehouse or config.warehouse_path))
    return f"{month:%Y-%m}"


def report_path(config: Config, funnel_id: str, month: str, locale: str) -> Path:
    return config.reports_dir / month / f"voronka_{funnel_id}_{month}_{locale}.pdf"


def render_reports(
    config: Config,
    month: str,
    *,
    funnels: list[str] | None = None,
    locales: list[str] | None = None,
    warehouse: Path | None = None,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> list[Path]:
    """Render and publish one PDF per funnel × locale for `month` ('YYYY-MM')."""
    month_date = parse_month(month)
    month = f"{month_date:%Y-%m}"
    selected = [
        config.funnel(funnel_id) for funnel_id in (funnels or [f.id for f in config.funnels])
    ]
    locales = list(locales or config.locales)
    unknown = [locale for locale in locales if locale not in SUPPORTED_LOCALES]
    if unknown:
        raise ConfigError(
            f"unknown report locale(s) {unknown}; supported: {list(SUPPORTED_LOCALES)}"
        )
    check_fonts()

    snapshot = read_marts(
        Path(warehouse or config.warehouse_path), [f.id for f in selected], month_date
    )
    epoch = _document_epoch(snapshot.cutoff)

    jobs: list[tuple[str, Path]] = []
    for funnel in selected:
        for locale in locales:
            labels = dict(labels_for(locale))
            model = build_report_model(
                funnel,
                locale,
                month_date,
                snapshot.cutoff,
                snapshot.stage_rows.get(funnel.id, ()),
                timezone=config.timezone,
                tables=snapshot.tables,
                labels=labels,
                marts=snapshot.funnel_marts.get(funnel.id),
            )
            html = render_html(_template_context(model, labels, epoch), locale)
            jobs.append((html, report_path(config, funnel.id, month, locale)))

    def publish(job: tuple[str, Path]) -> Path:
        html, target = job
        _publish(html, target, epoch=epoch, timeout_s=timeout_s, memory_bytes=memory_bytes)
        LOG.info("report written: %s", target)
        return target

    # Each PDF renders in its own capped child process; threads only wait on them, so the
    # month's reports render in parallel, one per core.
    workers = max(1, min(len(jobs), os.cpu_count() or 1))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(publish, jobs))


def _document_epoch(cutoff: Cutoff) -> int:
    """The PDF's creation date: the data cutoff (UTC), so the same marts give the same bytes."""
    moment = cutoff.cutoff_at
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.UTC)
    return int(moment.timestamp())


def _template_context(model: ReportModel, labels: dict[str, str], epoch: int) -> dict:
    fmt = Formatter(model.locale)
    charts = {}
    if model.period is not None and model.period.has_entities:
        title = labels["period_title"].format(month=fmt.month(model.period.month))
        charts["period"] = funnel_chart(model.period, fmt, labels, title)
    if model.cohort is not None:
        title = labels["cohort_title"].format(month=fmt.month(model.cohort.month))
        charts["cohort"] = funnel_chart(model.cohort, fmt, labels, title)
    for section in model.sections:
        if isinstance(section.data, Trends):
            charts["trends"] = [sparkline(panel, fmt, panel.label) for panel in section.data.panels]
    document_date = dt.datetime.fromtimestamp(epoch, dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    return {
        "report": model,
        "t": labels,
        "charts": charts,
        "document_date": document_date,
    }


def _publish(html: str, target: Path, *, epoch: int, timeout_s: float, memory_bytes: int) -> None:
    """Render into a temp file in the target's folder, then rename over the target."""
    target.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(
        prefix=f".{target.stem}.", suffix=".part", dir=target.parent
    )
    os.close(handle)
    temp = Path(temp_name)
    try:
        write_pdf(html, temp, epoch=epoch, timeout_s=timeout_s, memory_bytes=memory_bytes)
        if temp.stat().st_size == 0:
            raise RenderError(f"rendering {target.name} produced an empty file")
        temp.chmod(0o644)
        os.replace(temp, target)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            temp.unlink()
        raise
    with contextlib.suppress(OSError):
        directory = os.open(target.parent, os.O_RDONLY)
        try:
            os.fsync(directory)
        finally:
            os.close(directory)
