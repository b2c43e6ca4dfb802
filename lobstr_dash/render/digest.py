"""A short Markdown summary of a run for a chat message or a ticket. Pure Python."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..domain.tasks import RunSummary
from ..domain.reasons import ReasonCard
from ..domain.runinfo import RunInfo

_BACKTICKS = re.compile(r"`+")
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>()#+!|~])")


def md_text(text: str) -> str:
    """Escape Markdown punctuation in free text (task inputs, descriptions) and flatten newlines."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(text.split()))


def md_code(text: str) -> str:
    """Inline code that survives backticks inside the text: the fence is one backtick longer
    than the longest run of them inside (CommonMark), so no run can close it early."""
    text = " ".join(text.split())
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    if not longest:
        return f"`{text}`"
    fence = "`" * (longest + 1)
    return f"{fence} {text} {fence}"


@dataclass(frozen=True)
class GapLine:
    """One of the biggest gaps: the task's position, input, counts and reason."""

    position: int
    label: str
    expected: int | None
    collected: int | None
    gap: int
    done_reason: str | None


def _n(value: int | None) -> str:
    return "?" if value is None else f"{value:,}"


def render(run_id: str, permalink: str, summary: RunSummary, *, info: RunInfo | None = None,
           cards: Sequence[ReasonCard] = (), gaps: Sequence[GapLine] = (), filters: str = "",
           top: int = 3, partial: bool = False,
           classes: Sequence[tuple[str, int]] = (), lobstr_warning: str | None = None) -> str:
    """The digest as Markdown: headline, totals, gap classes, top reasons, biggest gaps, permalink."""
    lines = []
    head = f"**lobstr run {md_code(run_id)}**"
    run = info.run if info else None
    if run and run.status:
        head += f" — {md_text(run.status)}"
        if run.done_reason:
            head += f" ({md_code(run.done_reason)})"
    lines.append(head)
    if summary.tasks == 0:
        lines.append("No tasks.")
    else:
        pct = summary.percent_complete
        totals = (f"Collected **{summary.collected_of_expected:,} of {summary.expected:,}** "
                  f"expected results ({'?' if pct is None else f'{pct:.1f}%'}) · "
                  f"**{summary.missing:,} missing** · {summary.tasks_short:,} of {summary.tasks:,} "
                  "tasks short")
        if summary.tasks_live:
            totals += f" · {summary.tasks_live:,} still running ({summary.to_go:,} results to go)"
        if summary.expected_unknown:
            totals += f" · {summary.expected_unknown:,} expected unknown"
        if partial:
            totals += " · _partial: not every page of the run is loaded_"
        lines.append(totals)
    if lobstr_warning:
        lines.append(f"lobstr's warning: _{md_text(lobstr_warning)}_ (tasks past it were not "
                     "returned)")
    if classes:
        lines.append("By gap class: " + " · ".join(f"{label} {count:,}" for label, count in classes))
    costly = [c for c in cards if c.missing > 0][:top]
    if costly:
        parts = [f"{md_code(c.code or '(none)')} {c.missing:,} ({c.share or 0:.0%}) — "
                 f"{c.reason.group_label.lower()}" + ("" if c.reason.documented or c.code is None
                                                      else ", undocumented")
                 for c in costly]
        lines.append("Top reasons: " + "; ".join(parts))
    if gaps:
        lines.append("Biggest gaps" + (f" ({md_text(filters)})" if filters else "") + ":")
        for index, gap in enumerate(gaps, start=1):
            reason = f" — {md_code(gap.done_reason)}" if gap.done_reason else ""
            label = gap.label if len(gap.label) <= 120 else gap.label[:119] + "…"
            lines.append(f"{index}. {gap.gap:,} missing ({_n(gap.collected)} of {_n(gap.expected)}) "
                         f"— #{gap.position} {md_code(label)}{reason}")
    lines.append(f"Details: {permalink}")
    return "\n".join(lines) + "\n"
