"""What the CLI's tables share (`voronka plan`, `voronka forecast`): the report's own
number formats in English, so a table and the PDF print the same figures, and columns
padded to their widest cell under a rule."""

from __future__ import annotations

from collections.abc import Sequence


def english_numbers():
    """The report's Formatter for English. Imported when called: pipeline.reporting
    imports the modules that print these tables."""
    from pipeline.reporting.formatting import Formatter

    return Formatter("en")


def text_table(rows: Sequence[Sequence[str]], aligns: Sequence[str]) -> list[str]:
    """The rows (the first is the header) as lines of columns two spaces apart, each
    padded to its widest cell ('<' left, '>' right), with a dashed rule under the header."""
    widths = [max(len(row[i]) for row in rows) for i in range(len(aligns))]
    lines = [
        "  ".join(
            f"{cell:{align}{width}}" for cell, align, width in zip(row, aligns, widths, strict=True)
        )
        for row in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    return lines
