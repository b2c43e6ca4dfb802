"""Security headers on every kind of response, and pages that need no inline script or style."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pytest
from bs4 import BeautifulSoup
from flask import Flask, session
from werkzeug.security import generate_password_hash

from lobstr_dash.fake import DEMO_RUNS

RUN = next(run for run in DEMO_RUNS if run.task_count >= 100 and "bort" in run.title).run_id
PASSWORD = "correct horse battery staple"
ALICE = generate_password_hash(PASSWORD, method="scrypt:1024:8:1")
SIGNED_IN = {"Authorization": "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()}
HTMX = {"HX-Request": "true"}

Fetch = Callable[[Any], Any]

#: Every kind of response the app gives: (name, app settings, how to fetch it, expected status).
PAGE_TYPES: list[tuple[str, dict[str, Any], Fetch, int]] = [
    ("full page: home", {}, lambda c: c.get("/"), 200),
    ("full page: run", {}, lambda c: c.get(f"/runs/{RUN}"), 200),
    ("htmx partial: task table", {},
     lambda c: c.get(f"/runs/{RUN}", query_string={"sort": "expected"},
                     headers={**HTMX, "HX-Target": "tasks"}), 200),
    ("htmx partial: run status", {},
     lambda c: c.get(f"/runs/{RUN}", headers={**HTMX, "HX-Target": "run-status"}), 200),
    ("htmx error partial", {},
     lambda c: c.get(f"/runs/{RUN}", query_string={"sort": "nope"}, headers={**HTMX, "HX-Target": "tasks"}),
     400),
    ("error page: 404", {}, lambda c: c.get("/no/such/page"), 404),
    ("error page: bad run id", {}, lambda c: c.get("/runs/not-a-run"), 400),
    ("error page: 405", {}, lambda c: c.post("/"), 405),
    ("error page: 500", {}, lambda c: c.get("/boom"), 500),
    ("JSON: export", {}, lambda c: c.get(f"/runs/{RUN}/tasks.json"), 200),
    ("JSON: upstream page", {}, lambda c: c.get("/api/v1/runtasks", query_string={"run": RUN}), 200),
    ("JSON: health", {}, lambda c: c.get("/healthz"), 200),
    ("JSON: error", {}, lambda c: c.get("/api/v1/runtasks"), 400),
    ("CSV: export", {}, lambda c: c.get(f"/runs/{RUN}/tasks.csv"), 200),
    ("static file: css", {}, lambda c: c.get("/static/app.css"), 200),
    ("static file: svg", {}, lambda c: c.get("/static/favicon.svg"), 200),
    ("static file: 304", {}, lambda c: c.get("/static/app.css", headers={
        "If-None-Match": c.get("/static/app.css").headers["ETag"]}), 304),
    ("redirect: lookup", {}, lambda c: c.get("/", query_string={"run": RUN}), 303),
    ("redirect: canonical run id", {}, lambda c: c.get(f"/runs/{RUN.upper()}"), 301),
    ("redirect: after refresh", {}, lambda c: c.post(f"/runs/{RUN}/refresh"), 303),
    ("metrics", {}, lambda c: c.get("/metrics"), 200),
    ("auth: 401 page", {"AUTH_USERS": f"alice:{ALICE}"}, lambda c: c.get("/"), 401),
    ("auth: 401 JSON", {"AUTH_USERS": f"alice:{ALICE}"}, lambda c: c.get(f"/runs/{RUN}/tasks.csv"), 401),
    ("auth: signed-in page", {"AUTH_USERS": f"alice:{ALICE}"}, lambda c: c.get("/", headers=SIGNED_IN), 200),
    ("auth: proxy 403", {"AUTH_PROXY_HEADER": "X-Forwarded-User"}, lambda c: c.get("/"), 403),
    ("prefix: outside redirect", {"URL_PREFIX": "/lobstr"}, lambda c: c.get("/"), 302),
    ("prefix: outside 404", {"URL_PREFIX": "/lobstr"}, lambda c: c.get("/static/app.css"), 404),
    ("prefix: page", {"URL_PREFIX": "/lobstr"}, lambda c: c.get(f"/lobstr/runs/{RUN}"), 200),
]


@pytest.fixture
def demo_app(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Apps in demo mode, with a route that fails like a bug would."""
    def make(**overrides: Any) -> Flask:
        app = make_app(LOBSTR_TOKEN=None, DEMO_LATENCY_MS=0, LOAD_WAIT_SECONDS=10.0, **overrides)

        @app.get("/boom")
        def boom() -> Any:
            raise RuntimeError("a bug")

        return app
    return make


def csp_directives(value: str) -> dict[str, list[str]]:
    """'a x; b y z' → {'a': ['x'], 'b': ['y', 'z']}."""
    directives = {}
    for part in value.split(";"):
        name, *sources = part.split()
        directives[name] = sources
    return directives


