"""Grouped bar charts as inline SVG that screen readers can read.

Why inline SVG and these attributes: WAI-ARIA Graphics / the W3C "accessible
SVG" pattern — the ``<svg>`` has ``role="img"`` and is labelled by its own
``<title>`` and ``<desc>`` (``aria-labelledby``), so a screen reader announces
what the chart shows; every bar carries a ``<title>`` (a tooltip for sighted
mouse users) and an ``aria-label`` with series, month, value and unit.  The
page puts a data table with the same numbers next to the chart (WCAG 2.2
SC 1.1.1, a text alternative for non-text content), so no figure exists only
as a picture.  Colours are set with presentation attributes, not ``style``,
so the page's Content-Security-Policy needs no ``'unsafe-inline'``; each
colour has at least 3:1 contrast to white (WCAG SC 1.4.11) and the legend
names every series.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from markupsafe import Markup

WIDTH = 640
HEIGHT = 260
MARGIN_LEFT = 64
MARGIN_RIGHT = 12
MARGIN_TOP = 28  # room for the unit above the axis labels
MARGIN_BOTTOM = 64  # month labels and the legend
SERIES_COLOURS = ("#1f5fa8", "#6b6b6b", "#a65300")  # 6.3:1, 5.3:1, 5.0:1 on white


@dataclass(frozen=True, slots=True)
class Series:
    name: str
    values: tuple[Decimal | None, ...]


def nice_ceiling(value: Decimal) -> Decimal:
    """The smallest 1, 2 or 5 × 10^k at or above ``value`` (a readable axis end)."""
    if value <= 0:
        return Decimal(1)
    exponent = value.adjusted()
    for step in (Decimal(1), Decimal(2), Decimal(5), Decimal(10)):
        candidate = step.scaleb(exponent)
        if candidate >= value:
            return candidate
    return Decimal(10).scaleb(exponent)  # pragma: no cover - the loop always returns


def _text_width(text: str) -> float:
    """Rough width at 12 px: CJK ideographs are square, Latin letters about 0.6 em."""
    return sum(12.0 if ord(ch) >= 0x2E80 else 7.0 for ch in text)


def _attr(text: str) -> str:
    return html.escape(text, quote=True)


def bar_chart_svg(*, chart_id: str, title: str, description: str, categories: Sequence[str],
                  series: Sequence[Series], unit: str, fmt: Callable[[Decimal], str],
                  bar_label: Callable[[str, str, str], str], no_value: str) -> Markup:
    """One group of bars per category, one bar per series; ``fmt`` formats a value in the
    page's locale and ``bar_label(series, category, value)`` words a bar's label."""
    if any(len(s.values) != len(categories) for s in series):
        raise ValueError("every series needs one value per category")
    present = [v for s in series for v in s.values if v is not None]
    top = nice_ceiling(max(present, default=Decimal(0)))
    plot_w = WIDTH - MARGIN_LEFT - MARGIN_RIGHT
    plot_h = HEIGHT - MARGIN_TOP - MARGIN_BOTTOM
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    base_y = MARGIN_TOP + plot_h
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" id="{_attr(chart_id)}" '
        f'aria-labelledby="{_attr(chart_id)}-title {_attr(chart_id)}-desc">',
        f'<title id="{_attr(chart_id)}-title">{html.escape(title)}</title>',
        f'<desc id="{_attr(chart_id)}-desc">{html.escape(description)}</desc>',
        '<g class="axis" aria-hidden="true">',
    ]
    for fraction in (Decimal(0), Decimal("0.5"), Decimal(1)):
        y = base_y - float(fraction) * plot_h
        out.append(f'<line x1="{MARGIN_LEFT}" x2="{WIDTH - MARGIN_RIGHT}" y1="{y:.1f}" '
                   f'y2="{y:.1f}" stroke="#767676" stroke-width="1"/>')
        out.append(f'<text x="{MARGIN_LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" '
                   f'font-size="12" fill="#1a1a1a">{html.escape(fmt(top * fraction))}</text>')
    out.append(f'<text x="4" y="{MARGIN_TOP - 14}" font-size="12" fill="#1a1a1a">'
               f'{html.escape(unit)}</text></g>')
    for ci, category in enumerate(categories):
        gx = MARGIN_LEFT + ci * group_w + group_w * 0.1
        out.append('<g class="bars">')
        for si, s in enumerate(series):
            value = s.values[ci]
            shown = f"{fmt(value)} {unit}" if value is not None else no_value
            label = bar_label(s.name, category, shown)
            height = float(value / top) * plot_h if value is not None else 0.0
            x = gx + si * bar_w
            out.append(
                f'<rect x="{x:.1f}" y="{base_y - height:.1f}" width="{bar_w * 0.92:.1f}" '
                f'height="{height:.1f}" fill="{SERIES_COLOURS[si % len(SERIES_COLOURS)]}" '
                f'aria-label="{_attr(label)}"><title>{html.escape(label)}</title></rect>')
        out.append(f'<text x="{gx + group_w * 0.4:.1f}" y="{base_y + 16}" text-anchor="middle" '
                   f'font-size="12" fill="#1a1a1a" aria-hidden="true">'
                   f'{html.escape(category)}</text></g>')
    legend_y = HEIGHT - 18
    x = float(MARGIN_LEFT)
    out.append('<g class="legend" aria-hidden="true">')
    for si, s in enumerate(series):
        out.append(f'<rect x="{x:.1f}" y="{legend_y - 10}" width="12" height="12" '
                   f'fill="{SERIES_COLOURS[si % len(SERIES_COLOURS)]}"/>')
        out.append(f'<text x="{x + 16:.1f}" y="{legend_y}" font-size="12" fill="#1a1a1a">'
                   f'{html.escape(s.name)}</text>')
        x += 32 + _text_width(s.name)
    out.append("</g></svg>")
    return Markup("".join(out))
