"""Server-rendered SVG charts with a title, a description and a text alternative. Pure Python.

The SVG uses presentation attributes and classes only (no `style`), so it renders under the
strict Content-Security-Policy and without JavaScript. Each chart also carries its data as table
rows, which the page shows as the text alternative.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from xml.sax.saxutils import escape

from ..domain import gapclass
from ..domain.figures import BUCKET_COMPLETE
from ..domain.figures import BUCKET_OVER
from ..domain.figures import BUCKET_RUNNING
from ..domain.figures import BUCKET_UNKNOWN
from ..domain.figures import BUCKETS
from ..domain.figures import Timeline

SVG_NS = "http://www.w3.org/2000/svg"


@dataclass(frozen=True)
class Chart:
    """One chart: its SVG markup and the same data as rows of a table."""

    id: str
    title: str
    desc: str
    svg: str
    headers: tuple[str, ...]
    rows: list[tuple[str, ...]] = field(default_factory=list)
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    #: A link per row (the table's first cell links there), or None.
    links: list[str | None] = field(default_factory=list)

    @property
    def empty(self) -> bool:
        """True when there is nothing to draw."""
        return not self.rows


def _attr(value: object) -> str:
    return escape(str(value), {'"': "&quot;"})


def _num(value: float, digits: int = 2) -> str:
    """Compact coordinates: at most two decimals (or `digits`), no trailing zeros."""
    text = f"{value:.{digits}f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def _open(chart_id: str, width: int, height: int, title: str, desc: str) -> list[str]:
    return [
        f'<svg xmlns="{SVG_NS}" class="chart-svg" viewBox="0 0 {width} {height}" width="{width}"'
        f' height="{height}" role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">',
        f'<title id="{chart_id}-title">{escape(title)}</title>',
        f'<desc id="{chart_id}-desc">{escape(desc)}</desc>',
    ]


def completeness_histogram(counts: Mapping[int, int], *, chart_id: str = "chart-completeness",
                           width: int = 640, height: int = 220) -> Chart:
    """Bars of tasks per completeness bucket: a bimodal shape means a systemic failure."""
    total = sum(counts.values())
    title = "Completeness of the tasks"
    desc = (f"How many of {total:,} tasks collected each share of their expected results, "
            "from 0–10% up to exactly 100%, more than expected, and unknown.")
    left, right, top, bottom = 44, 8, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    # The "still running" bar only while some task runs: a finished run's chart has no such column.
    buckets = [b for b in BUCKETS if b[0] != BUCKET_RUNNING or counts.get(BUCKET_RUNNING)]
    slot = plot_w / len(buckets)
    peak = max(counts.values(), default=0)
    parts = _open(chart_id, width, height, title, desc)
    parts.append(f'<line class="axis" x1="{left}" y1="{top + plot_h}" x2="{width - right}"'
                 f' y2="{top + plot_h}" stroke="currentColor"/>')
    parts.append(f'<text class="tick" x="{left - 4}" y="{top + 8}" text-anchor="end"'
                 f' font-size="10" fill="currentColor">{peak:,}</text>')
    parts.append(f'<text class="tick" x="{left - 4}" y="{top + plot_h}" text-anchor="end"'
                 f' font-size="10" fill="currentColor">0</text>')
    rows = []
    for index, (key, short, long) in enumerate(buckets):
        count = counts.get(key, 0)
        bar_h = plot_h * count / peak if peak else 0.0
        x = left + index * slot + slot * 0.12
        kind = {BUCKET_OVER: "over", BUCKET_UNKNOWN: "unknown", BUCKET_COMPLETE: "complete",
                BUCKET_RUNNING: "running"}.get(key, f"b{min(key, 9)}")
        parts.append(
            f'<rect class="bar bar-{kind}" data-bucket="{key}" data-count="{count}" x="{_num(x)}"'
            f' y="{_num(top + plot_h - bar_h)}" width="{_num(slot * 0.76)}" height="{_num(bar_h)}"'
            f' fill="currentColor"><title>{escape(long)}: {count:,} tasks</title></rect>')
        parts.append(f'<text class="tick" x="{_num(x + slot * 0.38)}" y="{top + plot_h + 14}"'
                     f' text-anchor="middle" font-size="10" fill="currentColor">{escape(short)}</text>')
        rows.append((long, f"{count:,}"))
    parts.append(f'<text class="axis-label" x="{_num(left + plot_w / 2)}" y="{height - 4}"'
                 ' text-anchor="middle" font-size="11" fill="currentColor">% of expected results'
                 ' collected</text>')
    parts.append("</svg>")
    return Chart(chart_id, title, desc, "".join(parts), ("completeness", "tasks"),
                 rows if total else [])


def missing_by_reason(items: Sequence[tuple[str | None, int, int]], *,
                      hrefs: Mapping[str | None, str] | None = None, top: int = 10,
                      chart_id: str = "chart-missing", width: int = 640) -> Chart:
    """Horizontal bars of missing results per done_reason, most first; the rest summed as one bar."""
    shown = [item for item in items if item[1] > 0]
    rest = shown[top:]
    shown = shown[:top]
    bars: list[tuple[str, str | None, int, int]] = [(code or "(none)", code, m, s) for code, m, s in shown]
    if rest:
        bars.append((f"{len(rest)} other reasons", "\0rest", sum(m for _c, m, _s in rest),
                     sum(s for _c, _m, s in rest)))
    total = sum(m for _label, _code, m, _s in bars)
    title = "Missing results by done reason"
    desc = (f"{total:,} missing results split by the done_reason of the short tasks; "
            "the longest bar costs the most.")
    row_h, label_w, value_w, top_pad = 22, 190, 70, 6
    height = top_pad * 2 + row_h * max(1, len(bars))
    plot_w = width - label_w - value_w
    peak = max((m for _l, _c, m, _s in bars), default=0)
    parts = _open(chart_id, width, height, title, desc)
    for index, (label, _code, missing, short) in enumerate(bars):
        y = top_pad + index * row_h
        bar_w = plot_w * missing / peak if peak else 0.0
        text = (f'<text class="tick" x="{label_w - 6}" y="{y + 15}" text-anchor="end" font-size="11"'
                f' fill="currentColor">{escape(label[:32])}</text>'
                f'<rect class="bar bar-reason" data-reason="{_attr(label)}" data-count="{missing}"'
                f' x="{label_w}" y="{y + 3}" width="{_num(bar_w)}" height="{row_h - 6}"'
                f' fill="currentColor"><title>{escape(label)}: {missing:,} missing results on'
                f' {short:,} short tasks</title></rect>'
                f'<text class="value" x="{_num(label_w + bar_w + 4)}" y="{y + 15}" font-size="11"'
                f' fill="currentColor">{missing:,}</text>')
        parts.append(text)
    parts.append("</svg>")
    rows = [(label, f"{missing:,}", f"{short:,}", f"{missing / total:.0%}" if total else "—")
            for label, _code, missing, short in bars]
    # The links live in the data table: links inside an SVG with role="img" would be hidden from
    # assistive technology (interactive content nested in an image).
    links = [(hrefs or {}).get(code) if code != "\0rest" else None for _l, code, _m, _s in bars]
    return Chart(chart_id, title, desc, "".join(parts),
                 ("done reason", "missing results", "short tasks", "share"), rows, links=links)


def _clock(epoch: float, span: float) -> str:
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%m-%d %H:%M" if span > 86400 else "%H:%M:%S")


def timeline(data: Timeline | None, *, chart_id: str = "chart-timeline", width: int = 640,
             labels: Mapping[str, str] | None = None) -> Chart:
    """Concurrency over time (every task) above a Gantt of sampled tasks; idle stretches shaded."""
    title = "Timeline of task starts and ends"
    if data is None:
        return Chart(chart_id, title, "No task has a start time.", "", ("time", "tasks running"))
    labels = labels or gapclass.CLASSES
    span = data.end - data.start
    desc = (f"Tasks running over time from {_clock(data.start, span)} to {_clock(data.end, span)} UTC"
            f" (peak {data.peak:,} at once), and below it one bar per task from its start to its end"
            f" ({len(data.bars):,} of {data.tasks_timed:,} tasks shown).")
    left, right, top = 44, 8, 8
    area_h, gap, gantt_h, axis_h = 70, 10, 200, 22
    height = top + area_h + gap + gantt_h + axis_h
    plot_w = width - left - right
    parts = _open(chart_id, width, height, title, desc)

    def x_of(epoch: float) -> float:
        return left + plot_w * (epoch - data.start) / span if span > 0 else float(left)

    buckets = len(data.active)
    step_w = plot_w / buckets
    # One group sets the colour, so each of the few hundred shapes below carries only its own
    # geometry: the chart stays under 25 KB on any run.
    parts.append('<g fill="currentColor">')
    for begin, end in data.idle_stretches():
        parts.append(f'<rect class="idle" x="{_num(x_of(begin))}" y="{top}"'
                     f' width="{_num(max(1.0, x_of(end) - x_of(begin)))}"'
                     f' height="{area_h + gap + gantt_h}">'
                     f'<title>No task running from {_clock(begin, span)}'
                     f' to {_clock(end, span)}</title></rect>')
    peak = data.peak or 1
    for index, count in enumerate(data.active):
        bar_h = area_h * count / peak
        parts.append(
            f'<rect class="active" data-count="{count}" x="{_num(left + index * step_w)}"'
            f' y="{_num(top + area_h - bar_h)}" width="{_num(step_w)}"'
            f' height="{_num(bar_h)}"><title>{count:,} running ~'
            f'{_clock(data.start + (index + 0.5) * data.bucket_seconds, span)}</title></rect>')
    parts.append(f'<text class="tick" x="{left - 4}" y="{top + 9}" text-anchor="end" font-size="10"'
                 f'>{data.peak:,}</text>')
    parts.append(f'<text class="tick" x="{left - 4}" y="{top + area_h}" text-anchor="end"'
                 ' font-size="10">0</text>')
    gantt_top = top + area_h + gap
    row_h = gantt_h / max(1, len(data.bars))
    for index, bar in enumerate(data.bars):
        end = bar.ended_at if bar.ended_at is not None else data.end
        x0, x1 = x_of(bar.started_at), x_of(end)
        klass = bar.gap_class or "none"
        state = " task-open" if bar.ended_at is None else ""
        until = "running" if bar.ended_at is None else _clock(end, span)
        name = gapclass.CAUSES.get(klass) or labels.get(klass, klass)
        parts.append(
            f'<rect class="task task-{_attr(klass)}{state}" data-position="{bar.position}"'
            f' x="{_num(x0)}" y="{_num(gantt_top + index * row_h)}"'
            f' width="{_num(max(0.8, x1 - x0), 1)}" height="{_num(max(0.6, row_h * 0.8), 1)}">'
            f'<title>#{bar.position} {escape(_tail(bar.label))} · {escape(name)}'
            f' · {_clock(bar.started_at, span)}→{until}</title></rect>')
    parts.append("</g>")
    axis_y = gantt_top + gantt_h
    parts.append(f'<line class="axis" x1="{left}" y1="{axis_y}" x2="{width - right}" y2="{axis_y}"'
                 ' stroke="currentColor"/>')
    for tick in range(5):
        moment = data.start + span * tick / 4
        anchor = "start" if tick == 0 else "end" if tick == 4 else "middle"
        parts.append(f'<text class="tick" x="{_num(x_of(moment))}" y="{axis_y + 15}"'
                     f' text-anchor="{anchor}" font-size="10" fill="currentColor">'
                     f'{_clock(moment, span)}</text>')
    parts.append("</svg>")
    rows = [(f"{_clock(data.start + i * data.bucket_seconds, span)}–"
             f"{_clock(data.start + (i + 1) * data.bucket_seconds, span)}",
             f"{data.active[i]:,}", f"{data.starts[i]:,}", f"{data.ends[i]:,}")
            for i in range(buckets)]
    caption = (f"Bars: {len(data.bars):,} of {data.tasks_timed:,} tasks"
               + (", sampled evenly in start order" if data.sampled else ", all of them")
               + f". Running counts use every task, in {buckets} steps of "
               f"{_duration(data.bucket_seconds)}.")
    notes = []
    idle = data.idle_stretches()
    if idle:
        notes.append("Stalls (no task running): " + ", ".join(
            f"{_clock(a, span)}–{_clock(b, span)}" for a, b in idle[:8])
            + (f" and {len(idle) - 8} more" if len(idle) > 8 else "") + " UTC.")
    if data.tasks_open:
        notes.append(f"{data.tasks_open:,} tasks have no end yet (drawn to the right edge).")
    if data.tasks_untimed:
        notes.append(f"{data.tasks_untimed:,} tasks never started and are not drawn.")
    return Chart(chart_id, title, desc, "".join(parts),
                 ("time (UTC)", "tasks running", "started", "ended"), rows, caption, notes)


def _tail(label: str, size: int = 28) -> str:
    """The end of a task's input (what tells it apart), at most `size` characters."""
    label = " ".join(label.split())
    return label if len(label) <= size else "…" + label[-(size - 1):]


def _duration(seconds: float) -> str:
    if seconds < 120:
        return f"{seconds:.0f} s" if seconds >= 10 else f"{seconds:.1f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
