"""The lobstr token never leaves the server: not in a page, a partial, an export, an error, a
header, a log line, nor the SQLite file.

A dashboard with a recognisable token is pointed at the fake lobstr API (over a loopback port),
which is made to misbehave in every way that produces a distinct page: a partial run, a run
lobstr refuses the token for, an unknown run, rate limiting, and an upstream so broken that it
echoes the request's Authorization header back in its error bodies. The test then crawls every
link, htmx fragment, export and form it can reach from the home page and the runs' pages, with
every log record captured, and looks for the token (and its distinctive part) everywhere.
"""

from __future__ import annotations

import json
import logging
import re
from collections import deque
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urljoin
from urllib.parse import urlsplit

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from flask import Response
from flask import request as flask_request

from lobstr_dash import create_app
from lobstr_dash.fake import FaultRule
from lobstr_dash.fake import synthetic_run_id

SECRET = "s3cr3t9f4e1c7a2b"
TOKEN = f"tok-{SECRET}"
#: How the token could show up: as is, its distinctive part, the header line, URL-encoded.
NEEDLES = (TOKEN, SECRET, f"Token {TOKEN}", TOKEN.replace("-", "%2D"))
COMPLETE = synthetic_run_id("secrets-complete-150")
PARTIAL = synthetic_run_id("secrets-partial-250")
REFUSED = synthetic_run_id("secrets-refused")
THROTTLED = synthetic_run_id("secrets-throttled")
ECHO_JSON = synthetic_run_id("secrets-echo-json")
ECHO_TEXT = synthetic_run_id("secrets-echo-text")
UNKNOWN = "0123456789abcdef0123456789abcdef"
MAX_REQUESTS = 200


@pytest.fixture
def fake(served_fake: Any) -> tuple[Flask, str]:
    """The fake lobstr API, made to fail in each way that gives the dashboard a distinct page."""
    runs = {COMPLETE: 150, PARTIAL: 250, REFUSED: 10, THROTTLED: 10, ECHO_JSON: 10,
            ECHO_TEXT: 10}
    fake, base_url = served_fake(tokens={TOKEN}, extra_runs=runs)
    app = fake.app

    @app.before_request
    def echo_the_credentials() -> Response | None:
        # A broken upstream (or a proxy in front of it) that repeats the request's headers.
        run = flask_request.args.get("run")
        header = flask_request.headers.get("Authorization", "")
        if run == ECHO_JSON:
            return Response(json.dumps({"detail": f"debug: Authorization={header}"}), status=500,
                            mimetype="application/json")
        if run == ECHO_TEXT:
            return Response(f"proxy error; you sent {header}", status=502, mimetype="text/plain")
        return None

    for rule in (FaultRule(run=PARTIAL, page=2, status=503, times=None),
                 FaultRule(run=REFUSED, status=401, times=None),
                 FaultRule(run=THROTTLED, status=429, retry_after=60, times=None)):
        app.extensions["fake"].faults.append(rule)
    return app, base_url


def assert_no_token(where: str, text: str | bytes) -> None:
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    for needle in NEEDLES:
        assert needle not in text, f"the token appears in {where}"


def links(response: Any, base: str) -> Iterator[tuple[str, str, dict[str, str]]]:
    """(method, path, form data) of everything a browser could follow or submit from a page."""
    page = BeautifulSoup(response.get_data(as_text=True), "lxml")
    for tag, attr in (("a", "href"), ("link", "href"), ("script", "src"), ("img", "src"),
                      ("*", "hx-get")):
        for element in page.select(f"{tag}[{attr}]"):
            yield "GET", urljoin(base, element[attr]), {}
    for form in page.select("form"):
        fields = {i["name"]: i.get("value", "") for i in form.select("input[name]")
                  if i.get("type") != "checkbox" or i.has_attr("checked")}
        for select in form.select("select[name]"):
            option = select.select_one("option[selected]") or select.select_one("option")
            fields[select["name"]] = option.get("value", option.get_text()) if option else ""
        method = (form.get("method") or "get").upper()
        yield method, urljoin(base, form.get("action") or base), fields


