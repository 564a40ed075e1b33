"""Checks on a rendered report that read like the issue: no word broken across lines in a
table cell, no English words in a Russian PDF, and the plan's printed numbers.

A PDF's text (pypdf) has one line per printed line; a word broken across two lines shows
as a line ending in the word's head and the next one starting with its tail. The words
the report meant to print come from the HTML it rendered (`rendered_html`), so a break
is a pair of adjacent line ends that join into one of those words while a part alone is
not one (or, with hyphenation, a head ending in an added hyphen). A break after a
hyphen the word itself has ("Top-|management") is a break between two words.
"""

from __future__ import annotations

import contextlib
import html as html_lib
import itertools
import re
from collections.abc import Iterable, Iterator
from decimal import Decimal
from pathlib import Path
from unittest import mock

import duckdb
from pypdf import PdfReader

PUNCTUATION = "«»“”\"'(),.;:!?"
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_\-./]*[A-Za-z0-9]|[A-Za-z]")
# Not names from the data or the config, and still no English: the product, acronyms a
# Russian reader uses as they are, a telephony system's name, the marts the appendix names.
ALLOWED_LATIN = frozenset(
    {"Voronka", "CRM", "SHA-256", "Asterisk", "Excel", "data_files", "data_quality"}
)


@contextlib.contextmanager
def rendered_html() -> Iterator[dict[str, str]]:
    """PDF file name → the HTML it was rendered from, for renders inside the block."""
    from pipeline import reporting

    captured: dict[str, str] = {}
    publish = reporting._publish

    def capture(html: str, target: Path, **kwargs) -> None:
        captured[target.name] = html
        publish(html, target, **kwargs)

    with mock.patch.object(reporting, "_publish", capture):
        yield captured


def _tokens(text: str) -> list[str]:
    return [
        token.strip(PUNCTUATION)
        for token in re.split(r"[\s\u00a0\u202f]+", text)
        if token.strip(PUNCTUATION)
    ]


def html_words(html: str) -> set[str]:
    """The words of the text the HTML prints (charts' SVG left out: not a table)."""
    text = re.sub(r"<svg.*?</svg>", " ", html, flags=re.S)
    text = re.sub(r"<(style|title|head)\b.*?</\1>", " ", text, flags=re.S)
    text = html_lib.unescape(re.sub(r"<[^>]+>", " ", text))
    return set(_tokens(text))


def pdf_lines(path: Path) -> list[list[str]]:
    """Per page, the PDF's printed lines (pypdf), blank ones dropped."""
    return [
        [line for line in (page.extract_text() or "").split("\n") if line.strip()]
        for page in PdfReader(path).pages
    ]


def words_broken_across_lines(path: Path, html: str) -> list[tuple[int, str, str]]:
    """(page, head, tail) of every word the PDF breaks across two lines."""
    words = html_words(html)
    broken = []
    for page, lines in enumerate(pdf_lines(path), start=1):
        for above, below in itertools.pairwise(lines):
            ends, starts = _tokens(above), _tokens(below)
            if not ends or not starts:
                continue
            head, tail = ends[-1], starts[0]
            if head + tail in words and head.endswith("-"):
                continue  # the word's own hyphen: two words
            hyphenated = head.endswith("-") and head[:-1] + tail in words
            split = head + tail in words and (head not in words or tail not in words)
            if hyphenated or split:
                broken.append((page, head, tail))
    return broken


def pdf_text(path: Path) -> str:
    text = "\n".join(page.extract_text() or "" for page in PdfReader(path).pages)
    return re.sub(r"[\u00a0\u202f ]+", " ", text)


def names_in(warehouse: Path, config_text: str) -> set[str]:
    """Latin words that are names: every text value of the marts (managers, sources,
    lead sources, reasons as exported, file names and ids), the raw values quoted by
    reject reasons (not the reasons' own wording), and the config's text."""
    texts = [config_text]
    with duckdb.connect(str(warehouse), read_only=True) as con:
        columns = con.execute(
            "select table_name, column_name from information_schema.columns "
            "where table_schema = 'marts' and data_type = 'VARCHAR'"
        ).fetchall()
        for table, column in columns:
            query = f'select distinct "{column}" from marts.{table}'
            if (table, column) == ("data_quality", "detail"):
                query += " where metric <> 'rows_rejected'"
            texts += [value for (value,) in con.execute(query).fetchall()]
        details = con.execute(
            "select detail from marts.data_quality where metric = 'rows_rejected'"
        ).fetchall()
        texts += [quoted for (detail,) in details for quoted in re.findall(r"'([^']*)'", detail)]
    words = {word for text in texts if text for word in LATIN_WORD.findall(text)}
    return words | {part for word in words for part in re.split(r"[/._\-]+", word) if part}


def english_words(path: Path, names: Iterable[str]) -> set[str]:
    """Latin words of the PDF that are neither names nor on the small allow-list."""
    allowed = set(names) | ALLOWED_LATIN
    blob = " ".join(allowed)
    found = set(LATIN_WORD.findall(pdf_text(path)))
    return {
        word
        for word in found
        if word not in allowed and not (re.fullmatch(r"[0-9a-f]+", word) and word in blob)
    }


def numbers(text: str) -> list[Decimal]:
    """The numbers of a line as printed in either locale ('1 234,5', '1,234.5', '56.0%');
    the text as extracted, so that ru thousands (no-break spaces) differ from the spaces
    between cells."""
    text = re.sub(r"(?<=\d)[\u00a0\u202f](?=\d{3}\b)", "", text)  # ru thousands
    found = re.findall(r"\d[\d,]*(?:[.,]\d+)?", text)
    out = []
    for number in found:
        if re.fullmatch(r"\d{1,3}(,\d{3})+(\.\d+)?", number):  # en thousands
            number = number.replace(",", "")
        out.append(Decimal(number.replace(",", ".")))
    return out


MM = 72 / 25.4  # PDF points per millimetre
PAGE_MARGIN_TOP_MM, PAGE_MARGIN_BOTTOM_MM = 20, 18  # report.css, @page


def page_fills(path: Path) -> list[float]:
    """Per page, how far down the body (inside the @page margins, below the running
    header and above the page number) its printed text reaches, as a share of the
    body's height: from the PDF's text positions (pypdf), not the layout that made it."""
    fills = []
    for page in PdfReader(path).pages:
        height = float(page.mediabox.height)
        top, bottom = height - PAGE_MARGIN_TOP_MM * MM, PAGE_MARGIN_BOTTOM_MM * MM
        baselines: list[float] = []

        def visit(text, cm, tm, font, size, baselines=baselines, top=top, bottom=bottom):
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            if text.strip() and bottom < y < top:
                baselines.append(y)

        page.extract_text(visitor_text=visit)
        fills.append((top - min(baselines)) / (top - bottom) if baselines else 0.0)
    return fills
