"""Response headers that keep pages inert and task URLs private."""

from __future__ import annotations

from typing import Any

from flask import Flask
from flask import Response
from flask import g
from flask import request

from ..web.errors import render_error

# No inline scripts or styles anywhere: htmx is loaded from /static and configured by a meta tag.
CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'", "script-src 'self'", "style-src 'self'", "img-src 'self' data:",
    "connect-src 'self'", "form-action 'self'", "base-uri 'none'", "object-src 'none'",
    "frame-ancestors 'none'",
])

HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    # Task URLs point at scraped sites: following one must not tell the site where it came from.
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def add_security_headers(response: Response) -> Response:
    """Set the security headers on every response; what a signed-in user sees is never cached."""
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    if g.get("user") is not None and request.endpoint != "static":
        # A shared browser or a proxy must not keep (or serve another user) authenticated data.
        response.headers["Cache-Control"] = "no-store"
    return response


def refuse_cross_site_writes() -> Any:
    """403 for a POST (or other write) that a browser says came from another site.

    The refresh form is the only write, and it only re-fetches a run; but with Basic auth on,
    the browser would add the team's credentials to a forged cross-site form. Browsers set
    Sec-Fetch-Site themselves, so this never refuses the app's own forms, whatever the proxy.
    """
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    if request.headers.get("Sec-Fetch-Site") != "cross-site":
        return None
    return render_error(403, "Request from another site refused",
                        "This dashboard only accepts its own forms.", kind="cross_site")


def register_security(app: Flask) -> None:
    """Install the headers on every response of the app, and refuse cross-site writes."""
    app.after_request(add_security_headers)
    app.before_request(refuse_cross_site_writes)
