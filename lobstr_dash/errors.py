"""The errors the lobstr client raises; every upstream failure becomes one of these."""

from __future__ import annotations


class LobstrError(Exception):
    """An upstream call failed; `message` is safe to show to a user."""

    #: HTTP status the dashboard answers with when this error reaches a view.
    response_status = 502
    #: Short label for pages, logs and the load state kept in the store.
    kind = "error"

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


#: Error kinds by their `kind` label, to rebuild an error recorded in the store.
ERRORS_BY_KIND: dict[str, type[LobstrError]] = {
    cls.kind: cls
    for cls in (LobstrError, LobstrAuthError, LobstrNotFound, LobstrBadRequest,
                LobstrRateLimited, LobstrUnavailable, LobstrBadResponse)
}
