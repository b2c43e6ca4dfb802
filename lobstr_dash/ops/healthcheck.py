"""The container's HEALTHCHECK: `python -m lobstr_dash.ops.healthcheck` exits 0 when /healthz answers.

It asks the server in this container on the port and URL prefix the app was configured with, so
setting URL_PREFIX or PORT needs no change to the image. /healthz is open even with auth on.
"""

from __future__ import annotations

import json
import os
import sys
import urllib.request

from ..config import normalize_prefix


def healthz_url(environ: dict[str, str] | os._Environ[str] = os.environ) -> str:
    """The loopback URL of /healthz for this configuration."""
    bind = environ.get("BIND") or f"0.0.0.0:{environ.get('PORT') or '8000'}"
    port = bind.rsplit(":", 1)[-1]
    prefix = normalize_prefix(environ.get("URL_PREFIX") or "")
    return f"http://127.0.0.1:{port}{prefix}/healthz"


def main() -> int:
    """Exit 0 when /healthz says ok within 4 s, else 1 with the reason on stderr."""
    url = healthz_url()
    try:
        with urllib.request.urlopen(url, timeout=4) as response:  # noqa: S310 (a fixed http URL)
            ok = json.load(response).get("ok") is True
    except Exception as exc:  # any failure is simply "unhealthy"
        print(f"unhealthy: {url}: {exc}", file=sys.stderr)
        return 1
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
