"""HTML pages: the run lookup form and the run page (full page or htmx partials)."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import redirect
from flask import render_template
from flask import request
from flask import url_for

from .htmx import partial_target
from .htmx import vary_on_htmx
from .params import DESCENDING_FIRST
from .params import InvalidInput
from .params import extract_run_id
from .params import parse_task_query
from .params import query_args
from .params import same_page_target
from .runpage import insights_for
from .runs import RunStatus
from .services import canonical_run_id
from .services import services
from .store import NO_REASON
from .store import TaskQuery

bp = Blueprint("views", __name__)

#: Table columns: sort key, header label, numeric (right-aligned).
COLUMNS = [
    ("position", "#", True), ("status", "Status", False), ("input", "Input", False),
    ("started", "Started", False), ("ended", "Ended", False), ("duration", "Duration", True),
    ("expected", "Expected", True), ("collected", "Collected", True), ("gap", "Gap", True),
    ("reason", "Done reason", False),
]
SORT_LABELS = {key: label for key, label, _ in COLUMNS} | {"missing": "share missing", "gap": "gap"}
PARTS = frozenset({"run-status", "tasks"})


@bp.get("/")
def index() -> Any:
    """Show the lookup form; with `?run=` extract the run id from pasted text and go to its page."""
    pasted = request.args.get("run")
    error = None
    if pasted is not None:
        try:
            return redirect(url_for("views.run", run_id=extract_run_id(pasted)), 303)
        except InvalidInput as exc:
            error = str(exc)
    svc = services()
    page = render_template("index.html", pasted=(pasted or "")[:200], error=error,
                           demo_runs=svc.demo_runs, recent_runs=svc.store.recent_runs(10))
    return page, 400 if error else 200


@bp.get("/runs/<run_id>")
def run(run_id: str) -> Any:
    """The run page: summary, filters and the task table; htmx asks for one part at a time."""
    canonical = canonical_run_id(run_id)
    if canonical != run_id:
        return redirect(url_for("views.run", run_id=canonical, **request.args.to_dict(flat=False)), 301)
    query = parse_task_query(request.args, current_app.config["TASKS_PER_PAGE"])
    target = partial_target(request, PARTS)
    svc = services()
    # The status poll must answer at once; everything else may wait briefly for a load to end.
    wait = 0.0 if target == "run-status" else current_app.config["LOAD_WAIT_SECONDS"]
    status = svc.runs.ensure(run_id, wait, first_rows=target is None)
    context = run_context(run_id, query, status)
    if target == "run-status":
        response = Response(render_template("partials/_run_status.html", **context))
        if request.args.get("seen") != context["seen"]:
            # The data changed since the browser last looked: the table reloads itself too.
            response.headers["HX-Trigger"] = "tasks-stale"
    elif target == "tasks":
        response = Response(render_template("partials/_tasks.html", **context))
        if request.headers.get("HX-Trigger") != "tasks":
            # A user's filter, sort or page change: push the canonical URL (no empty fields,
            # no defaults) rather than the raw form query. The table's own reloads push nothing.
            response.headers["HX-Push-Url"] = context["link"]()
    else:
        response = Response(render_template("run.html", **context))
    return vary_on_htmx(response)


def run_context(run_id: str, query: TaskQuery, status: RunStatus) -> dict[str, Any]:
    """Everything the run page and its partials render."""
    tasks = services().store.query(run_id, query)
    if tasks.page != query.page:
        query = TaskQuery(**{**query.__dict__, "page": tasks.page})

    def link(**changes: Any) -> str:
        return url_for("views.run", run_id=run_id, **query_args(query, **changes))

    def export_url(fmt: str) -> str:
        return url_for("api.tasks_export", run_id=run_id, fmt=fmt,
                       **query_args(query, page=None))

    state = status.state
    seen = f"{state.generation}.{state.state}.{state.pages_done}.{state.fetched_at or 0:.0f}"
    return {
        "run_id": run_id, "query": query, "status": status, "tasks": tasks, "link": link,
        "export_url": export_url, "seen": seen, "status_poll_url": link(seen=seen),
        "columns": COLUMNS, "sort_labels": SORT_LABELS, "descending_first": DESCENDING_FIRST,
        "none_reason": NO_REASON,
        "filtered": bool(query.statuses or query.reasons or query.short_only or query.text
                         or query.classes),
        "insights": insights_for(run_id, query, status),
        "live_refresh_seconds": current_app.config["LIVE_REFRESH_SECONDS"],
    }


@bp.post("/runs/<run_id>/refresh")
def refresh(run_id: str) -> Any:
    """Fetch a run again (every page, or only the pages that failed), then show it."""
    run_id = canonical_run_id(run_id)
    services().runs.refresh(run_id, only_failed=request.form.get("only_failed") == "1")
    # Only ever go back to this run's own page: `next` must not become an open redirect.
    target = same_page_target(request.form.get("next") or "", url_for("views.run", run_id=run_id))
    return redirect(target, 303)
