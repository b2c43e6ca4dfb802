"""Who is asking: the signed-in user or the client's address, so each gets only a share of loads.

The web layer sets it at the start of each request; loads started on that request count against it.
"""

from __future__ import annotations

from contextvars import ContextVar

from ..upstream.errors import LobstrBusy

#: Seconds a refused visitor is told to wait (Retry-After).
BUSY_RETRY_SECONDS = 5.0


class LoadsBusy(LobstrBusy):
    """No load may start now: the process, or this client, runs as many as allowed."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.retry_after = BUSY_RETRY_SECONDS


_client: ContextVar[str] = ContextVar("lobstr_dash_client", default="")


def set_client(name: str) -> None:
    """Record who the current request is from."""
    _client.set(name)


def current_client() -> str:
    """Who the current request is from ('' outside a request: the dashboard itself)."""
    return _client.get()
