"""Charts drawn on the server as inline SVG, so they work without JavaScript, print and
export. Pure functions: data in, markup out; every label is escaped."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.utils import formats
from django.utils.html import escape, format_html
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from programs.templatetags.formats import percent

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 44
MARGIN_RIGHT = 12
MARGIN_TOP = 14
MARGIN_BOTTOM = 30


@dataclass(frozen=True)
class Series:
    """A named line: points are (day, value between 0 and 1)."""

    name: str
    points: Sequence[tuple[dt.date, float]]
    css_class: str = "actual"
    dashed: bool = False


def _month_starts(start: dt.date, end: dt.date) -> list[dt.date]:
    months = []
    day = start.replace(day=1)
    while day <= end:
        if day >= start:
            months.append(day)
        day = (day.replace(day=28) + dt.timedelta(days=4)).replace(day=1)
    return months


def trend_chart(
    *,
    title: str,
    series: Sequence[Series],
    start: dt.date,
    end: dt.date,
    target: float | None = None,
) -> SafeString:
    """A line chart of rates (0..100%) over a program window, with an optional target line.

    The x axis spans [start, end]; points outside it are dropped. An empty series draws
    nothing but its legend entry, so an empty program still shows its axes.
    """
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    span = max((end - start).days, 1)

    def x(day: dt.date) -> float:
        return MARGIN_LEFT + plot_w * (day - start).days / span

    def y(value: float) -> float:
        return MARGIN_TOP + plot_h * (1 - min(max(value, 0.0), 1.0))

    parts: list[str] = []
    for pct in (0, 25, 50, 75, 100):
        gy = y(pct / 100)
        parts.append(
            f'<line class="grid" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{gy:.1f}" y2="{gy:.1f}"/>'
            f'<text class="tick" x="{MARGIN_LEFT - 6}" y="{gy + 4:.1f}" text-anchor="end">{pct}%</text>'
        )
    for month in _month_starts(start, end):
        mx = x(month)
        month_name = formats.date_format(month, "M")  # "Jan", in the language of the page
        parts.append(
            f'<text class="tick" x="{mx:.1f}" y="{HEIGHT - 10}" text-anchor="middle">{month_name}</text>'
            f'<line class="tick-mark" x1="{mx:.1f}" x2="{mx:.1f}" y1="{MARGIN_TOP + plot_h}" '
            f'y2="{MARGIN_TOP + plot_h + 4}"/>'
        )
    if target is not None:
        ty = y(target)
        target_label = _("target %(rate)s") % {"rate": percent(target)}
        parts.append(
            f'<line class="target" x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{ty:.1f}" y2="{ty:.1f}"/>'
            f'<text class="target-label" x="{WIDTH - MARGIN_RIGHT - 4}" y="{ty - 5:.1f}" text-anchor="end">'
            f"{escape(target_label)}</text>"
        )
    for line in series:
        points = [(day, value) for day, value in line.points if start <= day <= end and value is not None]
        if not points:
            continue
        coords = " ".join(f"{x(day):.1f},{y(value):.1f}" for day, value in points)
        dash = ' stroke-dasharray="6 4"' if line.dashed else ""
        parts.append(f'<polyline class="series {escape(line.css_class)}" points="{coords}"{dash}/>')
        last_day, last_value = points[-1]
        parts.append(
            f'<circle class="series-end {escape(line.css_class)}" cx="{x(last_day):.1f}" '
            f'cy="{y(last_value):.1f}" r="3.5"/>'
        )

    legend = "".join(
        format_html('<li><span class="swatch {}"></span>{}</li>', line.css_class, line.name) for line in series
    )
    svg = (
        f'<svg class="chart" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" preserveAspectRatio="xMidYMid meet" '
        f'aria-label="{escape(title)}"><title>{escape(title)}</title>{"".join(parts)}</svg>'
    )
    return mark_safe(f'<figure class="chart-figure">{svg}<ul class="legend">{legend}</ul></figure>')  # noqa: S308
