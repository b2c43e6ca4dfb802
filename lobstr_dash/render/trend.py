"""A squid's health over its last runs as an SVG trend: completeness, missing results, alerts.

Runs go oldest to newest, left to right. The upper band draws each run's completeness (0–100 %)
with the median as a dashed line; the lower band draws its missing results as bars. A run an alert
fired for gets a ring and a "!" (the ring's colour says nothing the text does not). Pure Python:
presentation attributes and classes only, every text escaped, and the data again as table rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from xml.sax.saxutils import escape

from .charts import Chart
from .charts import _num
from .charts import _open


@dataclass(frozen=True)
class TrendPoint:
    """One run of the trend."""

    run_id: str
    label: str
    percent: float | None
    missing: int | None
    alert: str | None = None
    href: str | None = None


def squid_trend(points: Sequence[TrendPoint], median: float | None, *,
                chart_id: str = "chart-squid-trend", width: int = 720,
                height: int = 260) -> Chart:
    """The trend chart of a squid's runs (oldest first in `points`)."""
    known = [p for p in points if p.percent is not None]
    title = "Completeness of the squid's last runs"
    desc = (f"{len(known)} of {len(points)} runs have figures"
            + (f"; median {median:.1f} %" if median is not None else "")
            + f"; {sum(1 for p in points if p.alert)} raised an alert.")
    left, right, top = 46, 12, 12
    band = (height - top - 58) * 0.62
    gap_band = (height - top - 58) - band - 14
    base = top + band
    bars_top = base + 14
    slot = (width - left - right) / max(1, len(points))
    peak = max((p.missing or 0 for p in points), default=0)
    parts = _open(chart_id, width, height, title, desc)
    for pct in (0, 50, 100):
        y = base - band * pct / 100
        parts.append(f'<line class="grid" x1="{left}" y1="{_num(y)}" x2="{width - right}"'
                     f' y2="{_num(y)}" stroke="currentColor" stroke-opacity="0.25"/>')
        parts.append(f'<text class="tick" x="{left - 4}" y="{_num(y + 3)}" text-anchor="end"'
                     f' font-size="10" fill="currentColor">{pct}%</text>')
    if median is not None:
        y = base - band * median / 100
        parts.append(f'<line class="median" x1="{left}" y1="{_num(y)}" x2="{width - right}"'
                     f' y2="{_num(y)}" stroke="currentColor" stroke-dasharray="5 4">'
                     f'<title>median {median:.1f} %</title></line>')
    parts.append(f'<text class="tick" x="{left - 4}" y="{_num(bars_top + 8)}" text-anchor="end"'
                 f' font-size="10" fill="currentColor">{peak:,}</text>')
    line: list[str] = []
    rows: list[tuple[str, ...]] = []
    line_at = len(parts)  # the line goes under the points drawn below
    for index, point in enumerate(points):
        x = left + slot * (index + 0.5)
        if point.missing:
            bar_h = gap_band * point.missing / peak if peak else 0.0
            parts.append(f'<rect class="bar bar-missing" x="{_num(x - slot * 0.3)}"'
                         f' y="{_num(bars_top + gap_band - bar_h)}" width="{_num(slot * 0.6)}"'
                         f' height="{_num(bar_h)}" fill="currentColor">'
                         f'<title>{escape(point.label)}: {point.missing:,} missing</title></rect>')
        if point.percent is not None:
            y = base - band * max(0.0, min(100.0, point.percent)) / 100
            line.append(f"{_num(x)},{_num(y)}")
            kind = "alert" if point.alert else "ok"
            said = f" — alert ({escape(point.alert)})" if point.alert else ""
            parts.append(f'<circle class="point point-{kind}" cx="{_num(x)}" cy="{_num(y)}" r="4"'
                         f' fill="currentColor"><title>{escape(point.label)}: '
                         f'{point.percent:.1f} %{said}</title></circle>')
        if point.alert:
            y = base - band * (point.percent if point.percent is not None else 100) / 100
            parts.append(f'<circle class="alert-ring" cx="{_num(x)}" cy="{_num(y)}" r="8"'
                         ' fill="none" stroke="currentColor" stroke-width="2"/>')
            parts.append(f'<text class="alert-mark" x="{_num(x)}" y="{_num(top + 2)}"'
                         ' text-anchor="middle" font-size="11" font-weight="700"'
                         ' fill="currentColor">!</text>')
        if len(points) <= 24 or index % max(1, len(points) // 12) == 0:
            parts.append(f'<text class="tick" x="{_num(x)}" y="{height - 24}" text-anchor="middle"'
                         f' font-size="10" fill="currentColor">{escape(point.label[5:10])}</text>')
        rows.append((point.label, point.run_id[:8],
                     "not read" if point.percent is None else f"{point.percent:.1f} %",
                     "—" if point.missing is None else f"{point.missing:,}",
                     point.alert or ""))
    if len(line) > 1:
        parts.insert(line_at, f'<polyline class="trend-line" points="{" ".join(line)}"'
                              ' fill="none" stroke="currentColor" stroke-width="2"/>')
    parts.append(f'<text class="axis-label" x="{_num(left + (width - left - right) / 2)}"'
                 f' y="{height - 6}" text-anchor="middle" font-size="11" fill="currentColor">'
                 'runs, oldest to newest (start date); bars: missing results</text>')
    parts.append("</svg>")
    return Chart(chart_id, title, desc, "".join(parts),
                 ("started", "run", "complete", "missing", "alert"), rows if points else [],
                 links=[p.href for p in points])