def assert_security_headers(response: Any) -> None:
    """The headers every response must carry."""
    csp = csp_directives(response.headers["Content-Security-Policy"])
    assert csp["default-src"] == ["'self'"]
    assert csp["script-src"] == ["'self'"]  # no 'unsafe-inline', 'unsafe-eval' or hosts
    assert csp["style-src"] == ["'self'"]
    assert csp["frame-ancestors"] == ["'none'"]
    assert csp["object-src"] == ["'none'"] and csp["base-uri"] == ["'none'"]
    assert csp["form-action"] == ["'self'"]
    assert not any("unsafe" in source for sources in csp.values() for source in sources)
    assert response.headers["X-Content-Type-Options"] == "nosniff"
    # Task URLs point at scraped sites: following one must not tell the site where it came from.
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["X-Frame-Options"] == "DENY"
    for cookie in response.headers.getlist("Set-Cookie"):
        assert "HttpOnly" in cookie and "SameSite=" in cookie, cookie


def assert_no_inline_code(html: str) -> None:
    """Nothing the CSP would have to allow: inline scripts, style blocks or attributes, handlers."""
    page = BeautifulSoup(html, "lxml")
    for script in page.find_all("script"):
        assert script.get("src") and not script.get_text(strip=True), str(script)[:120]
    assert page.find("style") is None
    for element in page.find_all(True):
        assert "style" not in element.attrs, str(element)[:120]
        handlers = [name for name in element.attrs if name.lower().startswith("on")]
        assert not handlers, str(element)[:120]
        for name in ("href", "src", "action", "formaction"):
            assert not str(element.get(name, "")).strip().lower().startswith("javascript:"), str(element)
    # A link to a scraped site opens without a referrer or an opener, whatever the browser's default.
    for link in page.find_all("a", href=True):
        if link["href"].startswith(("http://", "https://")):
            assert {"noopener", "noreferrer"} <= set(link.get("rel", [])), str(link)[:160]


@pytest.mark.parametrize("name, settings, fetch, status", PAGE_TYPES, ids=[p[0] for p in PAGE_TYPES])
def test_security_headers_on_every_page_type(demo_app: Callable[..., Flask], name: str,
                                             settings: dict[str, Any], fetch: Fetch, status: int) -> None:
    client = demo_app(**settings).test_client()
    response = fetch(client)
    body = response.get_data(as_text=True)
    assert response.status_code == status, body[:300]
    assert_security_headers(response)
    assert "Set-Cookie" not in response.headers  # the app keeps no session
    if response.mimetype == "text/html":
        assert_no_inline_code(body)


@pytest.mark.slow
def test_the_run_pages_of_every_demo_run_need_no_inline_code(demo_app: Callable[..., Flask]) -> None:
    client = demo_app().test_client()
    for run in DEMO_RUNS:
        for query in ({}, {"short": "1", "sort": "reason"}, {"page": "2"}):
            response = client.get(f"/runs/{run.run_id}", query_string=query)
            assert response.status_code == 200
            assert_security_headers(response)
            assert_no_inline_code(response.get_data(as_text=True))


def test_a_cookie_if_one_is_ever_set_is_httponly_and_samesite(demo_app: Callable[..., Flask]) -> None:
    app = demo_app(SECRET_KEY="test-only-secret")

    @app.get("/remember")
    def remember() -> str:
        session["seen"] = True
        return "ok"

    cookie = app.test_client().get("/remember").headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie


def test_a_cross_site_form_cannot_make_the_dashboard_refetch(demo_app: Callable[..., Flask]) -> None:
    app = demo_app(AUTH_USERS=f"alice:{ALICE}")
    client = app.test_client()
    assert client.get(f"/runs/{RUN}", headers=SIGNED_IN).status_code == 200
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    before = app.extensions["lobstr_dash"].store.run_state(RUN).generation
    # A forged form on another site: the browser adds the team's Basic credentials by itself.
    forged = client.post(f"/runs/{RUN}/refresh", headers={**SIGNED_IN, "Sec-Fetch-Site": "cross-site"})
    assert forged.status_code == 403
    assert_security_headers(forged)
    assert app.extensions["lobstr_dash"].store.run_state(RUN).generation == before
    own = client.post(f"/runs/{RUN}/refresh", headers={**SIGNED_IN, "Sec-Fetch-Site": "same-origin"})
    assert own.status_code == 303
    assert app.extensions["lobstr_dash"].store.run_state(RUN).generation > before
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    # Browsers that send no Sec-Fetch-Site (and scripts) are not refused.
    assert client.post(f"/runs/{RUN}/refresh", headers=SIGNED_IN).status_code == 303
