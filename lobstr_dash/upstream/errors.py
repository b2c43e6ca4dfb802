"""The errors the lobstr client raises (every upstream failure becomes one), and reading error bodies."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

#: Longest upstream message shown to a user.
MAX_MESSAGE = 300


class LobstrError(Exception):
    """An upstream call failed; `message` is safe to show to a user."""

    #: HTTP status the dashboard answers with when this error reaches a view.
    response_status = 502
    #: Short label for pages, logs and the load state kept in the store.
    kind = "error"
    #: False when asking again cannot help (an answer too large, a redirect): no retry.
    retryable = True

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status

    def __str__(self) -> str:
        prefix = f"[{self.status}] " if self.status else ""
        return f"{prefix}{self.message}"


class LobstrAuthError(LobstrError):
    """lobstr refused the server's token (401) or its permissions (403)."""

    response_status = 502
    kind = "auth"


class LobstrNotFound(LobstrError):
    """lobstr does not know the run (or other object) asked for."""

    response_status = 404
    kind = "not_found"


class LobstrBadRequest(LobstrError):
    """lobstr rejected the request's parameters (400)."""

    response_status = 400
    kind = "bad_request"


class LobstrRateLimited(LobstrError):
    """lobstr kept answering 429 past the retry budget."""

    response_status = 503
    kind = "rate_limited"

    def __init__(self, message: str, *, status: int | None = 429,
                 retry_after: float | None = None) -> None:
        super().__init__(message, status=status)
        self.retry_after = retry_after


class LobstrUnavailable(LobstrError):
    """lobstr answered 5xx, timed out or could not be reached, past the retry budget."""

    response_status = 503
    kind = "unavailable"


class LobstrBadResponse(LobstrError):
    """lobstr answered something that is not JSON or not the documented shape."""

    response_status = 502
    kind = "bad_response"

    def __init__(self, message: str, *, status: int | None = None,
                 retryable: bool | None = None) -> None:
        super().__init__(message, status=status)
        if retryable is not None:
            self.retryable = retryable


class LobstrBusy(LobstrUnavailable):
    """The dashboard already has as many requests waiting on lobstr as it allows."""

    kind = "busy"


#: Error kinds by their `kind` label, to rebuild an error recorded in the store.
ERRORS_BY_KIND: dict[str, type[LobstrError]] = {
    cls.kind: cls
    for cls in (LobstrError, LobstrAuthError, LobstrNotFound, LobstrBadRequest,
                LobstrRateLimited, LobstrUnavailable, LobstrBadResponse, LobstrBusy)
}


def error_message(body: Any, fallback: str) -> str:
    """Read a readable message from any of lobstr's four documented error body shapes."""
    message = _find_message(body, fallback)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


def _find_message(body: Any, fallback: str) -> str:
    if isinstance(body, Mapping):
        detail = body.get("detail")
        if isinstance(detail, str) and detail.strip():
            return detail.strip()
        for key in ("error", "errors"):
            value = body.get(key)
            if isinstance(value, str) and value.strip():
                return value.strip()
            if isinstance(value, Mapping):
                message = value.get("message")
                if isinstance(message, str) and message.strip():
                    return message.strip()
        message = body.get("message")
        if isinstance(message, str) and message.strip():
            return message.strip()
    return fallback
