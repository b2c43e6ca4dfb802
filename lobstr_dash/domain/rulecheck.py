"""A finished run's facts for alerts (what it missed and why) and the rules it breaks. Pure Python.

`RunFacts` is everything an alert says about a run, gathered once when the run is evaluated and
kept with each alert as JSON, so a message sent hours later says what was true then.
"""

from __future__ import annotations

import json
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from . import reasons
from . import rules as alert_rules

#: The reasons a message lists, most missing results first.
TOP_REASONS = 3


@dataclass(frozen=True)
class ReasonShare:
    """One done_reason of the run: the results its short tasks miss and their share of the gap."""

    code: str | None
    missing: int
    share: float
    tasks_short: int
    group: str


@dataclass(frozen=True)
class RunFacts:
    """What lobstr and the stored tasks say about one finished run."""

    run_id: str
    squid_id: str | None = None
    squid_name: str | None = None
    status: str | None = None
    done_reason: str | None = None
    done_reason_desc: str | None = None
    tasks: int = 0
    expected: int = 0
    missing: int = 0
    tasks_short: int = 0
    expected_unknown: int = 0
    #: Tasks short because of the platform account, lobstr credits or billing.
    account_tasks: int = 0
    reasons: tuple[ReasonShare, ...] = ()
    #: Completeness (percent) of the squid's previous runs, newest first.
    history: tuple[float, ...] = ()
    #: True when some pages of the run could not be read: the figures cover part of it.
    partial: bool = False
    started_at: float | None = None
    ended_at: float | None = None

    @property
    def collected(self) -> int:
        """Expected results that were collected."""
        return self.expected - self.missing

    @property
    def percent(self) -> float | None:
        """Share of the expected results collected, 0..100 (None when nothing was expected)."""
        return None if self.expected <= 0 else 100.0 * self.collected / self.expected

    @property
    def top_reasons(self) -> tuple[ReasonShare, ...]:
        """The reasons that cost the most results."""
        return tuple(r for r in self.reasons if r.missing > 0)[:TOP_REASONS]

    def to_json(self) -> str:
        """The facts as JSON (kept with each alert)."""
        return json.dumps(asdict(self), ensure_ascii=False, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str) -> RunFacts:
        """Facts back from `to_json`; unknown keys (a newer version's) are ignored."""
        data = json.loads(text)
        known = {k: v for k, v in data.items() if k in cls.__dataclass_fields__}
        known["reasons"] = tuple(ReasonShare(**r) for r in known.get("reasons") or ())
        known["history"] = tuple(float(v) for v in known.get("history") or ())
        return cls(**known)


@dataclass(frozen=True)
class Finding:
    """A rule the run broke, how badly, in one sentence."""

    rule: str
    severity: str
    summary: str


@dataclass(frozen=True)
class Verdict:
    """The facts and every rule they break (none for a clean run)."""

    facts: RunFacts
    findings: list[Finding] = field(default_factory=list)


def reason_shares(cards: Sequence[Any]) -> tuple[ReasonShare, ...]:
    """ReasonShares from the run's reason cards (domain.reasons.ReasonCard), most missing first."""
    return tuple(ReasonShare(c.code, c.missing, c.share or 0.0, c.tasks_short, c.group)
                 for c in cards if c.missing > 0 or c.tasks_short > 0)


def _pct(value: float) -> str:
    return f"{value:.1f} %"


def _completeness(facts: RunFacts, rule: alert_rules.Rule) -> str | None:
    percent = facts.percent
    if percent is None or percent >= rule.below:
        return None
    return (f"collected {_pct(percent)} of the expected results "
            f"({facts.missing:,} of {facts.expected:,} missing), under the {rule.below:g} % threshold")


def _account(facts: RunFacts, rule: alert_rules.Rule) -> str | None:
    run_group = reasons.group_of(facts.done_reason)
    codes = [r.code for r in facts.reasons if r.group in (reasons.ACCOUNT, reasons.BILLING) and r.code]
    if facts.account_tasks <= 0 and run_group not in (reasons.ACCOUNT, reasons.BILLING):
        return None
    if facts.account_tasks <= 0:
        return f"the run stopped for an account or billing reason ({facts.done_reason})"
    named = f" ({', '.join(codes[:4])})" if codes else ""
    noun = "task" if facts.account_tasks == 1 else "tasks"
    return f"{facts.account_tasks:,} {noun} stopped short by the account, credits or billing{named}"


def _run_error(facts: RunFacts, rule: alert_rules.Rule) -> str | None:
    status, reason = (facts.status or "").lower(), (facts.done_reason or "").lower()
    if status != "error" and reason != "error":
        return None
    because = f" ({facts.done_reason})" if facts.done_reason and reason != "error" else ""
    return f"lobstr ended the run in error{because}"


def _drop(facts: RunFacts, rule: alert_rules.Rule) -> str | None:
    percent = facts.percent
    history = list(facts.history[: rule.history])
    if percent is None or len(history) < rule.min_history:
        return None
    median = statistics.median(history)
    fall = median - percent
    if fall < rule.points:
        return None
    return (f"completeness {_pct(percent)} is {fall:.1f} points under the median {_pct(median)} "
            f"of the squid's previous {len(history)} runs")


_CHECKS = {alert_rules.COMPLETENESS: _completeness, alert_rules.ACCOUNT: _account,
           alert_rules.RUN_ERROR: _run_error, alert_rules.DROP: _drop}


def evaluate(facts: RunFacts, rules: Sequence[alert_rules.Rule]) -> Verdict:
    """Check a finished run against its squid's rules; a clean run gets no finding."""
    findings = []
    for rule in rules:
        if not rule.enabled:
            continue
        summary = _CHECKS[rule.key](facts, rule)
        if summary is not None:
            findings.append(Finding(rule.key, rule.severity, summary))
    return Verdict(facts, findings)


def worst(severities: Sequence[str]) -> str:
    """The most severe of some severities (info when none)."""
    for severity in alert_rules.SEVERITIES:
        if severity in severities:
            return severity
    return alert_rules.INFO


def history_median(values: Sequence[float]) -> float | None:
    """The median of a completeness history (None when empty)."""
    return statistics.median(values) if values else None


def facts_summary(facts: RunFacts) -> Mapping[str, Any]:
    """The verdict's figures for exports (missing, percent, tasks short)."""
    return {"missing": facts.missing, "expected": facts.expected,
            "percent_complete": None if facts.percent is None else round(facts.percent, 2),
            "tasks_short": facts.tasks_short, "tasks": facts.tasks}
