"""Endpoint handlers of the fake lobstr API."""

from __future__ import annotations

from typing import Any

from flask import Response, g, request

from lobstr_dash.fake import errors
from lobstr_dash.fake.envelope import envelope, parse_paging
from lobstr_dash.fake.fault_effects import body_response
from lobstr_dash.fake.faults import FaultRule
from lobstr_dash.fake.hooks import fake_state
from lobstr_dash.fake.summary import run_object, run_stats, squid_object


def _base_url() -> str:
    return request.host_url.rstrip("/") + request.path


def _query() -> list[tuple[str, str]]:
    return list(request.args.items(multi=True))


def capped(data: list[Any], page: int, limit: int) -> tuple[list[Any], str | None]:
    """A free plan's list page: the rows within the export cap, and lobstr's warning past it."""
    cap = fake_state().config.plan_cap
    if cap is None:
        return data, None
    first = (page - 1) * limit
    kept = data[: max(0, cap - first)]
    if first + len(data) <= cap:
        return kept, None
    return kept, (f"Export limit reached - only {cap} results returned. Upgrade to premium to "
                  "access all results.")


def _list(data: list[Any], total: int, page: int, limit: int) -> dict[str, Any]:
    """The list envelope of a page, cut at the plan's export cap (with lobstr's warning)."""
    kept, warning = capped(data, page, limit)
    payload = envelope(kept, total, page, limit, _base_url(), _query())
    if warning:
        payload["warning"] = warning
    return payload


def _respond(payload: dict[str, Any], previous: list[dict[str, Any]] | None = None) -> Response:
    """Serialize a successful payload, applying the body fault chosen for this request."""
    rule: FaultRule | None = g.get("fake_rule")
    if rule is None or rule.body is None:
        return errors.json_response(payload)
    return body_response(rule.body, payload, previous)


def runtasks() -> Response:
    """GET /v1/runtasks?run=&page=&limit=."""
    catalog = fake_state().catalog
    run_id = request.args.get("run")
    if not run_id:
        return errors.error_response(400, shape=errors.SHAPE_DETAIL,
                                     message="The 'run' query parameter is required.")
    page, limit = parse_paging(request.args)
    if not catalog.has_tasks(run_id):
        return errors.not_found("Run", "run")
    rows = catalog.rows(run_id, page, limit)
    previous = catalog.rows(run_id, page - 1, limit) if page > 1 else None
    return _respond(_list(rows, catalog.total(run_id), page, limit), previous)


def run_detail(run_hash: str) -> Response:
    """GET /v1/runs/<run_hash>."""
    catalog = fake_state().catalog
    info = catalog.run(run_hash)
    if info is None:
        return errors.not_found("Run", "run_hash")
    return _respond(run_object(catalog, info, legacy=errors.legacy_shapes()))


def run_stats_view(run_hash: str) -> Response:
    """GET /v1/runs/<run_hash>/stats."""
    catalog = fake_state().catalog
    info = catalog.run(run_hash)
    if info is None:
        return errors.not_found("Run", "run_hash")
    return _respond(run_stats(catalog, info))


def runs() -> Response:
    """GET /v1/runs?squid=&page=&limit= (newest first; duration as float)."""
    catalog = fake_state().catalog
    squid_id = request.args.get("squid")
    if not squid_id:
        return errors.error_response(400, shape=errors.SHAPE_DETAIL,
                                     message="The 'squid' query parameter is required.")
    page, limit = parse_paging(request.args)
    if catalog.squid(squid_id) is None:
        return errors.not_found("Squid", "squid")
    infos = catalog.runs_of(squid_id)
    chunk = infos[(page - 1) * limit : page * limit]
    data = [run_object(catalog, info, duration_as_float=True) for info in chunk]
    return _respond(_list(data, len(infos), page, limit))


def squids() -> Response:
    """GET /v1/squids?name=&page=&limit= (name is a case-insensitive substring)."""
    catalog = fake_state().catalog
    page, limit = parse_paging(request.args)
    name = (request.args.get("name") or "").lower()
    found = [s for s in catalog.squids() if name in s.name.lower()]
    chunk = found[(page - 1) * limit : page * limit]
    data = [squid_object(catalog, squid, legacy=errors.legacy_shapes()) for squid in chunk]
    return _respond(_list(data, len(found), page, limit))


def squid_detail(squid_hash: str) -> Response:
    """GET /v1/squids/<squid_hash>."""
    catalog = fake_state().catalog
    squid = catalog.squid(squid_hash)
    if squid is None:
        return errors.not_found("Squid", "squid_hash")
    return _respond(squid_object(catalog, squid, detail=True, legacy=errors.legacy_shapes()))


def _finished(catalog: Any, run_id: str) -> bool:
    """True when every task of a catalogue run has ended (lobstr's is_done)."""
    totals = catalog.totals(run_id)
    return totals.done >= totals.tasks


def resurrect(run_hash: str) -> Response:
    """POST /v1/runs/<run_hash>/resurrect: reopen an aborted run (docs: resurrect-run)."""
    catalog = fake_state().catalog
    info = catalog.run(run_hash)
    if info is None:
        return errors.not_found("Run", "run_hash")
    run = run_object(catalog, info, duration_as_float=True)
    if not _finished(catalog, run_hash) or run["done_reason"] != "aborted":
        return errors.action_error("RunNotAborted", "Only aborted runs can be resurrected.")
    catalog.resurrect(run_hash)
    return errors.json_response({"id": run_hash, "status": "PENDING", "is_done": False,
                                 "done_reason": None})


def retry(runtask_hash: str) -> Response:
    """POST /v1/runtasks/<runtask_hash>/retry: one task of a finished run again (docs: retry-run-task)."""
    catalog = fake_state().catalog
    found = catalog.find_runtask(runtask_hash)
    if found is None:
        return errors.not_found("Task", "runtask_hash")
    run_id, index = found
    if not _finished(catalog, run_id):
        return errors.action_error("RunInProgress",
                                   "Cannot retry a task while the run is still active.")
    squid = catalog.run(run_id).squid_id
    if any(not _finished(catalog, other.run_id) for other in catalog.runs_of(squid)
           if other.run_id != run_id):
        return errors.action_error("ClusterBusy", "Another run is currently active for this squid.")
    if catalog.retry(runtask_hash) is not None:
        return errors.action_error("RetryCooldown",
                                   "This task was retried too recently, please wait a few minutes.")
    row = catalog.row(run_id, index)
    return errors.json_response({"id": runtask_hash, "status": "pending", "is_done": False,
                                 "has_errors": None, "errors": None, "done_reason": None,
                                 "ended_at": None, "params": row["params"]})
