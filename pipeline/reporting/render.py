"""HTML (Jinja2, autoescaped) → PDF (WeasyPrint) in a capped child process.

WeasyPrint keeps memory it does not return and can take long on big tables, so each PDF
is rendered in a child process with an address-space limit and a time limit, forked from
a render server that has WeasyPrint loaded (no interpreter start or import per PDF). Its
URL fetcher serves only files under reports/templates (and data: URLs); anything else —
file:///etc/passwd, ../../x, http(s) — is refused and logged.
"""

from __future__ import annotations

import contextlib
import logging
import mimetypes
import multiprocessing
import os
import resource
import shutil
import tempfile
import threading
import traceback
from multiprocessing import forkserver
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.paths import TEMPLATES_DIR
from pipeline.processes import without_main_module
from pipeline.reporting.formatting import Formatter

LOG = logging.getLogger(__name__)

FONTS_DIR = TEMPLATES_DIR / "static" / "fonts"
FONT_FILES = (
    "DejaVuSans.ttf",
    "DejaVuSans-Bold.ttf",
    "DejaVuSansCondensed.ttf",
    "DejaVuSansCondensed-Bold.ttf",
)
# Russian and English letters, digits and the signs the report prints.
REQUIRED_CHARS = (
    "АБВГДЕЁЖЗИЙКЛМНОПРСТУФХЦЧШЩЪЫЬЭЮЯабвгдеёжзийклмнопрстуфхцчшщъыьэюя"
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
    "%+−–—→↓▲▼°·.,:;()[]"
)

DEFAULT_TIMEOUT_S = 120
DEFAULT_MEMORY_BYTES = 2 * 1024**3


class RenderError(Exception):
    """Rendering a PDF failed (template, fonts, child process crash, limits)."""


# ── fonts ────────────────────────────────────────────────────────────────────


def check_fonts(fonts_dir: Path = FONTS_DIR) -> None:
    """Fail clearly when a bundled font is missing or cannot print Russian text."""
    from fontTools.ttLib import TTFont

    missing = [name for name in FONT_FILES if not (fonts_dir / name).is_file()]
    if missing:
        raise RenderError(
            f"report fonts missing in {fonts_dir}: {', '.join(missing)} "
            "(copy them from the DejaVu package, see LICENSE-DejaVu.txt there)"
        )
    for name in FONT_FILES:
        try:
            with TTFont(fonts_dir / name, lazy=True) as font:
                cmap = font.getBestCmap() or {}
        except Exception as error:  # a truncated or non-font file
            raise RenderError(f"{fonts_dir / name}: not a readable font ({error})") from error
        absent = sorted({char for char in REQUIRED_CHARS if ord(char) not in cmap})
        if absent:
            raise RenderError(f"{fonts_dir / name}: lacks glyphs for {''.join(absent)!r}")


# ── HTML ─────────────────────────────────────────────────────────────────────


