"""The re-queue kit: the params of the tasks that ended short, as an upload CSV or a URL list."""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from flask import Blueprint
from flask import Response
from flask import current_app
from flask import request

from ..domain.query import requeue_query
from ..render import requeue
from . import formats
from .querystring import canonical_run_id
from .querystring import parse_task_query
from .services import services

bp = Blueprint("requeue", __name__)


@formats.route(bp, "/runs/<run_id>/requeue", ("csv", "txt"), html=False)
def kit(run_id: str, fmt: str) -> Any:
    """The params of the tasks that ended short (under the filters): upload CSV or URL list."""
    run_id = canonical_run_id(run_id)
    query = requeue_query(parse_task_query(request.args, int(current_app.config["TASKS_PER_PAGE"])))
    query = replace(query, sort="position", descending=False)
    svc = services()
    run = svc.runs.ensure(run_id, float(current_app.config["EXPORT_WAIT_SECONDS"]))
    rows = svc.store.iter_matching(run_id, query)
    if fmt == "csv":
        keys = svc.store.param_keys(run_id, query.filter)
        response = Response(requeue.csv_lines(keys, (r.params for r in rows)), mimetype="text/csv")
        response.headers["Content-Disposition"] = f'attachment; filename="run-{run_id}-requeue.csv"'
    else:
        response = Response(requeue.url_lines(r.url for r in rows), mimetype="text/plain")
    response.headers["X-Run-Complete"] = "false" if run.incomplete else "true"
    return response
