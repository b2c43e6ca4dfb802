"""Machine-readable routes: task exports, the upstream pass-through, and the health check."""

from __future__ import annotations

from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request
from flask import stream_with_context
from flask import url_for

from .exports import csv_lines
from .exports import json_chunks
from .params import parse_task_query
from .params import upstream_paging
from .services import canonical_run_id
from .services import services

bp = Blueprint("api", __name__)


@bp.get("/runs/<run_id>/tasks.<fmt>")
def tasks_export(run_id: str, fmt: str) -> Any:
    """Every task matching the query string (not one page), as CSV or JSON, with the gap."""
    if fmt not in ("csv", "json"):
        abort(404)
    run_id = canonical_run_id(run_id)
    query = parse_task_query(request.args, current_app.config["TASKS_PER_PAGE"])
    svc = services()
    status = svc.runs.ensure(run_id, current_app.config["EXPORT_WAIT_SECONDS"])
    rows = svc.store.iter_matching(run_id, query)
    complete = not status.partial
    if fmt == "csv":
        response = Response(stream_with_context(csv_lines(rows)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="run-{run_id}-tasks.csv"'
    else:
        head = {
            "ok": True, "run": run_id, "complete": complete, "state": status.state.state,
            "total_results": status.state.total_results,
            "missing_positions": [list(r) for r in status.missing_ranges],
            "fetched_at": status.state.fetched_at,
            "page_url": url_for("views.run", run_id=run_id, _external=False),
        }
        response = Response(stream_with_context(json_chunks(head, rows)),
                            mimetype="application/json")
    response.headers["X-Run-Complete"] = "true" if complete else "false"
    return response


@bp.get("/api/v1/runtasks")
def runtasks_proxy() -> Any:
    """One upstream /v1/runtasks page, unchanged; the server adds its token."""
    run, page, limit = upstream_paging(request.args)
    answer = services().client.forward("runtasks", {"run": run, "page": page, "limit": limit})
    return Response(answer.body, status=answer.status, content_type=answer.content_type)


@bp.get("/healthz")
def healthz() -> Any:
    """Liveness: the process answers and its store opens; never calls lobstr."""
    services().store.connection().execute("SELECT 1").fetchone()
    return jsonify(ok=True, demo=current_app.config["DEMO_MODE"])
