"""htmx request helpers: is this a partial request, and which part of the page does it want."""

from __future__ import annotations

from flask import Request
from flask import Response


def is_partial_request(request: Request) -> bool:
    """True for an htmx request that swaps a fragment (not a history restore, which needs a page)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


def partial_target(request: Request, allowed: frozenset[str]) -> str | None:
    """Return the id of the element an htmx request will swap, if it is one the view renders alone."""
    if not is_partial_request(request):
        return None
    target = request.headers.get("HX-Target") or ""
    return target if target in allowed else None


def vary_on_htmx(response: Response) -> Response:
    """Mark a response that differs for htmx requests, so caches keep the page and fragment apart."""
    response.vary.add("HX-Request")
    response.vary.add("HX-Target")
    return response