def make_environment(locale: str, templates_dir: Path = TEMPLATES_DIR) -> Environment:
    env = Environment(
        loader=FileSystemLoader(str(templates_dir)),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(Formatter(locale).filters())
    return env


def render_html(context: dict, locale: str, template: str = "report.html.j2") -> str:
    return make_environment(locale).get_template(template).render(**context)


# ── fetching ─────────────────────────────────────────────────────────────────


def _url_fetcher_class():
    from weasyprint.urls import URLFetcher, URLFetcherResponse

    class TemplatesOnlyFetcher(URLFetcher):
        """Serves files under one folder and data: URLs; refuses everything else."""

        def __init__(self, root: Path) -> None:
            super().__init__(allowed_protocols=("file", "data"), allow_redirects=False)
            self.root = root.resolve()
            self.served: list[str] = []
            self.refused: list[str] = []

        def fetch(self, url, headers=None):
            parts = urlsplit(url)
            scheme = parts.scheme.lower()
            if scheme == "data":
                return super().fetch(url, headers)
            if scheme == "file" and parts.netloc in ("", "localhost"):
                path = Path(unquote(parts.path)).resolve()
                if path.is_relative_to(self.root) and path.is_file():
                    self.served.append(url)
                    content_type = mimetypes.guess_type(path.name)[0] or "application/octet-stream"
                    return URLFetcherResponse(
                        path.as_uri(),
                        body=path.read_bytes(),
                        headers={"Content-Type": content_type},
                    )
            self.refused.append(url)
            LOG.warning("report renderer refused to fetch %s", url)
            raise PermissionError(
                f"refused: {url} (the report may only load files under {self.root})"
            )

    return TemplatesOnlyFetcher


def templates_only_fetcher(root: Path = TEMPLATES_DIR):
    """A WeasyPrint URL fetcher limited to `root` (built lazily: WeasyPrint imports slowly)."""
    return _url_fetcher_class()(root)


# A last page filled less than this (a share of the page's body) is nearly empty: the
# report is laid out again, fitted (report.css: `html.fit`, the appendix's tables and the
# glossary set tighter; then `html.fit.tight`, every table's rows), and the first fitted
# layout that needs a page fewer is printed. Not for a report of more pages than
# FIT_PAGES_AT_MOST (a 500-manager heat map): there one page is a small share, and each
# layout costs the most.
SPARSE_LAST_PAGE = 0.4
FIT_PAGES_AT_MOST = 12
FITTED_CLASSES = ("fit", "fit tight")


def html_to_pdf(html: str, fetcher=None, *, fit: bool = True) -> bytes:
    """Render in this process. The child calls it; tests call it for the fetcher rules
    (and with fit=False for the layout before fitting)."""
    from weasyprint import HTML

    fetcher = fetcher or templates_only_fetcher()
    base_url = TEMPLATES_DIR.resolve().as_uri() + "/"

    def layout(text: str):
        return HTML(string=text, base_url=base_url, url_fetcher=fetcher).render()

    document = layout(html)
    pages = len(document.pages)
    if fit and 1 < pages <= FIT_PAGES_AT_MOST and last_page_fill(document) < SPARSE_LAST_PAGE:
        for classes in FITTED_CLASSES:
            fitted = layout(html.replace("<html ", f'<html class="{classes}" ', 1))
            if len(fitted.pages) < pages:
                document = fitted
                break
    return document.write_pdf(pdf_identifier=False, uncompressed_pdf=False)


def last_page_fill(document) -> float:
    """How far down the last page's body its text reaches, as a share of the body's
    height (0: nothing printed below the running header, 1: down to the footer)."""
    page = document.pages[-1]._page_box
    top, height = page.content_box_y(), page.height
    bottom = top
    for box in page.children[0].descendants():  # the page's flow; margin boxes after it
        if getattr(box, "text", None) and box.height is not None:
            bottom = max(bottom, box.position_y + box.height)
    return (bottom - top) / height


# ── the child process ────────────────────────────────────────────────────────


def write_pdf(
    html: str,
    target: Path,
    *,
    epoch: int,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    memory_bytes: int = DEFAULT_MEMORY_BYTES,
) -> None:
    """Render `html` to `target` in a child with capped memory and time.

    `target` should be a temp file beside the final path; the caller renames it.
    `epoch` (seconds) pins every date the toolchain might stamp into the file.
    The child is forked from a render server that has WeasyPrint (and the bundled-fonts
    Fontconfig) loaded already, so a PDF does not pay for a Python start and the import.
    """
    context = _render_server()
    receiver, sender = context.Pipe(duplex=False)
    # The child's scratch folder, removed here: WeasyPrint stores the @font-face fonts in
    # a temp folder it removes only when its font configuration is collected, which a
    # child that ends with os._exit (as multiprocessing's children do) or is killed never
    # reaches (~2.8 MB left in the temp folder per PDF).
    scratch = tempfile.mkdtemp(prefix="voronka-render-")
    child = context.Process(
        target=_render_in_child,
        args=(html, str(target), epoch, memory_bytes, int(timeout_s) + 1, scratch, sender),
        daemon=True,
    )
    with without_main_module():  # the child needs only this module, preloaded
        child.start()
    sender.close()
    try:
        if not receiver.poll(timeout_s):
            child.kill()
            raise RenderError(f"rendering {target.name} took longer than {timeout_s:g} s; stopped")
        try:
            status, detail = receiver.recv()
        except EOFError:
            status, detail = "crashed", ""
    finally:
        receiver.close()
        child.join(timeout=5)
        shutil.rmtree(scratch, ignore_errors=True)
    if status == "ok":
        for url in detail:
            LOG.warning("%s: refused: %s", target.name, url)
        return
    if status == "crashed":
        detail = f"exit code {child.exitcode}"
    lines = detail.strip().splitlines()
    reason = "ran out of memory" if "MemoryError" in detail else (lines[-1] if lines else "?")
    raise RenderError(f"rendering {target.name} failed ({reason}):\n{detail[-2000:]}")


# The render server: a forkserver whose process imported WeasyPrint with the environment
# a deterministic PDF needs (Fontconfig reads FONTCONFIG_FILE when WeasyPrint is imported;
# the hash seed is fixed when Python starts). Started once per process, on first use.
_SERVER_LOCK = threading.Lock()
_SERVER: multiprocessing.context.BaseContext | None = None


def _server_environment() -> dict[str, str]:
    return {
        "PYTHONHASHSEED": "0",
        # Only the bundled fonts: no fallback to whatever the machine has installed.
        "FONTCONFIG_FILE": str(FONTS_DIR / "fonts.conf"),
    }


def start_render_server() -> None:
    """Start the render server if it is not running (it loads WeasyPrint meanwhile)."""
    _render_server()


def _render_server() -> multiprocessing.context.BaseContext:
    global _SERVER
    with _SERVER_LOCK:
        if _SERVER is None:
            context = multiprocessing.get_context("forkserver")
            context.set_forkserver_preload(["weasyprint", "pipeline.reporting.render"])
            saved = {name: os.environ.get(name) for name in _server_environment()}
            os.environ.update(_server_environment())
            try:
                forkserver.ensure_running()
            finally:
                for name, value in saved.items():
                    if value is None:
                        os.environ.pop(name, None)
                    else:
                        os.environ[name] = value
            _SERVER = context
        return _SERVER


def _render_in_child(
    html: str, target: str, epoch: int, memory_bytes: int, cpu_seconds: int, scratch: str, sender
) -> None:
    """In the forked child: cap memory and CPU, render, write, report back."""
    tempfile.tempdir = scratch  # WeasyPrint's temp folders go where the parent removes them
    try:
        resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
        resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
        os.environ["SOURCE_DATE_EPOCH"] = str(epoch)
        check_fonts()
        fetcher = templates_only_fetcher()
        pdf = html_to_pdf(html, fetcher)
        with open(target, "wb") as out:
            out.write(pdf)
            out.flush()
            os.fsync(out.fileno())
        sender.send(("ok", list(fetcher.refused)))
    except BaseException:
        # Out of memory even for that: the parent sees the exit code.
        with contextlib.suppress(BaseException):
            sender.send(("error", traceback.format_exc()))
        os._exit(1)
