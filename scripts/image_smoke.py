"""Check a running lobstr-dash container from outside it (scripts/image-check.sh runs this).

Standard library only, so it runs with any python3 on the host. Usage:
    python3 scripts/image_smoke.py BASE_URL [--user NAME --password PW] [--htmx-sha256 HEX]
BASE_URL includes the URL prefix, e.g. http://127.0.0.1:8123/lobstr. Exits non-zero on the first
failed check, saying which.
"""

from __future__ import annotations

import argparse
import base64
from email.message import Message
import hashlib
import json
import re
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

SECURITY_HEADERS = {
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class CheckFailed(Exception):
    """One check did not hold."""


class NoRedirect(urllib.request.HTTPRedirectHandler):
    """Let the checks see redirects instead of following them."""

    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


OPENER = urllib.request.build_opener(NoRedirect)


def get(url: str, auth: str | None = None) -> tuple[int, Message, bytes]:
    """GET a URL; return status, headers (names in any case, as HTTP says) and body, for error
    statuses too."""
    request = urllib.request.Request(url)  # noqa: S310 (loopback http URL given by the script)
    if auth:
        request.add_header("Authorization", "Basic " + base64.b64encode(auth.encode()).decode())
    try:
        with OPENER.open(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def check(condition: bool, what: str) -> None:
    """Raise CheckFailed with `what` unless `condition`."""
    if not condition:
        raise CheckFailed(what)
    print(f"  ok  {what}")


def wait_healthy(base: str, seconds: float) -> None:
    """Poll /healthz until it answers ok."""
    deadline = time.monotonic() + seconds
    last = "no answer"
    while time.monotonic() < deadline:
        try:
            status, _, body = get(base + "/healthz")
            if status == 200 and json.loads(body).get("ok") is True:
                check(True, f"/healthz answers ok from outside the container ({body.decode().strip()})")
                return
            last = f"status {status}"
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    raise CheckFailed(f"/healthz did not answer ok within {seconds:.0f}s ({last})")


def run_checks(base: str, auth: str | None, htmx_sha256: str | None) -> None:
    """Health, home, a demo run page with rows, static files, headers, metrics (and auth)."""
    path_prefix = urllib.parse.urlsplit(base).path.rstrip("/")
    wait_healthy(base, 60)
    if auth:
        status, headers, _ = get(base + "/")
        check(status == 401 and headers.get("WWW-Authenticate", "").startswith("Basic "),
              "without credentials the home page answers 401 with a Basic challenge")
        status, _, _ = get(base + "/", auth=auth.split(":", 1)[0] + ":wrong-password")
        check(status == 401, "a wrong password is refused")
    status, headers, body = get(base + "/", auth)
    check(status == 200, "the home page answers 200")
    for name, expected in SECURITY_HEADERS.items():
        check(expected in headers.get(name, ""), f"the home page sends {name}: …{expected}…")
    html = body.decode()
    runs = re.findall(r'href="(' + re.escape(path_prefix) + r'/runs/[0-9a-f]{32})"', html)
    check(bool(runs), f"the home page links demo runs under the prefix {path_prefix or '/'}")
    run_url = urllib.parse.urljoin(base, runs[0])
    deadline = time.monotonic() + 60
    while True:  # the first answer may be the progress bar of a load that just started
        status, headers, body = get(run_url, auth)
        if status != 200:
            raise CheckFailed(f"the demo run page {runs[0]} answered {status}")
        rows = len(re.findall(r'<tr class="gap-', body.decode()))
        if rows or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    check(rows > 0, f"the demo run page {runs[0]} shows {rows} task rows")
    check("Content-Security-Policy" in headers, "the run page sends a Content-Security-Policy")
    assets = re.findall(r'(?:href|src)="(' + re.escape(path_prefix) + r'/static/[^"]+)"', body.decode())
    check(bool(assets), "the run page links its static files under the prefix")
    for asset in assets:
        status, headers, content = get(urllib.parse.urljoin(base, asset), auth)
        check(status == 200 and headers.get("X-Content-Type-Options") == "nosniff",
              f"{asset} answers 200 with nosniff")
        if asset.endswith("htmx.min.js") and htmx_sha256:
            check(hashlib.sha256(content).hexdigest() == htmx_sha256, "htmx.min.js has the pinned sha256")
    status, headers, body = get(base + "/metrics", auth)
    text = body.decode()
    check(status == 200 and "lobstr_dash_http_requests_total" in text
          and "lobstr_dash_upstream_requests_total{" in text,
          "/metrics counts requests and upstream calls in Prometheus format")


def main() -> int:
    """Run the checks; 0 when all hold."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("base_url")
    parser.add_argument("--user")
    parser.add_argument("--password")
    parser.add_argument("--htmx-sha256")
    args = parser.parse_args()
    auth = f"{args.user}:{args.password}" if args.user else None
    try:
        run_checks(args.base_url.rstrip("/"), auth, args.htmx_sha256)
    except CheckFailed as exc:
        print(f"FAIL {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