def crawl(app: Flask, starts: list[str]) -> list[str]:
    """Request every reachable same-site URL (breadth first, bounded); check each answer."""
    client = app.test_client()
    queue = deque(("GET", url, {}) for url in starts)
    seen: set[tuple[str, str]] = set()
    visited: list[str] = []
    while queue and len(visited) < MAX_REQUESTS:
        method, url, data = queue.popleft()
        parts = urlsplit(url)
        if parts.netloc not in ("", "localhost") or (method, url) in seen:
            continue
        seen.add((method, url))
        path = parts.path + (f"?{parts.query}" if parts.query else "")
        requests_to_make = [({}, path)]
        if re.fullmatch(r"/runs/[0-9a-f]{32}", parts.path) and method == "GET":
            for target in ("run-status", "tasks"):
                requests_to_make.append(({"HX-Request": "true", "HX-Target": target}, path))
        for headers, target in requests_to_make:
            if method == "GET":
                response = client.get(target, headers=headers)
            else:
                response = client.open(target, method=method, data=data, headers=headers)
            visited.append(f"{method} {target} {headers.get('HX-Target', '')}")
            where = f"{method} {target} ({response.status_code})"
            assert response.status_code != 500, where
            assert_no_token(where, response.get_data())
            for name, value in response.headers.items():
                assert_no_token(f"the {name} header of {where}", value)
            location = response.headers.get("Location")
            if location:
                queue.append(("GET", urljoin(f"http://localhost{parts.path}", location), {}))
            if response.mimetype == "text/html" and not headers:
                queue.extend(links(response, f"http://localhost{path}"))
    return visited


@pytest.mark.slow
def test_the_token_appears_in_no_page_export_error_header_log_or_file(
        fake: Any, tmp_path: Path, caplog: pytest.LogCaptureFixture,
        capfd: pytest.CaptureFixture[str]) -> None:
    caplog.set_level(logging.DEBUG)
    _fake_app, base_url = fake
    data_dir = tmp_path / "data"
    app = create_app({"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url,
                      "DATA_DIR": str(data_dir), "LOAD_WAIT_SECONDS": 10.0,
                      "EXPORT_WAIT_SECONDS": 10.0, "LOBSTR_BACKOFF_BASE": 0.01,
                      "LOBSTR_RETRY_BUDGET": 3.0, "LOBSTR_MAX_RETRY_AFTER": 0.0,
                      "LOBSTR_MAX_ATTEMPTS": 2})
    runs = [COMPLETE, PARTIAL, REFUSED, THROTTLED, ECHO_JSON, ECHO_TEXT, UNKNOWN]
    starts = ["/", "/healthz", "/runs/not-a-run", f"/?run=https://app.lobstr.io/runs/{COMPLETE}"]
    for run in runs:
        starts += [f"/runs/{run}", f"/runs/{run}/tasks.csv", f"/runs/{run}/tasks.json",
                   f"/api/v1/runtasks?run={run}&page=1&limit=5"]
    # Whatever other routes the app has (metrics, comparisons, squids...), with a run in them.
    for rule in app.url_map.iter_rules():
        if rule.endpoint != "static" and "GET" in (rule.methods or ()):
            starts.append(re.sub(r"<[^>]+>", COMPLETE, rule.rule))
    visited = crawl(app, starts)
    for run in runs:
        app.extensions["lobstr_dash"].loader.join(run, 10)

    kinds = " ".join(visited)
    assert len(visited) >= 100, "the crawl reached too little to prove anything"
    for expected in ("tasks.csv", "tasks.json", "run-status", "/refresh", "/api/v1/runtasks"):
        assert expected in kinds
    # Logs: every record, with its arguments and traceback, and whatever reached the terminal.
    assert caplog.records, "nothing was logged: the log check would prove nothing"
    for record in caplog.records:
        assert_no_token(f"the log record {record.name}: {record.msg!r}",
                        logging.Formatter().format(record))
    captured = capfd.readouterr()
    assert_no_token("stdout", captured.out)
    assert_no_token("stderr", captured.err)
    # The store on disk, with its write-ahead log.
    files = list(data_dir.rglob("*"))
    assert any(f.name.endswith(".sqlite3") for f in files)
    for file in files:
        if file.is_file():
            assert_no_token(str(file.name), file.read_bytes())


def test_the_client_never_shows_the_token_in_repr_or_errors(fake: Any, tmp_path: Path) -> None:
    _fake_app, base_url = fake
    app = create_app({"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url,
                      "DATA_DIR": str(tmp_path), "LOBSTR_MAX_ATTEMPTS": 1})
    client = app.extensions["lobstr_dash"].client
    assert_no_token("repr(client)", repr(client))
    for run in (ECHO_JSON, ECHO_TEXT):
        with pytest.raises(Exception) as caught:
            client.runtasks_page(run, 1)
        assert_no_token(f"the error for {run}", f"{caught.value!s} {caught.value!r}")
