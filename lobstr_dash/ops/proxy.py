"""Running behind a reverse proxy: a URL prefix, and trusting X-Forwarded-* when told to.

Two ways to serve under a sub-path such as /lobstr, both ending in WSGI's SCRIPT_NAME, from which
`url_for` builds every link, form, htmx URL, static file and redirect:
- the proxy forwards the full path (/lobstr/runs/…): set `URL_PREFIX=/lobstr`;
- the proxy strips the prefix and says so in `X-Forwarded-Prefix`: set `PROXY_FIX=1` and
  `PROXY_TRUST_PREFIX=1` (the proxy must overwrite the header).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING
from typing import Any

from werkzeug.middleware.proxy_fix import ProxyFix

from ..config import ConfigError
from ..config import normalize_prefix
from .security import HEADERS

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse
    from _typeshed.wsgi import WSGIApplication
    from _typeshed.wsgi import WSGIEnvironment


class PrefixMiddleware:
    """Serve the app under `prefix`: move it from PATH_INFO to SCRIPT_NAME; 404 outside it."""

    def __init__(self, app: WSGIApplication, prefix: str) -> None:
        self.app = app
        self.prefix = prefix.rstrip("/")

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "") or "/"
        if path == self.prefix or path.startswith(self.prefix + "/"):
            environ["SCRIPT_NAME"] = environ.get("SCRIPT_NAME", "") + self.prefix
            environ["PATH_INFO"] = path[len(self.prefix):] or "/"
            return self.app(environ, start_response)
        root = environ.get("SCRIPT_NAME", "")
        if path == "/":
            # Someone opened the bare host: send them to the dashboard rather than a dead end.
            return self._answer(start_response, "302 Found", f"Go to {root}{self.prefix}/\n",
                                [("Location", f"{root}{self.prefix}/")])
        return self._answer(start_response, "404 Not Found",
                            f"Not found: this dashboard is served under {root}{self.prefix}/\n", [])

    @staticmethod
    def _answer(start_response: StartResponse, status: str, text: str,
                extra: list[tuple[str, str]]) -> Iterable[bytes]:
        body = text.encode()
        headers = [("Content-Type", "text/plain; charset=utf-8"), ("Content-Length", str(len(body))),
                   *HEADERS.items(), *extra]
        start_response(status, headers)
        return [body]


def wrap_for_proxy(app: Any, config: dict[str, Any]) -> Any:
    """Return `app` (a WSGI callable) wrapped for the configured prefix and trusted proxies."""
    prefix = config.get("URL_PREFIX") or ""
    if prefix:
        app = PrefixMiddleware(app, prefix)
    hops = int(config.get("PROXY_FIX") or 0)
    if hops:
        # Outermost: the client's address, scheme, host and any X-Forwarded-Prefix are settled
        # before the prefix is matched, the user is checked and the request is logged. The host
        # and the prefix go into every link and redirect, so they are trusted only when the
        # proxy is said to overwrite them: a client could otherwise send its own.
        host = hops if config.get("PROXY_TRUST_HOST") else 0
        prefix = hops if config.get("PROXY_TRUST_PREFIX") else 0
        if prefix:
            app = SafePrefix(app)
        app = ProxyFix(app, x_for=hops, x_proto=hops, x_host=host, x_port=host, x_prefix=prefix)
    return app


class SafePrefix:
    """Drop a forwarded prefix that is not a plain path (`//host`, a backslash, a scheme)."""

    def __init__(self, app: WSGIApplication) -> None:
        self.app = app

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        script = environ.get("SCRIPT_NAME", "")
        if script:
            try:
                normalize_prefix(script)
                plain = script.startswith("/") and not script.startswith("//")
            except ConfigError:
                plain = False
            if not plain:
                environ["SCRIPT_NAME"] = ""
        return self.app(environ, start_response)
