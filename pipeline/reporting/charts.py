"""The report's charts as small hand-built SVG (vector, crisp, readable in greyscale).

The funnel chart: one horizontal bar per stage (length ∝ entities), the previous stage's
bar drawn as a pale "ghost" behind it so the drop-off is the visible gap, and the step
conversion with its drop-off beside every step. The weakest step is emphasised by
weight, a marker and the accent colour, so it survives a greyscale printer. Trend
sparklines: one small multiple per series. All text is XML-escaped here: this SVG is
the one thing templates insert with `|safe`.
"""

from __future__ import annotations

import itertools
from xml.sax.saxutils import escape, quoteattr

from pipeline.reporting.formatting import Formatter
from pipeline.reporting.sections.trends import TrendPanel
from pipeline.reporting.stages import FunnelSnapshot
from pipeline.reporting.words import Words

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


def funnel_chart(snapshot: FunnelSnapshot, fmt: Formatter, words: Words, title: str) -> str:
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
            _text(
                0,
                top + LABEL_DY,
                f"{stage.order}. {words.stage(stage.key)}",
                size=11,
                weight="bold",
            )
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
        if stage.shown_dropoff is None:
            continue  # more entered the next stage this month: no drop-off to print
        dropoff = f"{words.labels['chart_dropoff']} {fmt.percent(stage.shown_dropoff)}"
        if stage.is_weakest:
            dropoff = f"▼ {dropoff} · {words.labels['chart_weakest']}"
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


# ── trend sparklines (one small multiple per series) ─────────────────────────

SPARK_W = 200
SPARK_H = 62
SPARK_LEFT = 34  # room for the axis labels
SPARK_RIGHT = 6
SPARK_TOP = 7
SPARK_BOTTOM = 14  # room for the month labels


def sparkline(panel: TrendPanel, fmt: Formatter, title: str) -> str:
    """A 12-month line: mature months as filled dots on a solid line, immature ones as
    hollow dots on a dashed line (distinct in greyscale); the latest mature point is
    ringed. The y axis runs from the series' lowest to highest value (both labelled)."""
    points = panel.points
    values = [p.value for p in points if p.value is not None]
    parts = [
        '<svg xmlns="http://www.w3.org/2000/svg" class="sparkline" '
        f'viewBox="0 0 {SPARK_W} {SPARK_H}" width="{SPARK_W}" height="{SPARK_H}" '
        f'role="img" aria-label={quoteattr(title)}>',
        f"<title>{escape(title)}</title>",
    ]
    plot_w = SPARK_W - SPARK_LEFT - SPARK_RIGHT
    plot_h = SPARK_H - SPARK_TOP - SPARK_BOTTOM
    base_y = SPARK_TOP + plot_h

    def label(value: float | None) -> str:
        return fmt.number(value) if panel.kind == "count" else fmt.percent(value)

    # Axis: a baseline and the two extreme values.
    parts.append(
        f'<line x1="{SPARK_LEFT}" y1="{base_y + 2}" x2="{SPARK_W - SPARK_RIGHT}" '
        f'y2="{base_y + 2}" stroke="{GHOST}" stroke-width="1"/>'
    )
    step = plot_w / max(len(points) - 1, 1)
    for position in (0, len(points) - 1):
        month = points[position].month
        anchor = "start" if position == 0 else "end"
        x = SPARK_LEFT + position * step
        text = f"{fmt.month_short(month)} {fmt.year(month)}"
        parts.append(_text(x, SPARK_H - 2, text, size=7.5, fill=MUTED, anchor=anchor))
    if not values:
        parts.append("</svg>")
        return "".join(parts)
    low, high = min(values), max(values)
    span = high - low

    def y_of(value: float) -> float:
        if span <= 0:
            return SPARK_TOP + plot_h / 2
        return SPARK_TOP + plot_h * (high - value) / span

    parts.append(
        _text(SPARK_LEFT - 4, SPARK_TOP + 3, label(high), size=7.5, fill=MUTED, anchor="end")
    )
    if span > 0:
        parts.append(
            _text(SPARK_LEFT - 4, base_y + 2, label(low), size=7.5, fill=MUTED, anchor="end")
        )

    coords = [
        (SPARK_LEFT + position * step, y_of(p.value), p)
        for position, p in enumerate(points)
        if p.value is not None
    ]
    for (x1, y1, a), (x2, y2, b) in itertools.pairwise(coords):
        mature = a.is_mature and b.is_mature
        dash = "" if mature else ' stroke-dasharray="2.5 2"'
        colour = BAR if mature else MUTED
        parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{colour}" stroke-width="1.6"{dash}/>'
        )
    for x, y, p in coords:
        if p.is_mature:
            parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="1.9" fill="{BAR}"/>')
        else:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2" fill="#ffffff" '
                f'stroke="{MUTED}" stroke-width="1"/>'
            )
        if panel.latest is not None and p.month == panel.latest.month:
            parts.append(
                f'<circle cx="{x:.1f}" cy="{y:.1f}" r="4" fill="none" '
                f'stroke="{ACCENT}" stroke-width="1.4"/>'
            )
    parts.append("</svg>")
    return "".join(parts)
