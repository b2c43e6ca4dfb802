"""The run page's alert badge: which rules fired for the run, and where their alerts stand."""

from __future__ import annotations

from dataclasses import dataclass

from flask import url_for

from ..domain import rules as alert_rules
from ..domain.rulecheck import worst
from ..store import AlertRecord
from .services import services


@dataclass(frozen=True)
class AlertBadge:
    """What the badge says: the worst severity, the rules, the delivery, and the alerts' link."""

    severity: str
    rules: list[str]
    sent: int
    waiting: int
    failed: int
    url: str

    @property
    def text(self) -> str:
        """The badge's words."""
        noun = "rule" if len(self.rules) == 1 else "rules"
        return f"alert: {len(self.rules)} {noun} fired"

    @property
    def detail(self) -> str:
        """Which rules, and how delivery went."""
        parts = [f"{self.sent} sent"] if self.sent else []
        if self.waiting:
            parts.append(f"{self.waiting} waiting")
        if self.failed:
            parts.append(f"{self.failed} not delivered")
        return "; ".join(self.rules) + (f" ({', '.join(parts)})" if parts else "")


def badge(alerts: list[AlertRecord], run_id: str) -> AlertBadge | None:
    """The badge of a run's alerts (None when none fired)."""
    if not alerts:
        return None
    fired = list(dict.fromkeys(a.rule for a in alerts))
    return AlertBadge(
        severity=worst([a.severity for a in alerts]),
        rules=[alert_rules.LABELS.get(rule, rule) for rule in fired],
        sent=sum(a.state == "sent" for a in alerts),
        waiting=sum(a.state in ("pending", "sending") for a in alerts),
        failed=sum(a.state in ("failed", "dropped") for a in alerts),
        url=url_for("alerts.page", run=run_id))


def alert_badge(run_id: str) -> AlertBadge | None:
    """The run's badge, read from the outbox."""
    return badge(services().store.alerts_for_runs([run_id]).get(run_id, []), run_id)
