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
    payload = envelope(rows, catalog.total(run_id), page, limit, _base_url(), _query())
    return _respond(payload, previous)


def run_detail(run_hash: str) -> Response:
    """GET /v1/runs/<run_hash>."""
    catalog = fake_state().catalog
    info = catalog.run(run_hash)
    if info is None:
        return errors.not_found("Run", "run_hash")
    return _respond(run_object(catalog, info))


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
    return _respond(envelope(data, len(infos), page, limit, _base_url(), _query()))


def squids() -> Response:
    """GET /v1/squids?name=&page=&limit= (name is a case-insensitive substring)."""
    catalog = fake_state().catalog
    page, limit = parse_paging(request.args)
    name = (request.args.get("name") or "").lower()
    found = [s for s in catalog.squids() if name in s.name.lower()]
    chunk = found[(page - 1) * limit : page * limit]
    data = [squid_object(catalog, squid) for squid in chunk]
    return _respond(envelope(data, len(found), page, limit, _base_url(), _query()))


def squid_detail(squid_hash: str) -> Response:
    """GET /v1/squids/<squid_hash>."""
    catalog = fake_state().catalog
    squid = catalog.squid(squid_hash)
    if squid is None:
        return errors.not_found("Squid", "squid_hash")
    return _respond(squid_object(catalog, squid, detail=True))
