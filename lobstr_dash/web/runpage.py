"""The run page: summary, filters and the task table, and the htmx parts that update it.

The view parses the query, asks the runs service for the run (and its own info, within the same
wait), builds a `RunPage` (web/runmodel.py) with everything the templates show, and renders the
whole page or the one part htmx asked for. Every part carries the filter panel too (an htmx
out-of-band swap), so its counts and checked boxes always match the figures and the table.
"""

from __future__ import annotations

from dataclasses import replace
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
from .querystring import canonical_run_id
from .querystring import parse_task_query
from .querystring import same_page_target
from .runmodel import RunPage
from .runmodel import build_run_page
from .runmodel import look_for_previous_run
from .services import services

bp = Blueprint("run", __name__)

#: The parts of the page htmx may ask for alone (by the id of the element it swaps).
STATUS_PART = "run-status"
TASKS_PART = "tasks"
PARTS = frozenset({STATUS_PART, TASKS_PART})

__all__ = ["RunPage", "bp"]


@bp.get("/runs/<run_id>")
def page(run_id: str) -> Any:
    """The run page; htmx asks for one part at a time (the status poll, or the task table)."""
    canonical = canonical_run_id(run_id)
    if canonical != run_id:
        return redirect(url_for("run.page", run_id=canonical, **request.args.to_dict(flat=False)),
                        301)
    query = parse_task_query(request.args, current_app.config["TASKS_PER_PAGE"])
    target = partial_target(request, PARTS)
    # The status poll must answer at once; everything else may wait briefly for a load to end.
    wait = 0.0 if target == STATUS_PART else float(current_app.config["LOAD_WAIT_SECONDS"])
    runs = services().runs
    if target == TASKS_PART:  # the table alone does not show the run's own info
        run, info = runs.ensure(run_id, wait), runs.known_info(run_id)
    else:
        if target is None:
            look_for_previous_run(run_id)
        run, info = runs.ensure_with_info(run_id, wait, first_rows=target is None)
    page = build_run_page(run_id, query, run, info,
                          live_refresh_seconds=float(current_app.config["LIVE_REFRESH_SECONDS"]),
                          with_table_extras=target != STATUS_PART, find_previous=target is None)
    if target is not None:
        page = replace(page, part=target)
    if target == STATUS_PART:
        response = Response(render_template("partials/_run_status.html", page=page))
        if request.args.get("seen") != page.seen:
            # The data changed since the browser last looked: the table reloads itself too.
            response.headers["HX-Trigger"] = "tasks-stale"
    elif target == TASKS_PART:
        response = Response(render_template("partials/_tasks.html", page=page))
        if request.headers.get("HX-Trigger") != TASKS_PART:
            # A user's filter, sort or page change: push the canonical URL (no empty fields,
            # no defaults) rather than the raw form query. The table's own reloads push nothing.
            response.headers["HX-Push-Url"] = page.links.page()
    else:
        response = Response(render_template("run.html", page=page))
    return vary_on_htmx(response)


@bp.post("/runs/<run_id>/refresh")
def refresh(run_id: str) -> Any:
    """Fetch a run again (every page, or only the pages that failed), then show it."""
    run_id = canonical_run_id(run_id)
    services().runs.refresh(run_id, only_failed=request.form.get("only_failed") == "1")
    # Only ever go back to this run's own page: `next` must not become an open redirect.
    target = same_page_target(request.form.get("next") or "", url_for("run.page", run_id=run_id))
    return redirect(target, 303)
