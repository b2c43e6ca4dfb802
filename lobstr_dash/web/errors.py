"""Every error becomes a response in one place: a page, an htmx fragment, or JSON."""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask
from flask import jsonify
from flask import make_response
from flask import render_template
from flask import request
from werkzeug.exceptions import HTTPException
from werkzeug.exceptions import MethodNotAllowed

from ..store.health import MESSAGES
from ..upstream.errors import LobstrBusy

from ..upstream.errors import LobstrError
from ..upstream.errors import LobstrRateLimited
from .htmx import is_partial_request
from .querystring import InvalidInput
from .services import services

log = logging.getLogger(__name__)

TITLES = {
    "auth": "lobstr refused this server's token",
    "not_found": "Run not found",
    "rate_limited": "lobstr is rate limiting this dashboard",
    "unavailable": "lobstr is not answering",
    "bad_response": "lobstr answered something unexpected",
    "bad_request": "lobstr rejected the request",
    "busy": "The dashboard is busy",
    "error": "lobstr could not be read",
}
HINTS = {
    "auth": "The LOBSTR_TOKEN configured on this server was rejected or lacks permission. "
            "Whoever runs this dashboard should check it; it is never shown here.",
    "not_found": "Check the run id: lobstr has no run with this id for this account.",
    "rate_limited": "Nothing was lost: what is already loaded stays. Try again in a moment.",
    "unavailable": "Nothing was lost: what is already loaded stays. Try again in a moment.",
    "busy": "Nothing was lost: what is already loaded stays. Try again in a moment.",
}
#: Seconds a client is told to wait after a 503 for a busy dashboard or a failing store.
BUSY_RETRY_AFTER = 5


def wants_json() -> bool:
    """True for the machine-readable routes, which answer errors as JSON."""
    path = request.path
    return path.startswith("/api/") or path.endswith((".json", ".csv", ".txt")) or path == "/healthz"


def render_error(status: int, title: str, message: str, *, kind: str = "error",
                 hint: str | None = None, retry: bool = False,
                 headers: dict[str, str] | None = None) -> Any:
    """Render an error as JSON, an htmx fragment or a full page, with the given status."""
    if wants_json():
        response = jsonify(ok=False, status=status, kind=kind, error=message, title=title)
        response.status_code = status
    else:
        target = request.headers.get("HX-Target") if is_partial_request(request) else None
        template = "partials/_error.html" if target else "error.html"
        retry_url = request.script_root + request.full_path if retry and request.method == "GET" else None
        body = render_template(template, title=title, message=message, hint=hint,
                               retry_url=retry_url, target=target)
        response = make_response(body, status)
    response.headers.update(headers or {})
    response.vary.add("HX-Request")
    return response


def handle_lobstr_error(exc: LobstrError) -> Any:
    """Upstream failures: the upstream's message, the matching status, and a retry link."""
    headers = {}
    if isinstance(exc, LobstrRateLimited) and exc.retry_after:
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))
    elif isinstance(exc, LobstrBusy):
        headers["Retry-After"] = str(round(getattr(exc, "retry_after", 0) or BUSY_RETRY_AFTER))
    elif getattr(exc, "retry_after", None):
        headers["Retry-After"] = str(max(1, round(exc.retry_after)))  # type: ignore[attr-defined]
    message = exc.message if exc.status is None else f"lobstr answered {exc.status}: {exc.message}"
    log.warning("upstream error on %s: %s", request.path, exc)
    return render_error(exc.response_status, TITLES.get(exc.kind, TITLES["error"]), message,
                        kind=exc.kind, hint=HINTS.get(exc.kind),
                        retry=exc.response_status >= 500, headers=headers)


def handle_invalid_input(exc: InvalidInput) -> Any:
    """Bad user input: 400 with what was expected; nothing was sent upstream."""
    return render_error(400, "That request can't be read", str(exc), kind="invalid_input")


def handle_http_exception(exc: HTTPException) -> Any:
    """Werkzeug's 404, 405 and friends, in our formats (a 405 says which methods are allowed)."""
    headers = {}
    if isinstance(exc, MethodNotAllowed) and exc.valid_methods:
        headers["Allow"] = ", ".join(sorted(exc.valid_methods))
    return render_error(exc.code or 500, exc.name, exc.description or exc.name, kind="http",
                        headers=headers)


def handle_store_fault(kind: str) -> Any:
    """The dashboard's own store failed: say so (503), never blame lobstr."""
    log.error("store fault (%s) on %s", kind, request.path)
    return render_error(503, "The dashboard's store failed", MESSAGES[kind] + ".",
                        kind="store_" + kind, retry=True,
                        headers={"Retry-After": str(BUSY_RETRY_AFTER)})


def handle_unexpected(exc: Exception) -> Any:
    """A bug: log the traceback on the server, show the user a plain message."""
    if isinstance(exc, HTTPException):
        return handle_http_exception(exc)
    kind = services().store.guard(exc)  # a corrupt store is dropped and rebuilt here
    if kind is not None:
        return handle_store_fault(kind)
    log.exception("unhandled error on %s", request.path)
    return render_error(500, "Something went wrong in the dashboard",
                        "The error was logged on the server. Nothing in lobstr was changed.",
                        retry=True)


def register_error_handlers(app: Flask) -> None:
    """Install the handlers above."""
    app.register_error_handler(LobstrError, handle_lobstr_error)
    app.register_error_handler(InvalidInput, handle_invalid_input)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
