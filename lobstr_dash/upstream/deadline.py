"""One wall-clock deadline per upstream attempt, enforced on the socket itself.

requests' timeouts bound each read, not the whole answer: a server that sends one byte every
couple of seconds (headers or body) never trips them and can hold a thread for ever. Here every
connection that sends a request registers with the attempt's `Deadline`; when the deadline passes,
a timer shuts the sockets down, so whatever read is blocked returns at once and the attempt fails.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

import requests
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
from urllib3.connection import HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool
from urllib3.connectionpool import HTTPSConnectionPool

_current = threading.local()


class Deadline:
    """The end of one attempt: connections used meanwhile are cut when it passes."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + max(0.0, seconds)
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(max(0.0, seconds), self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _current.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._timer.cancel()
        _current.deadline = None

    @property
    def remaining(self) -> float:
        """Seconds left (never below zero)."""
        return max(0.0, self.at - time.monotonic())

    @property
    def passed(self) -> bool:
        """True once the deadline has passed (whether or not the timer fired yet)."""
        return self.expired or time.monotonic() >= self.at

    def watch(self, sock: socket.socket) -> None:
        """Cut this socket too if the deadline passes while it is in use."""
        with self._lock:
            if self.expired:
                _shut(sock)
            self._sockets.append(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    """Shut a socket both ways: a blocked recv returns at once, and the pool drops it."""
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _watch_current(sock: socket.socket | None) -> None:
    """Register a socket with the current thread's deadline (the response reads from the same
    socket even after http.client lets go of it, so the socket is what gets watched)."""
    deadline: Deadline | None = getattr(_current, "deadline", None)
    if deadline is not None and sock is not None:
        deadline.watch(sock)


class _WatchedHTTPConnection(HTTPConnection):
    def connect(self) -> None:
        super().connect()
        _watch_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _watch_current(self.sock)  # a kept-alive connection: connect() is not called again
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(HTTPSConnection):
    def connect(self) -> None:
        super().connect()
        _watch_current(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:  # type: ignore[override]
        _watch_current(self.sock)
        super().request(*args, **kwargs)


class _WatchedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _WatchedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter whose connections are cut when their attempt's Deadline passes."""

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        """Build the pool manager with connections that register with the current deadline."""
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool,
                                                   "https": _WatchedHTTPSPool}


def deadline_session() -> requests.Session:
    """A requests session whose http and https calls obey the current attempt's Deadline."""
    session = requests.Session()
    session.mount("http://", DeadlineAdapter())
    session.mount("https://", DeadlineAdapter())
    return session
