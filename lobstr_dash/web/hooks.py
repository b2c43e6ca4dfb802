"""The webhook receiver: `POST /hooks/lobstr/<secret>`, lobstr's run events in, 202 at once.

Registered only when LOBSTR_WEBHOOK_SECRET is set. lobstr signs nothing, so the path's secret is
the only proof of the sender: it is compared in constant time, a wrong one is a plain 404, and the
secret never appears in a log line (the request log masks it) or an answer. The body only names a
run: it is checked for shape, recorded once per (run, event), and acted on in the background
after the run is read from lobstr itself. Every answer is JSON, and nothing here is ever a 5xx
except a store that cannot be written (503: lobstr then retries).
"""

from __future__ import annotations

import hmac
import json
import logging
from typing import Any

from flask import Blueprint
from flask import Response
from flask import abort
from flask import current_app
from flask import jsonify
from flask import request

from ..loading.hooks import EVENTS
from .querystring import is_run_id
from .services import services

log = logging.getLogger(__name__)

bp = Blueprint("hooks", __name__)

#: lobstr's payload is about 200 bytes; anything far larger is not lobstr.
MAX_BODY = 16 * 1024
#: The path's prefix (the request log masks what follows it).
PREFIX = "/hooks/lobstr/"


def _answer(status: int, **body: Any) -> Response:
    response = jsonify(ok=status < 400, **body)
    response.status_code = status
    response.headers["Cache-Control"] = "no-store"
    return response


def _secret_matches(given: str) -> bool:
    expected = str(current_app.config["LOBSTR_WEBHOOK_SECRET"])
    return hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


def _payload() -> tuple[dict[str, Any] | None, str | None]:
    """The JSON object of the body, or an error sentence."""
    if request.content_length is not None and request.content_length > MAX_BODY:
        return None, f"the body is larger than {MAX_BODY} bytes"
    raw = request.stream.read(MAX_BODY + 1)
    if len(raw) > MAX_BODY:
        return None, f"the body is larger than {MAX_BODY} bytes"
    try:
        body = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError):
        return None, "the body is not JSON"
    if not isinstance(body, dict):
        return None, "the body is not a JSON object"
    return body, None


@bp.route(f"{PREFIX}<secret>", methods=["GET", "POST"])
def receive(secret: str) -> Any:
    """Record a lobstr run event and answer 202; the work happens in the background."""
    if not _secret_matches(secret):
        abort(404)
    if request.method != "POST":
        response = _answer(405, error="POST lobstr's webhook here.")
        response.headers["Allow"] = "POST"
        return response
    body, error = _payload()
    if body is None:
        return _answer(413 if error and "larger" in error else 400, error=error)
    run_id = body.get("id")
    event = body.get("event")
    if not isinstance(run_id, str) or not is_run_id(run_id.strip().lower()):
        return _answer(400, error="`id` must be a run id (32 hexadecimal characters)")
    run_id = run_id.strip().lower()
    if body.get("object", "run") != "run":
        log.info("webhook ignored: object %r is not a run", str(body.get("object"))[:40])
        return _answer(200, accepted=False, ignored="only run events are handled")
    if event not in EVENTS:
        log.info("webhook for run %s ignored: unknown event %r", run_id, str(event)[:40])
        return _answer(200, accepted=False, run=run_id,
                       ignored=f"unknown event; handled: {', '.join(EVENTS)}")
    squid = body.get("squid")
    hint = squid.get("id") if isinstance(squid, dict) else None
    hint = hint[:64] if isinstance(hint, str) else None
    alerting = services().alerting
    assert alerting is not None  # the blueprint is only registered with alerting on
    try:
        if alerting.full():
            response = _answer(429, error="too many events wait to be handled; try again later")
            response.headers["Retry-After"] = "900"
            return response
        added = alerting.accept(run_id, event, "webhook", hint)
    except Exception as exc:  # the store could not be written (disk full, locked too long)
        log.error("webhook for run %s could not be recorded: %s", run_id, exc)
        response = _answer(503, error="the dashboard cannot record events right now")
        response.headers["Retry-After"] = "60"
        return response
    log.info("webhook %s for run %s %s", event, run_id, "accepted" if added else "already known")
    return _answer(202, accepted=True, duplicate=not added, run=run_id, event=event)
