"""The alerts page: every alert with its rule, severity, channel and delivery; the test button.

`/alerts` (and `.csv`/`.json`) lists the outbox newest first, filterable by state, run and squid.
`POST /alerts/test` (CSRF token, signed in when sign-in is on, once per 10 s across workers) sends
a sample message to every channel and shows how each answered.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint
from flask import abort
from flask import Response
from flask import current_app
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import CSRFError
from flask_wtf.csrf import generate_csrf
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from ..domain import rules as alert_rules
from ..loading.alerting import TestResult
from ..render.exports import iso
from ..store import AlertFilter
from ..store import AlertRecord
from ..store import HookRecord
from ..store.outbox import ALERT_STATES
from . import formats
from .errors import render_error
from .links import QueryLinks
from .querystring import InvalidInput
from .querystring import is_run_id
from .querystring import whole_number
from .services import services

bp = Blueprint("alerts", __name__)

PER_PAGE = 100
#: One test send per this many seconds, across every worker: each one messages the whole team.
TEST_COOLDOWN_SECONDS = 10.0
_SQUID = re.compile(r"[0-9A-Za-z_-]{1,64}")
COLUMNS = ("id", "created_at", "run_id", "squid_id", "rule", "rule_label", "severity", "summary",
           "channel", "state", "attempts", "next_attempt_at", "last_error", "sent_at", "run_url")
STATE_HELP = {
    "pending": "waiting for its next try",
    "sending": "being sent now",
    "sent": "delivered to the channel",
    "failed": "the channel kept failing for 24 h: given up",
    "unsent": "raised while no channel was configured",
    "dropped": "its channel was removed from ALERT_URLS",
}


@dataclass(frozen=True)
class AlertItem:
    """One alert row as the page shows it."""

    alert: AlertRecord
    rule_label: str
    run_url: str


@dataclass(frozen=True)
class AlertsPage:
    """What the alerts page shows."""

    items: list[AlertItem]
    total: int
    page: int
    pages: int
    flt: AlertFilter
    counts: dict[str, int]
    enabled: bool
    channels: list[str]
    rules: list[alert_rules.Rule]
    squid_overrides: list[str]
    webhooks_on: bool
    watching: str | None
    events: list[HookRecord]
    links: QueryLinks
    exports: dict[str, str]
    test_url: str
    csrf_token: str | None
    test_results: list[TestResult] | None = None
    test_error: str | None = None
    states: tuple[str, ...] = ALERT_STATES
    state_help: dict[str, str] = field(default_factory=lambda: dict(STATE_HELP))
    rule_labels: dict[str, str] = field(default_factory=lambda: dict(alert_rules.LABELS))


def _filter() -> AlertFilter:
    state = (request.args.get("state") or "").strip() or None
    run_id = (request.args.get("run") or "").strip().lower() or None
    squid = (request.args.get("squid") or "").strip() or None
    if state is not None and state not in ALERT_STATES:
        raise InvalidInput(f"state must be one of {', '.join(ALERT_STATES)}.")
    if run_id is not None and not is_run_id(run_id):
        raise InvalidInput("run must be a run id (32 hexadecimal characters).")
    if squid is not None and not _SQUID.fullmatch(squid):
        raise InvalidInput("squid must be a squid id (letters, digits, - and _).")
    return AlertFilter(state, run_id, squid)


def _item(alert: AlertRecord) -> AlertItem:
    return AlertItem(alert, alert_rules.LABELS.get(alert.rule, alert.rule),
                     url_for("run.page", run_id=alert.run_id))


def _record(item: AlertItem) -> dict[str, Any]:
    a = item.alert
    return {"id": a.id, "created_at": iso(a.created_at), "run_id": a.run_id, "squid_id": a.squid_id,
            "rule": a.rule, "rule_label": item.rule_label, "severity": a.severity,
            "summary": a.summary, "channel": a.channel_label, "state": a.state,
            "attempts": a.attempts,
            "next_attempt_at": iso(a.next_at) if a.state == "pending" else None,
            "last_error": a.last_error, "sent_at": iso(a.sent_at), "run_url": item.run_url}


def _page(flt: AlertFilter, number: int, **extra: Any) -> AlertsPage:
    svc = services()
    alerting = svc.alerting
    rows, total = svc.store.alerts_page(flt, (number - 1) * PER_PAGE, PER_PAGE)
    query = {"state": flt.state, "run": flt.run_id, "squid": flt.squid_id}
    config = current_app.config
    watching = str(config.get("WATCH_SQUIDS") or "").strip() or None
    channels = alerting.channels.channels if alerting is not None else []
    return AlertsPage(
        items=[_item(r) for r in rows], total=total, page=number,
        pages=max(1, -(-total // PER_PAGE)), flt=flt, counts=svc.store.alert_counts(),
        enabled=alerting is not None, channels=[c.label for c in channels],
        rules=list(alerting.rules.rules.values()) if alerting is not None else [],
        squid_overrides=sorted(alerting.rules.squids) if alerting is not None else [],
        webhooks_on=bool(config.get("LOBSTR_WEBHOOK_SECRET")), watching=watching,
        events=svc.store.recent_hooks(10) if alerting is not None else [],
        links=QueryLinks("alerts.page", {**query, "page": number if number > 1 else None}),
        exports={f: QueryLinks("alerts.page", query).with_format(f) for f in ("csv", "json")},
        test_url=url_for("alerts.test"),
        csrf_token=generate_csrf() if channels else None, **extra)


@formats.route(bp, "/alerts", ("json", "csv"))
def page(fmt: str | None) -> Any:
    """Every alert, newest first: rule, severity, channel, delivery state and attempts."""
    flt = _filter()
    number = whole_number(request.args.get("page"), "page", 1, 1, 100_000)
    if fmt is not None:
        records = [_record(_item(a)) for a in services().store.all_alerts(flt)]
        return formats.export(fmt, formats.Export(
            records, "alerts", COLUMNS, "alerts.csv",
            head={"state": flt.state, "run": flt.run_id, "squid": flt.squid_id}))
    return render_template("alerts.html", page=_page(flt, number))


@bp.post("/alerts/test")
def test() -> Any:
    """Send a sample alert to every channel and show how each answered."""
    alerting = services().alerting
    if alerting is None:  # alerts off: no form was served, and there is no key to check one
        abort(404)
    try:
        validate_csrf(request.form.get("csrf_token"))
    except (ValidationError, CSRFError) as exc:
        return render_error(400, "The form expired", f"Reload the alerts page and try again ({exc}).",
                            kind="csrf")
    if not alerting.channels:
        return render_error(409, "No channel to test",
                            "Set ALERT_URLS (or ALERT_URLS_FILE) to Apprise URLs first.",
                            kind="no_channel")
    if not services().store.take_lease("alert-test", uuid.uuid4().hex, TEST_COOLDOWN_SECONDS):
        return render_error(429, "A test was just sent",
                            f"Wait {TEST_COOLDOWN_SECONDS:.0f} seconds between tests: each one "
                            "messages every channel.", kind="cooldown",
                            headers={"Retry-After": str(int(TEST_COOLDOWN_SECONDS))})
    results = alerting.send_test()
    return Response(render_template("alerts.html", page=_page(AlertFilter(), 1, test_results=results)))
