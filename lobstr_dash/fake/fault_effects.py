"""What a matching fault rule does to a response: error statuses, broken bodies, dropped links."""

from __future__ import annotations

import socket
import struct
from collections.abc import Iterator
from typing import Any

from flask import Response, request

from lobstr_dash.fake import errors
from lobstr_dash.fake.faults import FaultRule

GARBAGE = "<html><body><h1>Welcome to nginx!</h1><p>upstream sent junk</p></body></html>"


def status_response(rule: FaultRule, endpoint: str) -> Response:
    """The answer a status (or payload) rule gives: its own payload, else the documented error."""
    response = _status_response(rule, endpoint)
    for name, value in (rule.headers or {}).items():
        response.headers[name] = value
    return response


def _status_response(rule: FaultRule, endpoint: str) -> Response:
    if rule.payload is not None:
        if isinstance(rule.payload, str):
            return Response(rule.payload, status=rule.status or 200, mimetype="application/json")
        return errors.json_response(rule.payload, status=rule.status or 200)
    if rule.status == 404:
        if endpoint in ("runtasks", "run", "stats"):
            return errors.not_found("Run", "run" if endpoint == "runtasks" else "run_hash")
        return errors.not_found("Squid", "squid")
    if rule.status == 400:
        return errors.validation_error("Invalid parameter.", "page")
    return errors.error_response(rule.status or 500, retry_after=rule.retry_after or 1)


def _drop_connection(environ: dict[str, Any]) -> None:
    """Close the client's connection abruptly (RST where the socket is reachable), then end."""
    sock = environ.get("werkzeug.socket")
    if sock is not None:
        try:
            # Linger 0: closing sends a TCP reset instead of an orderly goodbye.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            # Shut both ways now, so neither side waits for more on this connection.
            sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
    # werkzeug's server treats a ConnectionError from the body as a dropped connection and
    # writes nothing more; in-process transports see it as a failed request.
    raise ConnectionResetError("fake lobstr: connection dropped by a fault rule")


def dropped_response(payload: dict[str, Any], *, cut: bool) -> Response:
    """An answer whose connection is dropped: before any byte, or half-way through the body."""
    text = errors.to_json(payload).encode()
    environ = request.environ

    def chunks() -> Iterator[bytes]:
        if cut:
            yield text[: len(text) // 2]
        _drop_connection(environ)

    response = Response(chunks(), status=200, mimetype="application/json")
    response.headers["Content-Length"] = str(len(text))
    return response


def body_response(body: str, payload: dict[str, Any],
                  previous: list[dict[str, Any]] | None = None) -> Response:
    """A 200 response whose body misbehaves as `body` says; `previous` = prior page rows."""
    if body in ("reset", "cut"):
        return dropped_response(payload, cut=body == "cut")
    if body == "garbage":
        return Response(GARBAGE, status=200, mimetype="text/html")
    if body == "truncated":
        text = errors.to_json(payload)
        return Response(text[: len(text) // 2], status=200, mimetype="application/json")
    if body == "wrong_shape":
        return errors.json_response({"results": [], "count": payload.get("total_results", 0)})
    if body == "bare_list":
        return errors.json_response(list(payload.get("data", [])))
    data = list(payload.get("data", []))
    if body == "empty_page":
        return errors.json_response({**payload, "data": []})
    if body == "overlap_rows" and data and previous:
        # The previous page's last rows served again, within the page size (as lobstr would when
        # rows shift between two reads): only a page with room for them changes.
        room = int(payload.get("limit") or len(data)) - len(data)
        shift = min(max(1, len(data) // 5), room)
        if shift > 0:
            data = previous[-shift:] + data
        return errors.json_response({**payload, "data": data})
    if body == "duplicate_rows" and data:
        # Rows re-served from the previous page (as when rows shift between page reads);
        # nothing is dropped, so de-duplicating still yields every row once.
        shift = max(1, len(data) // 5)
        repeated = previous[-shift:] if previous else data[:shift]
        data = repeated + data if previous else data + repeated
        return errors.json_response({**payload, "data": data})
    return errors.json_response(payload)
