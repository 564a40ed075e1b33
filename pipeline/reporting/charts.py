"""The funnel chart as a small hand-built SVG (vector, crisp, readable in greyscale).

One horizontal bar per stage (length ∝ entities), the previous stage's bar drawn as a
pale "ghost" behind it so the drop-off is the visible gap, and the step conversion with
its drop-off beside every step. The weakest step is emphasised by weight, a marker and
the accent colour, so it survives a greyscale printer. All text is XML-escaped here:
this SVG is the one thing templates insert with `|safe`.
"""

from __future__ import annotations

from xml.sax.saxutils import escape, quoteattr

from pipeline.reporting.context import FunnelSnapshot
from pipeline.reporting.formatting import Formatter

WIDTH = 680
BAR_MAX = 455
NOTE_X = 478
ROW = 42
LABEL_DY = 12
BAR_DY = 17
BAR_H = 18
PAD_TOP = 2
PAD_BOTTOM = 4

INK = "#1f2328"
MUTED = "#5f6770"
BAR = "#3d4b5c"
GHOST = "#dfe3e8"
ACCENT = "#b4461b"
ACCENT_GHOST = "#f1d3c4"
FONT = "DejaVu Sans Condensed"
CHAR_EM = 0.52  # mean advance of DejaVu Sans Condensed digits, in em


def _text(
    x: float,
    y: float,
    content: str,
    *,
    size: float,
    fill: str = INK,
    weight: str = "normal",
    anchor: str = "start",
) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-family={quoteattr(FONT)} font-size="{size:g}" '
        f'font-weight="{weight}" fill="{fill}" text-anchor="{anchor}">{escape(content)}</text>'
    )


def _rect(
    x: float, y: float, width: float, height: float, fill: str, stroke: str | None = None
) -> str:
    outline = f' stroke="{stroke}" stroke-width="1"' if stroke else ""
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:g}" '
        f'fill="{fill}"{outline}/>'
    )


def funnel_chart(
    snapshot: FunnelSnapshot, fmt: Formatter, labels: dict[str, str], title: str
) -> str:
    """SVG markup for one view of the funnel; `title` is the accessible name."""
    stages = snapshot.stages
    height = PAD_TOP + ROW * len(stages) + PAD_BOTTOM
    scale_max = max((stage.entities for stage in stages), default=0)

    def bar_width(entities: int) -> float:
        return BAR_MAX * entities / scale_max if scale_max > 0 else 0.0

    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="funnel-chart" '
        f'viewBox="0 0 {WIDTH} {height}" width="{WIDTH}" height="{height}" '
        f'role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    for position, stage in enumerate(stages):
        top = PAD_TOP + position * ROW
        bar_y = top + BAR_DY
        previous = stages[position - 1] if position else None
        step_is_weak = previous is not None and previous.is_weakest
        parts.append(
            _text(0, top + LABEL_DY, f"{stage.order}. {stage.name}", size=11, weight="bold")
        )
        if previous is not None and previous.entities > stage.entities:
            ghost = bar_width(previous.entities)
            parts.append(_rect(0, bar_y, ghost, BAR_H, ACCENT_GHOST if step_is_weak else GHOST))
        width = bar_width(stage.entities)
        if width > 0:
            parts.append(_rect(0, bar_y, max(width, 1.5), BAR_H, BAR))
        value = fmt.number(stage.entities)
        text_width = len(value) * 11 * CHAR_EM
        if width >= text_width + 12:
            parts.append(
                _text(
                    width - 6,
                    bar_y + 13,
                    value,
                    size=11,
                    fill="#ffffff",
                    weight="bold",
                    anchor="end",
                )
            )
        else:
            parts.append(_text(width + 5, bar_y + 13, value, size=11, weight="bold"))

        if stage.order == stages[-1].order:
            continue
        # The step from this stage to the next: conversion and drop-off, between the bars.
        note_y = top + ROW - 8
        colour = ACCENT if stage.is_weakest else INK
        parts.append(
            f'<line x1="{NOTE_X - 8}" y1="{top + BAR_DY + 2}" x2="{NOTE_X - 8}" '
            f'y2="{top + ROW + BAR_DY - 2}" stroke="{colour if stage.is_weakest else GHOST}" '
            f'stroke-width="{3 if stage.is_weakest else 2}"/>'
        )
        conversion = f"↓ {fmt.percent(stage.conversion_to_next)}"
        parts.append(_text(NOTE_X, note_y, conversion, size=12, fill=colour, weight="bold"))
        dropoff = f"{labels['chart_dropoff']} {fmt.percent(stage.dropoff_to_next)}"
        if stage.is_weakest:
            dropoff = f"▼ {dropoff} · {labels['chart_weakest']}"
        parts.append(
            _text(
                NOTE_X,
                note_y + 13,
                dropoff,
                size=9.5,
                fill=ACCENT if stage.is_weakest else MUTED,
                weight="bold" if stage.is_weakest else "normal",
            )
        )
    parts.append("</svg>")
    return "".join(parts)
