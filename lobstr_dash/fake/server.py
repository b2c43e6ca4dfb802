"""Serve a fake app on a loopback port from a background thread."""

from __future__ import annotations

import threading
from collections.abc import Callable

from flask import Flask
from werkzeug.serving import make_server


def serve_in_thread(app: Flask, host: str = "127.0.0.1", port: int = 0
                    ) -> tuple[str, Callable[[], None]]:
    """Start a threaded werkzeug server; return its "/v1" base URL and a stop function."""
    server = make_server(host, port, app, threaded=True)
    # A short poll interval keeps stop() fast, which matters for test suites.
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              name="fake-lobstr", daemon=True)
    thread.start()

    def stop() -> None:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

    return f"http://{host}:{server.server_port}/v1", stop
