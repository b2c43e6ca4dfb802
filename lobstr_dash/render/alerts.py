"""Alert messages: a title, a plain-text body and a Markdown body, from a verdict. Pure Python.

Both bodies say the same, in the same order: which run of which squid, what it missed, the rules
that fired, the reasons that cost the most, and the links. The Markdown one stays readable where
a channel shows it raw.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from ..domain import reasons
from ..domain import rules as alert_rules
from ..domain.rulecheck import Finding
from ..domain.rulecheck import ReasonShare
from ..domain.rulecheck import RunFacts
from ..domain.rulecheck import worst

from .digest import md_code

_MD_SPECIAL = re.compile(r"([\\`*\[\]<>|])")


def md_text(text: str) -> str:
    """Free text for Markdown: flattened, and only the characters that would format escaped.

    Parentheses, dots and underscores inside words stay as they are, so the raw text (a JSON
    sink, a channel that shows Markdown as is) reads as plainly as the rendered one.
    """
    return _MD_SPECIAL.sub(r"\\\1", " ".join(text.split()))


@dataclass(frozen=True)
class Message:
    """One notification, ready for any channel."""

    title: str
    text: str
    markdown: str
    severity: str


def run_links(public_url: str | None, run_id: str) -> tuple[str, str]:
    """The run page and its digest: full addresses under PUBLIC_URL, else paths."""
    base = (public_url or "").rstrip("/")
    return f"{base}/runs/{run_id}", f"{base}/runs/{run_id}/digest"


def _squid(facts: RunFacts) -> str:
    return facts.squid_name or (f"squid {facts.squid_id}" if facts.squid_id else "an unknown squid")


def _headline(facts: RunFacts) -> str:
    percent = facts.percent
    if facts.missing > 0 and percent is not None:
        return f"{facts.missing:,} results missing ({percent:.1f} % complete)"
    if (facts.status or "").lower() == "error":
        return "ended in error"
    return "needs a look"


def _totals(facts: RunFacts) -> str:
    if facts.tasks == 0:
        return "The run has no tasks."
    percent = facts.percent
    line = (f"Collected {facts.collected:,} of {facts.expected:,} expected results "
            f"({'?' if percent is None else f'{percent:.1f} %'}): {facts.missing:,} missing; "
            f"{facts.tasks_short:,} of {facts.tasks:,} tasks short.")
    if facts.expected_unknown:
        line += f" {facts.expected_unknown:,} tasks gave no expected count."
    if facts.partial:
        line += " Partial: some pages of the run could not be read."
    return line


def _status(facts: RunFacts) -> str | None:
    if not facts.status:
        return None
    line = f"Status: {facts.status}"
    if facts.done_reason:
        line += f" ({facts.done_reason})"
    return line


def _reason_label(share: ReasonShare) -> str:
    group = reasons.GROUPS.get(share.group, share.group)
    return (f"{share.missing:,} missing ({share.share:.0%}), {share.tasks_short:,} tasks short"
            f" — {group.lower()}")


def render(facts: RunFacts, fired: Sequence[Finding], public_url: str | None) -> Message:
    """The message for some rules a run broke."""
    severity = worst([f.severity for f in fired])
    short_id = facts.run_id[:8]
    title = f"[{severity}] lobstr run {short_id} of {_squid(facts)}: {_headline(facts)}"
    run_url, digest_url = run_links(public_url, facts.run_id)
    status = _status(facts)
    top = facts.top_reasons

    text = [f"Run {facts.run_id} of {_squid(facts)}" + (f" ({facts.squid_id})" if facts.squid_name
                                                         and facts.squid_id else "")]
    if status:
        text.append(status)
    text += [_totals(facts), "", "Rules that fired:"]
    text += [f"- {f.severity}: {alert_rules.LABELS.get(f.rule, f.rule)} — {f.summary}" for f in fired]
    if top:
        text += ["", "Top reasons:"]
        text += [f"- {r.code or '(no reason)'}: {_reason_label(r)}" for r in top]
    text += ["", f"Run page: {run_url}", f"Digest: {digest_url}"]

    md = [f"**Run {md_code(facts.run_id)} of {md_text(_squid(facts))}**"]
    if facts.status:
        md.append("")
        md.append(f"Status: {md_text(facts.status)}"
                  + (f" ({md_code(facts.done_reason)})" if facts.done_reason else ""))
    md += ["", md_text(_totals(facts)), "", "**Rules that fired**", ""]
    md += [f"- **{f.severity}** · {md_text(alert_rules.LABELS.get(f.rule, f.rule))}: {md_text(f.summary)}"
           for f in fired]
    if top:
        md += ["", "**Top reasons**", ""]
        md += [f"- {md_code(r.code or '(no reason)')} {md_text(_reason_label(r))}" for r in top]
    md += ["", f"[Run page]({run_url}) · [Digest]({digest_url})" if public_url
           else f"Run page: {md_code(run_url)} · Digest: {md_code(digest_url)}"]
    return Message(title[:250], "\n".join(text) + "\n", "\n".join(md) + "\n", severity)


#: The run the test button's sample message talks about (no such run exists).
SAMPLE_RUN = "0" * 32


def sample(public_url: str | None) -> Message:
    """The test button's message: clearly a test, shaped like a real alert."""
    facts = RunFacts(run_id=SAMPLE_RUN, squid_name="Sample squid (test message)", status="done",
                     done_reason="tasks_done", tasks=120, expected=4_000, missing=480,
                     tasks_short=14, account_tasks=9,
                     reasons=(ReasonShare("cookies_expired", 360, 0.75, 9, reasons.ACCOUNT),
                              ReasonShare("website_inaccessible", 120, 0.25, 5, reasons.SITE)))
    fired = [Finding(alert_rules.COMPLETENESS, alert_rules.WARNING,
                       "collected 88.0 % of the expected results (480 of 4,000 missing), "
                       "under the 95 % threshold")]
    message = render(facts, fired, public_url)
    note = "This is a test from lobstr-dash's alerts page: this channel works."
    return Message(f"[test] {message.title}", f"{note}\n\n{message.text}",
                   f"_{md_text(note)}_\n\n{message.markdown}", alert_rules.INFO)
