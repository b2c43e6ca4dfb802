"""The errors the lobstr client raises (every upstream failure becomes one), and reading error bodies."""

from __future__ import annotations

import re
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

    def __init__(self, message: str, *, status: int | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        #: lobstr's error type when it gave one (`RunNotAborted`, `RetryCooldown`, `Throttled`…).
        self.code = code

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
                 retry_after: float | None = None, code: str | None = None) -> None:
        super().__init__(message, status=status, code=code)
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
    """The sentence of an error body, in any shape lobstr documents (see `_find_message`)."""
    message = _find_message(body, fallback)
    return message if len(message) <= MAX_MESSAGE else message[: MAX_MESSAGE - 1] + "…"


#: A code-like token: lobstr's error types are CamelCase or snake_case words.
_CODE = re.compile(r"[A-Za-z][A-Za-z0-9_]{1,63}")


def _text(value: Any) -> str | None:
    return value.strip() if isinstance(value, str) and value.strip() else None


def _find_message(body: Any, fallback: str) -> str:
    """The human sentence, from whichever shape the body has:

    - `{"errors": {"message", "type", "code"}}` (the current docs: every error);
    - `{"error": "<Code>", "message": "<sentence>"}` (the action endpoints);
    - `{"detail": "<sentence>"}`, `{"error": {"message", "type", "param"}}`,
      `{"error": "<sentence>", "type", "code"}` (older pages).
    """
    if not isinstance(body, Mapping):
        return fallback
    detail = _text(body.get("detail"))
    if detail:
        return detail
    for key in ("errors", "error"):
        value = body.get(key)
        if isinstance(value, Mapping) and _text(value.get("message")):
            return _text(value.get("message"))  # type: ignore[return-value]
    message = _text(body.get("message"))
    if message:
        return message  # beside "error": "<Code>", the sentence is here
    for key in ("error", "errors"):
        value = _text(body.get(key))
        if value:
            return value
    return fallback


def error_code(body: Any) -> str | None:
    """lobstr's error type, when the body names one (`errors.type`, `error.type`, or a flat
    `error` that is a code beside a `message`)."""
    if not isinstance(body, Mapping):
        return None
    for key in ("errors", "error"):
        value = body.get(key)
        if isinstance(value, Mapping):
            kind = _text(value.get("type"))
            if kind and _CODE.fullmatch(kind):
                return kind
    flat = _text(body.get("error"))
    if flat and _text(body.get("message")) and _CODE.fullmatch(flat):
        return flat
    kind = _text(body.get("type"))
    return kind if kind and _CODE.fullmatch(kind) else None
