"""Real parts for the alert tests: a JSON sink and an SMTP server on loopback, a served dashboard.

`JsonSink` is an HTTP server that records every POST (Apprise's json:// channel) and can be told
to fail the next N; `SmtpSink` is aiosmtpd in this process (the mailto:// channel);
`serve_app` puts a dashboard on a loopback port without logging request lines (they would hold
the webhook secret: gunicorn's access log is off in production for the same reason).
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler
from http.server import ThreadingHTTPServer
from typing import Any

from werkzeug.serving import WSGIRequestHandler
from werkzeug.serving import make_server

from support import RUN
from support import make_rows

SECRET = "hook-secret-3f9a1c7e5b2d4a60"
SQUID = "5quid0000000000000000000000000a1"
SQUID_NAME = "Maps – test squid"


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class JsonSink:
    """An HTTP server that keeps every JSON body POSTed to it; `fail_next(n)` answers 500 n times."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []
        self.attempts = 0
        self._failures = 0
        self._lock = threading.Lock()
        sink = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                with sink._lock:
                    sink.attempts += 1
                    failing = sink._failures > 0
                    if failing:
                        sink._failures -= 1
                    else:
                        sink.received.append(json.loads(body))
                self.send_response(500 if failing else 200)
                self.end_headers()

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever,
                                       kwargs={"poll_interval": 0.05}, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        """The Apprise URL of this sink."""
        return f"json://127.0.0.1:{self.server.server_port}/alerts"

    def fail_next(self, times: int) -> None:
        """Answer 500 to the next `times` POSTs."""
        with self._lock:
            self._failures = times

    def wait_for(self, count: int, timeout: float = 60.0) -> list[dict[str, Any]]:
        """Wait until `count` messages arrived (or the timeout); return what arrived."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and len(self.received) < count:
            time.sleep(0.02)
        return list(self.received)

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class SmtpSink:
    """aiosmtpd on a loopback port; keeps every message it is given."""

    def __init__(self) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Message] = []
        self.envelopes: list[tuple[str, list[str]]] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                sink.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
                sink.messages.append(message_from_bytes(envelope.original_content
                                                        or envelope.content))
                return "250 Message accepted for delivery"

        self.port = free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def url(self, to: str = "team@example.com") -> str:
        """The Apprise mailto:// URL of this server (no TLS, no login: loopback only)."""
        return (f"mailto://127.0.0.1:{self.port}?from=lobstr-dash@example.com&to={to}"
                "&mode=insecure")

    def close(self) -> None:
        self.controller.stop()


class _QuietHandler(WSGIRequestHandler):
    def log_request(self, *args: Any, **kwargs: Any) -> None:
        pass


@contextmanager
def serve_app(app: Any) -> Iterator[str]:
    """Serve a dashboard on a loopback port for the block; yields its base URL."""
    server = make_server("127.0.0.1", 0, app, threaded=True, request_handler=_QuietHandler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


def short_run(fake: Any, run_id: str = RUN, *, status: str = "done",
              done_reason: str | None = "tasks_done", rows: int = 30,
              short_every: int = 3, started_at: float | None = None) -> list[dict[str, Any]]:
    """Add a whole run of the test squid to a fake: every `short_every`-th task aborted short."""
    catalog = fake.state.catalog
    if catalog.squid(SQUID) is None:
        catalog.put_squid(SQUID, SQUID_NAME)
    return catalog.put_run(run_id, SQUID, make_rows(run_id, rows, short_every=short_every),
                           status=status, done_reason=done_reason, started_at=started_at)


def hook_body(run_id: str = RUN, event: str = "run.done") -> dict[str, Any]:
    """lobstr's webhook payload for a run's event."""
    return {"id": run_id, "object": "run", "event": event,
            "squid": {"id": SQUID, "name": SQUID_NAME}, "timestamp": "2026/11/28 21:48:49"}


def wait_until(check: Callable[[], Any], timeout: float = 30.0) -> Any:
    """Poll `check` until it returns something truthy; return that (AssertionError on timeout)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.02)
    raise AssertionError(f"not true within {timeout:.0f} s")
