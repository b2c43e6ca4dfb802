"""One log line per request, with its duration, written when its last byte has gone out.

A WSGI middleware rather than a Flask hook: a CSV export streams for a while after the view
returns, and the line should say how long the whole answer took. It logs the path without the
query string, the status, the bytes sent, the user when one signed in, and nothing from the
request's or the upstream's headers, so neither a password nor the lobstr token can reach it.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Iterator
from typing import TYPE_CHECKING
from typing import Any

from .metrics import ENVIRON_ROUTE
from .metrics import UNMATCHED

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment

log = logging.getLogger("lobstr_dash.request")

#: Where access control leaves the signed-in user's name for this log.
ENVIRON_USER = "lobstr_dash.user"

Observer = Callable[[str, str, str, float], None]


#: The webhook's path holds its secret: whatever follows this prefix is never logged.
_SECRET_PATH = re.compile(r"(/hooks/lobstr/)[^/]*")


def mask_secrets(path: str) -> str:
    """The path with the webhook secret replaced by `…` (a wrong guess is masked too)."""
    return _SECRET_PATH.sub(r"\1…", path)


def printable(text: str, limit: int = 300) -> str:
    """Escape control characters (a decoded %0A must not forge a log line) and cap the length."""
    text = text if len(text) <= limit else text[:limit] + "…"
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text)


class _Body:
    """The response body, passed through; counts bytes and reports once, when done or closed."""

    def __init__(self, body: Iterable[bytes], done: Callable[[int], None]) -> None:
        self._body = body
        self._done = done
        self._sent = 0
        self._reported = False

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._body:
            self._sent += len(chunk)
            yield chunk
        self._report()

    def close(self) -> None:
        try:
            close = getattr(self._body, "close", None)
            if close is not None:
                close()
        finally:
            self._report()

    def _report(self) -> None:
        if not self._reported:
            self._reported = True
            self._done(self._sent)


class RequestLog:
    """Log each request and hand its route, status and duration to an observer (the metrics)."""

    def __init__(self, app: WSGIApplication, observer: Observer | None = None,
                 logger: logging.Logger = log) -> None:
        self.app = app
        self.observer = observer
        self.logger = logger

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        started = time.perf_counter()
        status = ["500"]

        def recording_start_response(code: str, headers: Any, exc_info: Any = None) -> Any:
            status[0] = code.split(" ", 1)[0]
            return start_response(code, headers, exc_info)

        def done(sent: int) -> None:
            self._finish(environ, status[0], sent, time.perf_counter() - started)

        try:
            body = self.app(environ, recording_start_response)
        except BaseException:
            done(0)
            raise
        return _Body(body, done)

    def _finish(self, environ: WSGIEnvironment, status: str, sent: int, seconds: float) -> None:
        method = environ.get("REQUEST_METHOD", "-")
        if self.observer is not None:
            # Inner middleware (the prefix, ProxyFix) changed `environ` in place, and Flask left
            # the URL rule in it: the route label is the rule, never the raw URL.
            self.observer(environ.get(ENVIRON_ROUTE, UNMATCHED), method, status, seconds)
        if self.logger.isEnabledFor(logging.INFO):
            path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
            user = environ.get(ENVIRON_USER)
            self.logger.info("%s %s %s %dB %.1fms user=%s addr=%s", method,
                             printable(mask_secrets(path)), status,
                             sent, seconds * 1000, printable(user, 64) if user else "-",
                             environ.get("REMOTE_ADDR", "-"))
