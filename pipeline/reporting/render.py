"""HTML (Jinja2, autoescaped) → PDF (WeasyPrint) in a capped child process.

WeasyPrint keeps memory it does not return and can take long on big tables, so the PDF
is rendered by `python -m pipeline.reporting.render` with an address-space limit and a
time limit. Its URL fetcher serves only files under reports/templates (and data: URLs);
anything else — file:///etc/passwd, ../../x, http(s) — is refused and logged.
"""

from __future__ import annotations

import logging
import mimetypes
import os
import resource
import subprocess
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined

from pipeline.paths import REPO_ROOT, TEMPLATES_DIR
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


def html_to_pdf(html: str, fetcher=None) -> bytes:
    """Render in this process. The child calls it; tests call it for the fetcher rules."""
    from weasyprint import HTML

    fetcher = fetcher or templates_only_fetcher()
    base_url = TEMPLATES_DIR.resolve().as_uri() + "/"
    document = HTML(string=html, base_url=base_url, url_fetcher=fetcher)
    return document.write_pdf(pdf_identifier=False, uncompressed_pdf=False)


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
    """
    env = {
        **os.environ,
        "PYTHONHASHSEED": "0",
        "SOURCE_DATE_EPOCH": str(epoch),
        # Only the bundled fonts: no fallback to whatever the machine has installed.
        "FONTCONFIG_FILE": str(FONTS_DIR / "fonts.conf"),
        "PYTHONPATH": os.pathsep.join(filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")])),
    }
    command = [
        sys.executable,
        "-m",
        "pipeline.reporting.render",
        str(target),
        str(memory_bytes),
        str(int(timeout_s) + 1),
    ]
    try:
        result = subprocess.run(
            command,
            input=html.encode("utf-8"),
            capture_output=True,
            timeout=timeout_s,
            env=env,
            cwd=str(REPO_ROOT),
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise RenderError(
            f"rendering {target.name} took longer than {timeout_s:g} s; stopped"
        ) from None
    stderr = result.stderr.decode("utf-8", "replace").strip()
    for line in stderr.splitlines():
        if line.startswith("refused:"):
            LOG.warning("%s: %s", target.name, line)
    if result.returncode != 0:
        tail = "\n".join(stderr.splitlines()[-15:])
        reason = (
            "ran out of memory" if "MemoryError" in stderr else f"exit code {result.returncode}"
        )
        raise RenderError(f"rendering {target.name} failed ({reason}):\n{tail}")


def _child_main(argv: list[str]) -> int:
    target, memory_bytes, cpu_seconds = Path(argv[0]), int(argv[1]), int(argv[2])
    resource.setrlimit(resource.RLIMIT_AS, (memory_bytes, memory_bytes))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu_seconds, cpu_seconds))
    logging.basicConfig(level=logging.ERROR, format="%(name)s: %(message)s")
    check_fonts()
    html = sys.stdin.buffer.read().decode("utf-8")
    fetcher = templates_only_fetcher()
    pdf = html_to_pdf(html, fetcher)
    for url in fetcher.refused:
        print(f"refused: {url}", file=sys.stderr)
    with open(target, "wb") as out:
        out.write(pdf)
        out.flush()
        os.fsync(out.fileno())
    return 0


if __name__ == "__main__":
    sys.exit(_child_main(sys.argv[1:]))
