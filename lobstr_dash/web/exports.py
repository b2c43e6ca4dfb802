"""A run's tasks as CSV or JSON: every task matching the query string, not one page."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import current_app
from flask import request
from flask import url_for

from ..render.exports import CSV_COLUMNS
from ..render.exports import task_record
from . import formats
from .querystring import canonical_run_id
from .querystring import parse_task_query
from .services import services

bp = Blueprint("exports", __name__)


@formats.route(bp, "/runs/<run_id>/tasks", ("csv", "json"), html=False)
def tasks(run_id: str, fmt: str) -> Any:
    """Every task matching the query string, with its gap, in the table's order."""
    run_id = canonical_run_id(run_id)
    query = parse_task_query(request.args, current_app.config["TASKS_PER_PAGE"])
    svc = services()
    run = svc.runs.ensure(run_id, current_app.config["EXPORT_WAIT_SECONDS"])
    complete = not run.incomplete
    head = {
        "run": run_id, "complete": complete, "state": run.record.phase,
        "total_results": run.record.total_results,
        "missing_positions": [list(r) for r in run.missing_ranges],
        "fetched_at": run.record.fetched_at,
        "page_url": url_for("run.page", run_id=run_id, _external=False),
        "lobstr_warning": run.record.plan_warning,
        "not_returned_by_lobstr": run.plan_limited_rows,
    }
    records = (task_record(row) for row in svc.store.iter_matching(run_id, query))
    response = formats.export(fmt, formats.Export(records, "tasks", CSV_COLUMNS,
                                                  f"run-{run_id}-tasks.csv", head=head,
                                                  complete=complete))
    if run.record.plan_warning:
        # The CSV has no room for it in the body: lobstr's warning travels as a header.
        response.headers["X-Lobstr-Warning"] = run.record.plan_warning.encode(
            "ascii", "replace").decode("ascii").replace("\r", " ").replace("\n", " ")
    return response
