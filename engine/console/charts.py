"""Bar charts as inline SVG, drawn on the server (no script, nothing fetched by the browser). Pure.

:func:`bar_chart` draws horizontal grouped bars: one group per category, one bar per series (e.g. live
vs draft rules), with the value written at the end of each bar and a legend; it scales to its container.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape

#: Series colours (colour-blind safe pair first), and the chart's geometry in SVG units.
COLOURS = ("#4477aa", "#ee6677", "#228833", "#ccbb44")
WIDTH, LABEL_W, VALUE_W, BAR_H, GAP, TOP = 640, 170, 80, 14, 10, 28


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.2f}"


def bar_chart(title: str, categories: Sequence[str], series: Mapping[str, Sequence[float]]) -> str:
    """SVG markup of a grouped horizontal bar chart (values may be negative: bars then go left)."""
    names = list(series)
    values = [float(v) for s in series.values() for v in s]
    hi = max([0.0, *values])
    lo = min([0.0, *values])
    span = (hi - lo) or 1.0
    plot_w = WIDTH - LABEL_W - VALUE_W
    zero_x = LABEL_W + plot_w * (-lo / span)
    group_h = len(names) * BAR_H + GAP
    height = TOP + max(1, len(categories)) * group_h + 8
    out = [
        f'<svg class="chart" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}" '
        f'xmlns="http://www.w3.org/2000/svg"><title>{escape(title)}</title>',
        f'<text x="0" y="14" class="chart-title">{escape(title)}</text>',
    ]
    for i, name in enumerate(names):
        x = LABEL_W + i * 120
        colour = COLOURS[i % len(COLOURS)]
        out.append(f'<rect x="{x}" y="18" width="10" height="10" fill="{colour}"/>')
        out.append(f'<text x="{x + 14}" y="27" class="chart-legend">{escape(name)}</text>')
    for c, category in enumerate(categories):
        y0 = TOP + c * group_h + 4
        out.append(
            f'<text x="{LABEL_W - 6}" y="{y0 + group_h / 2:.1f}" text-anchor="end" '
            f'class="chart-label">{escape(str(category))}</text>'
        )
        for i, name in enumerate(names):
            value = float(series[name][c])
            w = plot_w * abs(value) / span
            bar_x = zero_x if value >= 0 else zero_x - w
            y = y0 + i * BAR_H
            colour = COLOURS[i % len(COLOURS)]
            out.append(
                f'<rect x="{bar_x:.1f}" y="{y}" width="{max(w, 0.5):.1f}" height="{BAR_H - 2}" '
                f'fill="{colour}">'
                f"<title>{escape(name)}: {_fmt(value)}</title></rect>"
            )
            tx = max(bar_x + w, zero_x) + 4
            out.append(f'<text x="{tx:.1f}" y="{y + BAR_H - 4}" class="chart-value">{_fmt(value)}</text>')
    out.append(f'<line x1="{zero_x:.1f}" y1="{TOP}" x2="{zero_x:.1f}" y2="{height - 4}" class="chart-axis"/>')
    out.append("</svg>")
    return "".join(out)
