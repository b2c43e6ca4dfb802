"""A requests transport adapter that answers from a WSGI app in-process (demo mode's fake lobstr)."""

from __future__ import annotations

from io import BytesIO
from typing import Any

import requests
from requests.adapters import BaseAdapter
from requests.structures import CaseInsensitiveDict
from werkzeug.test import EnvironBuilder
from werkzeug.test import run_wsgi_app
from werkzeug.wrappers import Response as WerkzeugResponse


class WSGIAdapter(BaseAdapter):
    """Send requests to a WSGI application instead of the network, keeping the HTTP semantics."""

    def __init__(self, app: Any) -> None:
        super().__init__()
        self.app = app

    def send(self, request: requests.PreparedRequest, stream: bool = False, timeout: Any = None,
             verify: Any = True, cert: Any = None, proxies: Any = None) -> requests.Response:
        """Run the request through the app and build a requests.Response from its answer."""
        body = request.body.encode() if isinstance(request.body, str) else request.body
        builder = EnvironBuilder(method=request.method, path=request.path_url,
                                 base_url=self._base(request.url or ""),
                                 headers=dict(request.headers), data=body or b"")
        try:
            environ = builder.get_environ()
        finally:
            builder.close()
        try:
            app_iter, status, headers = run_wsgi_app(self.app, environ, buffered=True)
        except OSError as exc:
            # The app dropped the "connection" (the fake's reset fault): what a socket would raise.
            raise requests.ConnectionError(exc, request=request) from exc
        answer = WerkzeugResponse(app_iter, status, headers)
        response = requests.Response()
        response.status_code = answer.status_code
        response.reason = answer.status.split(" ", 1)[1] if " " in answer.status else ""
        response.headers = CaseInsensitiveDict(answer.headers.items())
        response.raw = BytesIO(answer.get_data())
        response.url = request.url or ""
        response.request = request
        response.encoding = requests.utils.get_encoding_from_headers(response.headers)
        return response

    @staticmethod
    def _base(url: str) -> str:
        scheme, rest = url.split("://", 1)
        return f"{scheme}://{rest.split('/', 1)[0]}"

    def close(self) -> None:
        """Nothing to release: no sockets are opened."""
