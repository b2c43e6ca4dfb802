"""Per-request pipeline of the fake: latency, auth, rate limit, faults and request log."""

from __future__ import annotations

import random
import time

from flask import Response, current_app, g, request

from lobstr_dash.fake import errors
from lobstr_dash.fake.fault_effects import status_response
from lobstr_dash.fake.state import FakeState, RequestRecord

LIST_ENDPOINTS = ("runtasks", "runs", "squids")
#: Paths of the fake's own tooling (e.g. /_fake/stats): no latency, auth or limit, and not logged.
TOOLING_PREFIX = "/_fake/"


def fake_state() -> FakeState:
    """The fake's state of the current app."""
    return current_app.extensions["fake"]


def _base_url() -> str:
    return request.host_url.rstrip("/") + request.path


def _query() -> list[tuple[str, str]]:
    return list(request.args.items(multi=True))


def _request_page() -> int | None:
    raw = request.args.get("page")
    if raw is None:
        return 1 if request.endpoint in LIST_ENDPOINTS else None
    try:
        return int(raw)
    except ValueError:
        return None


def _check_token(tokens: set[str] | None) -> Response | None:
    """401 unless the Authorization header carries an accepted `Token <key>`."""
    header = request.headers.get("Authorization", "")
    keyword, _, key = header.strip().partition(" ")
    # Like DRF's TokenAuthentication: another scheme means "no credentials".
    if keyword.lower() != "token":
        return errors.error_response(401, message=errors.NOT_PROVIDED)
    key = key.strip()
    if not key:
        return errors.error_response(401, message="Invalid token header. No credentials provided.")
    if tokens is not None and key not in tokens:
        return errors.error_response(401, message=errors.INVALID_TOKEN)
    return None


def _sleep_ms(milliseconds: float) -> None:
    if milliseconds > 0:
        time.sleep(milliseconds / 1000.0)


def before_request() -> Response | None:
    """Sleep, authenticate, rate-limit and pick a fault rule; a response ends the request."""
    if request.path.startswith(TOOLING_PREFIX):
        return None
    state = fake_state()
    config = state.config
    g.fake_run = request.args.get("run") or (request.view_args or {}).get("run_hash")
    g.fake_page = _request_page()
    g.fake_rule = None
    g.fake_limit = None
    # The shared `random` is touched only when asked: property-based tests that serve the fake
    # from a thread treat any change of its state while they draw examples as an error.
    jitter = (random.uniform(-config.latency_jitter_ms, config.latency_jitter_ms)
              if config.latency_jitter_ms else 0.0)
    _sleep_ms(config.latency_ms + jitter)
    if not request.path.startswith("/v1/"):
        return None
    denied = _check_token(config.tokens)
    if denied is not None:
        return denied
    if state.limiter is not None:
        token = request.headers.get("Authorization", "").partition(" ")[2].strip()
        # lobstr documents a limit per endpoint (runtasks 90/min, runs 120/min…): one window
        # per token and endpoint family.
        family = request.path[len("/v1/"):].split("/", 1)[0]
        g.fake_limit = state.limiter.hit(f"{token} {family}")
        if not g.fake_limit.allowed:
            return errors.error_response(429, retry_after=g.fake_limit.retry_after)
    if request.endpoint is None:
        return None
    rule = state.faults.take(request.endpoint, g.fake_run, g.fake_page)
    if request.endpoint == "runtasks":
        # Tests hold pages back (a load in flight) or change a run between pages.
        if state.hold is not None:
            state.note_held()
            state.hold.wait(10)
        if state.before_page is not None:
            state.before_page(g.fake_run, g.fake_page)
    if rule is None:
        return None
    _sleep_ms(rule.delay_ms)
    if rule.status is not None or rule.payload is not None:
        return status_response(rule, request.endpoint)
    g.fake_rule = rule
    return None


def after_request(response: Response) -> Response:
    """Add rate-limit headers and log the answered request."""
    if request.path.startswith(TOOLING_PREFIX):
        return response
    state = fake_state()
    decision = g.get("fake_limit")
    if decision is not None:
        for name, value in decision.headers().items():
            response.headers[name] = value
    state.record(RequestRecord(
        method=request.method,
        path=request.path,
        endpoint=request.endpoint,
        args=dict(request.args),
        status=response.status_code,
        run=g.get("fake_run"),
        page=g.get("fake_page"),
        token=request.headers.get("Authorization", ""),
        at=state.config.clock(),
    ))
    return response
