"""Acting on a run from the dashboard: resurrect an aborted run, retry one task, and the audit log.

Off unless LOBSTR_ACTIONS=1: then every action route answers 404 and lobstr hears nothing. On, an
action is a GET that shows what will happen and what it costs, then a POST carrying a CSRF token
tied to the browser's session (Flask-WTF); a cross-site POST is refused before it gets here
(ops/security.py). Each confirmed POST reaches lobstr once and lands in the audit log (/actions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from flask import Blueprint
from flask import abort
from flask import current_app
from flask import g
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for
from flask_wtf.csrf import generate_csrf
from flask_wtf.csrf import validate_csrf
from wtforms import ValidationError

from ..domain.query import TaskRow
from ..domain.tasks import LIVE_STATUSES
from ..domain.runinfo import RunDetails
from ..render.exports import iso
from ..store import ActionRecord
from . import formats
from .links import QueryLinks
from .querystring import InvalidInput
from .querystring import canonical_run_id
from .querystring import is_run_id
from .querystring import whole_number
from .services import services

bp = Blueprint("actions", __name__)

#: Actions shown per page of the audit log.
PER_PAGE = 100
COLUMNS = ("id", "at", "user", "action", "run_id", "runtask_id", "outcome", "status", "code",
           "message")


def enabled() -> bool:
    """True when LOBSTR_ACTIONS turned the actions on."""
    return bool(current_app.config.get("LOBSTR_ACTIONS"))


def _require_enabled() -> None:
    if not enabled():
        abort(404)


def _check_csrf() -> None:
    """A POST must carry the token of this browser's session: else 400 and nothing is sent."""
    try:
        validate_csrf(request.form.get("csrf_token"))
    except ValidationError as exc:
        raise InvalidInput("The form's security token is missing, wrong or expired: open the page "
                           f"again and confirm from there ({exc}).") from None


@dataclass(frozen=True)
class ConfirmPage:
    """What an action will do, before it is done."""

    action: str
    run_id: str
    title: str
    effects: list[str]
    warning: str | None
    post_url: str
    cancel_url: str
    csrf_token: str
    task: TaskRow | None = None


@dataclass(frozen=True)
class OutcomePage:
    """What lobstr answered to one action."""

    record: ActionRecord
    run_url: str
    actions_url: str


def _run_details(run_id: str) -> RunDetails | None:
    """lobstr's run object as the dashboard last read it (no call to lobstr)."""
    return services().runs.known_info(run_id).info.run


@bp.route("/runs/<run_id>/resurrect", methods=["GET", "POST"])
def resurrect(run_id: str) -> Any:
    """Reopen an aborted run: confirm (GET), then ask lobstr once (POST)."""
    _require_enabled()
    run_id = canonical_run_id(run_id)
    if request.method == "POST":
        _check_csrf()
        record = services().actions.resurrect(run_id, g.get("user"))
        return redirect(url_for("actions.outcome", action_id=record.id), 303)
    details = _run_details(run_id)
    summary = services().store.summary(run_id)
    warning = None
    if details is None or details.done_reason != "aborted":
        warning = (f"lobstr's last word on this run was done_reason "
                   f"“{details.done_reason if details and details.done_reason else 'unknown'}”: "
                   "it resurrects only aborted runs, and will refuse otherwise.")
    effects = [
        "lobstr reopens this run: the tasks the abort interrupted go back to pending and run again; "
        "tasks already done are not touched.",
        f"{summary.tasks_short:,} task(s) here ended short, {summary.missing:,} result(s) missing: "
        "collecting them costs credits, as any run does.",
        "The run becomes live again; this dashboard reloads it by itself.",
    ]
    return render_template("action_confirm.html", page=ConfirmPage(
        action="resurrect", run_id=run_id, title="Resurrect this aborted run?", effects=effects,
        warning=warning, post_url=url_for("actions.resurrect", run_id=run_id),
        cancel_url=url_for("run.page", run_id=run_id), csrf_token=generate_csrf()))


@bp.route("/runs/<run_id>/tasks/<runtask_id>/retry", methods=["GET", "POST"])
def retry(run_id: str, runtask_id: str) -> Any:
    """Run one task again: confirm (GET), then ask lobstr once (POST)."""
    _require_enabled()
    run_id = canonical_run_id(run_id)
    runtask_id = runtask_id.strip().lower()
    if not is_run_id(runtask_id):  # task ids are the same 32 hex characters
        raise InvalidInput("That is not a task id (32 hexadecimal characters).")
    if request.method == "POST":
        _check_csrf()
        record = services().actions.retry(run_id, runtask_id, g.get("user"))
        return redirect(url_for("actions.outcome", action_id=record.id), 303)
    task = services().store.task(run_id, runtask_id)
    if task is None:
        abort(404, "This run has no such task in the dashboard's store; open the run first.")
    if task.status and task.status.lower() in LIVE_STATUSES:
        warning = "This task has not ended yet: lobstr retries only tasks of a run that has ended."
    else:
        warning = None
    effects = [
        "lobstr sets this task back to pending and relaunches the run to process it.",
        "It costs the credits of the results it collects. lobstr allows one retry of a task every "
        "5 minutes, and none while a run of this squid is active.",
        "The run becomes live again; this dashboard reloads it by itself.",
    ]
    return render_template("action_confirm.html", page=ConfirmPage(
        action="retry", run_id=run_id, title="Retry this task?", effects=effects, warning=warning,
        post_url=url_for("actions.retry", run_id=run_id, runtask_id=runtask_id),
        cancel_url=url_for("run.page", run_id=run_id), csrf_token=generate_csrf(), task=task))


@bp.get("/actions/<int:action_id>")
def outcome(action_id: int) -> Any:
    """What lobstr answered to one action."""
    _require_enabled()
    record = services().store.action(action_id)
    if record is None:
        abort(404)
    status = 200 if record.outcome == "accepted" else 409 if record.outcome == "refused" else 502
    return render_template("action_outcome.html", page=OutcomePage(
        record, url_for("run.page", run_id=record.run_id), url_for("actions.log"))), status


def _record(action: ActionRecord) -> dict[str, Any]:
    return {"id": action.id, "at": iso(action.at), "user": action.user, "action": action.action,
            "run_id": action.run_id, "runtask_id": action.runtask_id, "outcome": action.outcome,
            "status": action.status, "code": action.code, "message": action.message}


@dataclass(frozen=True)
class LogPage:
    """A page of the audit log."""

    actions: list[ActionRecord]
    total: int
    page: int
    pages: int
    links: QueryLinks
    exports: dict[str, str]
    enabled: bool


@formats.route(bp, "/actions", ("json", "csv"))
def log(fmt: str | None) -> Any:
    """Every action taken in lobstr from this dashboard, newest first."""
    store = services().store
    if fmt is not None:
        return formats.export(fmt, formats.Export(map(_record, store.iter_actions()), "actions",
                                                  COLUMNS, "lobstr-dash-actions.csv"))
    page = whole_number(request.args.get("page"), "page", 1, 1, 1_000_000)
    actions, total = store.actions(limit=PER_PAGE, offset=(page - 1) * PER_PAGE)
    return render_template("actions.html", page=LogPage(
        actions=actions, total=total, page=page, pages=max(1, -(-total // PER_PAGE)),
        links=QueryLinks("actions.log", {"page": page if page > 1 else None}),
        exports={f: url_for("actions.log", fmt=f) for f in ("csv", "json")}, enabled=enabled()))
