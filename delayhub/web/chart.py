"""A daily bar chart as inline SVG, drawn on the server: no script, readable on a phone.

Colours and fonts come from classes in ``static/app.css`` (the page's CSP allows no inline
styles); each bar carries its own ``<title>`` (a tooltip, and read out by screen readers).
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable, Sequence

from markupsafe import Markup, escape

WIDTH, HEIGHT = 720, 260
LEFT, RIGHT, TOP, BOTTOM = 48, 12, 12, 40


def _nice_max(value: int) -> int:
    """A round top for the y axis: 1, 2, 5 × 10ⁿ at or above ``value``."""
    if value <= 4:
        return 4
    power = 10 ** int(math.log10(value))
    for step in (1, 2, 5, 10):
        if step * power >= value:
            return step * power
    return 10 * power


def bar_chart(series: Sequence[tuple[dt.date, int]], *, title: str, desc: str,
              label: Callable[[dt.date, bool], str], bar_title: Callable[[dt.date, int], str], chart_id: str) -> Markup:
    """Bars for ``series`` (one a day), a labelled y axis and about six dates along the x axis.

    ``label(day, with_year)`` writes an x-axis date: the year only on the first one and where it
    changes, so the labels stay short enough not to run into each other on a phone.
    """
    plot_w, plot_h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM
    top = _nice_max(max((n for _, n in series), default=0))
    slot = plot_w / max(len(series), 1)
    gap = min(slot * 0.2, 2)
    parts = [f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
             f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
             f'preserveAspectRatio="xMidYMid meet" '
             f'xmlns="http://www.w3.org/2000/svg">',
             f'<title id="{chart_id}-title">{escape(title)}</title>',
             f'<desc id="{chart_id}-desc">{escape(desc)}</desc>']
    for i in range(5):  # gridlines and y labels at 0, ¼, ½, ¾ and the top
        value = top * i // 4
        y = TOP + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(f'<text class="axis" x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end">{value:,}</text>')
    for i, (day, n) in enumerate(series):
        h = plot_h * n / top if top else 0
        x = LEFT + i * slot + gap / 2
        parts.append(f'<rect class="bar" x="{x:.2f}" y="{TOP + plot_h - h:.2f}" width="{max(slot - gap, 0.5):.2f}" '
                     f'height="{h:.2f}"><title>{escape(bar_title(day, n))}</title></rect>')
    ticks = sorted({round(j * (len(series) - 1) / 5) for j in range(6)}) if len(series) > 1 else [0]
    year = None
    for i in ticks:
        if i >= len(series):
            continue
        day = series[i][0]
        x = LEFT + (i + 0.5) * slot
        anchor = "start" if i == 0 and len(series) > 1 else "end" if i == len(series) - 1 and i else "middle"
        parts.append(f'<line class="tick" x1="{x:.1f}" x2="{x:.1f}" y1="{TOP + plot_h}" y2="{TOP + plot_h + 4}"/>')
        parts.append(f'<text class="axis" x="{x:.1f}" y="{TOP + plot_h + 18}" text-anchor="{anchor}">'
                     f'{escape(label(day, day.year != year))}</text>')
        year = day.year
    parts.append(f'<line class="baseline" x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{TOP + plot_h}" '
                 f'y2="{TOP + plot_h}"/>')
    parts.append("</svg>")
    return Markup("".join(parts))
