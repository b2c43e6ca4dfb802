"""Behind a reverse proxy: under a URL prefix every link, form, htmx URL, static file and redirect
keeps the prefix (a crawl of the demo proves it), and X-Forwarded-* is trusted only when told to."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from bs4 import BeautifulSoup
from flask import Flask
from werkzeug.exceptions import NotFound

from lobstr_dash.fake import DEMO_RUNS
from lobstr_dash.ops.healthcheck import healthz_url
from lobstr_dash.ops.security import HEADERS

PREFIX = "/lobstr"
#: Attributes that hold a URL the browser or htmx will request.
URL_ATTRIBUTES = ("href", "src", "action", "hx-get", "hx-post", "hx-put", "hx-patch", "hx-delete",
                  "hx-push-url", "hx-replace-url")
MAX_FETCHES = 400
BIG_RUN = next(run for run in DEMO_RUNS if run.task_count >= 1000).run_id


@pytest.fixture
def demo_app(make_app: Callable[..., Flask]) -> Callable[..., Flask]:
    """Apps in demo mode (the built-in fake lobstr, no latency, loads awaited)."""
    def make(**overrides: Any) -> Flask:
        return make_app(LOBSTR_TOKEN=None, DEMO_LATENCY_MS=0, LOAD_WAIT_SECONDS=10.0, **overrides)
    return make


@dataclass
class Setup:
    """How the proxy reaches the app: the path it forwards for a public URL, and its headers."""

    name: str
    config: dict[str, Any]
    headers: dict[str, str] = field(default_factory=dict)
    strips_prefix: bool = False

    def path_for(self, public: str) -> str:
        """The path the proxy forwards for a public URL path."""
        if self.strips_prefix:
            assert public.startswith(PREFIX + "/") or public == PREFIX
            return public[len(PREFIX):] or "/"
        return public


SETUPS = [
    # The proxy forwards /lobstr/… unchanged: the app is told its prefix.
    Setup("URL_PREFIX", {"URL_PREFIX": "/lobstr/"}),
    # The proxy strips /lobstr and says so in X-Forwarded-Prefix (trusted through PROXY_FIX and,
    # since issue 10, only with PROXY_TRUST_PREFIX).
    Setup("X-Forwarded-Prefix", {"PROXY_FIX": 1, "PROXY_TRUST_PREFIX": 1},
          {"X-Forwarded-Prefix": PREFIX}, strips_prefix=True),
]


@dataclass
class Crawl:
    """What a crawl saw: every URL found (with where), and which endpoints it exercised."""

    found: dict[str, str] = field(default_factory=dict)
    kinds: set[str] = field(default_factory=set)
    endpoints: set[str] = field(default_factory=set)
    fetches: int = 0
    redirects: list[tuple[str, str]] = field(default_factory=list)


def local_urls(html: str) -> list[tuple[str, str, dict[str, Any]]]:
    """(attribute, URL, element attributes) for every same-site URL in a page or fragment."""
    urls = []
    for element in BeautifulSoup(html, "lxml").find_all(True):
        for attribute in URL_ATTRIBUTES:
            value = element.get(attribute)
            if not isinstance(value, str) or value in ("true", "false"):
                continue
            parts = urlsplit(value)
            if parts.scheme or parts.netloc or not parts.path:
                continue  # links to scraped sites, data: URLs, fragments (#main)
            urls.append((attribute, value, {"element": element, "tag": element.name}))
    return urls


def form_submission(form: Any) -> tuple[str, dict[str, str]]:
    """The method and fields a form submits, with a plausible value in each empty text field."""
    fields: dict[str, str] = {}
    for field_ in form.find_all(["input", "select", "textarea"]):
        name = field_.get("name")
        if not name or field_.get("type") in ("checkbox", "radio") and not field_.has_attr("checked"):
            continue
        fields[name] = field_.get("value") or (BIG_RUN if name == "run" else "x")
    return (form.get("method") or "get").upper(), fields


def crawl(app: Flask, setup: Setup) -> Crawl:
    """Follow every link, form, htmx URL, pushed URL and redirect from the home page, under PREFIX."""
    client = app.test_client()
    adapter = app.url_map.bind("localhost")
    seen = Crawl()
    shapes: set[tuple[str, str, tuple[str, ...], str]] = set()
    queue: list[tuple[str, str, dict[str, str], str | None, str]] = [
        ("GET", PREFIX + "/", {}, None, "start")]

    def found(url: str, where: str) -> None:
        assert url.startswith(PREFIX + "/"), f"{url!r} (from {where}) is outside the prefix {PREFIX}"
        seen.found.setdefault(url, where)
        seen.kinds.add(where.split(" of ")[0])

    while queue:
        method, url, data, target, where = queue.pop(0)
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        # One fetch per shape (route, method, query keys, htmx target) keeps the crawl bounded.
        shape = (method, re.sub(r"[0-9a-f]{32}", "<run>", parts.path),
                 tuple(sorted({k for k, _ in query})), target or "")
        if shape in shapes:
            continue
        shapes.add(shape)
        seen.fetches += 1
        assert seen.fetches <= MAX_FETCHES, "the crawl does not converge"
        path = setup.path_for(parts.path)
        headers = dict(setup.headers)
        if target:
            headers.update({"HX-Request": "true", "HX-Target": target})
        if method == "GET":
            response = client.get(path, query_string=query, headers=headers)
        else:
            response = client.open(path, method=method, data=data, headers=headers)
        body = response.get_data(as_text=True)
        assert response.status_code not in (404, 405) and response.status_code < 500, (
            f"{method} {url} (from {where}) answered {response.status_code}")
        try:
            endpoint, _ = adapter.match(parts.path[len(PREFIX):] or "/", method=method)
            seen.endpoints.add(endpoint)
        except NotFound:
            pytest.fail(f"{url} matches no route once the prefix is removed")
        location = response.headers.get("Location")
        if location:
            found(location, f"Location of {method} {url}")
            seen.redirects.append((url, location))
            queue.append(("GET", location, {}, None, f"redirect from {url}"))
        for header in ("HX-Push-Url", "HX-Location", "HX-Redirect"):
            if response.headers.get(header) not in (None, "false"):
                pushed = response.headers[header]
                found(pushed, f"{header} of {url}")
                queue.append(("GET", pushed, {}, None, f"{header} of {url}"))
        if response.mimetype == "application/json" and isinstance(response.get_json(silent=True), dict):
            page_url = response.get_json().get("page_url")
            if page_url:
                found(page_url, f"page_url of {url}")
        if response.mimetype != "text/html":
            continue
        for attribute, link, info in local_urls(body):
            found(link, f"{attribute} on <{info['tag']}> of {url}")
            element = info["element"]
            if attribute == "action":
                form_method, fields = form_submission(element)
                if form_method == "GET":
                    link = f"{link}?{urlencode(fields)}" if fields else link
                    queue.append(("GET", link, {}, None, f"GET form of {url}"))
                else:
                    queue.append((form_method, link, fields, None, f"{form_method} form of {url}"))
            elif attribute.startswith("hx-") and attribute not in ("hx-push-url", "hx-replace-url"):
                hx_target = element.get("hx-target") or "this"
                target_id = element.get("id") if hx_target == "this" else hx_target.lstrip("#")
                queue.append((attribute[3:].upper(), link, {}, target_id, f"{attribute} of {url}"))
            elif attribute in ("href", "src"):
                queue.append(("GET", link, {}, None, f"{attribute} of {url}"))
    return seen


@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: s.name)
@pytest.mark.slow
def test_prefix_walk_every_link_form_htmx_url_static_file_and_redirect(
        demo_app: Callable[..., Flask], setup: Setup) -> None:
    app = demo_app(**setup.config)
    seen = crawl(app, setup)
    # Every kind of page was reached through links alone, from the home page.
    assert {"home.index", "run.page", "run.refresh", "exports.tasks", "api.runtasks",
            "static"} <= seen.endpoints
    assert {"href on <a>", "href on <link>", "src on <script>", "action on <form>", "hx-get on <section>",
            "Location", "HX-Push-Url", "page_url"} <= seen.kinds, seen.kinds
    # Static files are linked by content-hashed paths (issue 11), under the prefix too.
    statics = {re.sub(r"/static/[0-9a-f]{10}/", "/static/", u) for u in seen.found if "/static/" in u}
    assert {PREFIX + "/static/app.css", PREFIX + "/static/favicon.svg"} <= statics
    # The refresh form's redirect goes back to the same filtered view, still under the prefix.
    refresh = [(u, loc) for u, loc in seen.redirects if u.endswith("/refresh")]
    assert refresh and all(loc.startswith(f"{PREFIX}/runs/") for _, loc in refresh)


@pytest.mark.parametrize("setup", SETUPS, ids=lambda s: s.name)
def test_health_and_metrics_live_under_the_prefix(demo_app: Callable[..., Flask], setup: Setup) -> None:
    client = demo_app(**setup.config).test_client()
    assert client.get(setup.path_for(PREFIX + "/healthz"), headers=setup.headers).get_json()["ok"] is True
    metrics = client.get(setup.path_for(PREFIX + "/metrics"), headers=setup.headers)
    assert metrics.status_code == 200 and b"lobstr_dash_http_requests_total" in metrics.data


def test_refresh_redirect_refuses_a_next_outside_this_run_under_the_prefix(
        demo_app: Callable[..., Flask]) -> None:
    client = demo_app(URL_PREFIX=PREFIX).test_client()
    run = DEMO_RUNS[0].run_id
    own = f"{PREFIX}/runs/{run}"
    kept = client.post(f"{own}/refresh", data={"next": f"{own}?sort=gap&page=2"})
    assert kept.status_code == 303 and kept.headers["Location"] == f"{own}?sort=gap&page=2"
    for hostile in ("https://evil.example/", f"/runs/{run}", "//evil.example/x", f"{PREFIX}/"):
        answer = client.post(f"{own}/refresh", data={"next": hostile})
        assert answer.headers["Location"] == own, hostile


def test_the_canonical_and_lookup_redirects_keep_the_prefix(demo_app: Callable[..., Flask]) -> None:
    client = demo_app(URL_PREFIX=PREFIX).test_client()
    run = DEMO_RUNS[1].run_id
    lookup = client.get(f"{PREFIX}/", query_string={"run": f"see https://app.lobstr.io/runs/{run} pls"})
    assert lookup.status_code == 303 and lookup.headers["Location"] == f"{PREFIX}/runs/{run}"
    upper = client.get(f"{PREFIX}/runs/{run.upper()}", query_string={"sort": "gap"})
    assert upper.status_code == 301 and upper.headers["Location"] == f"{PREFIX}/runs/{run}?sort=gap"


def test_outside_the_prefix_the_root_redirects_in_and_the_rest_is_404(demo_app: Callable[..., Flask]) -> None:
    client = demo_app(URL_PREFIX=PREFIX).test_client()
    root = client.get("/")
    assert root.status_code == 302 and root.headers["Location"] == PREFIX + "/"
    stray = client.get(f"/runs/{DEMO_RUNS[0].run_id}")
    assert stray.status_code == 404
    assert client.get("/lobstrosity/").status_code == 404  # a path that merely starts alike
    for response in (root, stray):
        for name, value in HEADERS.items():
            assert response.headers[name] == value
    assert client.get(PREFIX).status_code == 200  # the bare prefix serves the home page


def test_forwarded_headers_are_ignored_unless_proxy_fix_is_set(
        demo_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture) -> None:
    forged = {"X-Forwarded-Prefix": "/evil", "X-Forwarded-For": "203.0.113.9",
              "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https"}
    caplog.set_level(logging.INFO, logger="lobstr_dash.request")
    direct = demo_app().test_client()
    page = direct.get("/", headers=forged).get_data(as_text=True)
    assert "/evil" not in page and re.search(r'href="/static/[0-9a-f]{10}/app\.css"', page)
    assert "addr=127.0.0.1" in caplog.text and "203.0.113.9" not in caplog.text
    caplog.clear()
    # PROXY_FIX trusts the address and the scheme; the host and the prefix only when told to
    # (issue 10: with the README's proxy a client could set them; this used to expect /evil here).
    proxied = demo_app(PROXY_FIX=1).test_client()
    hop = proxied.get(f"/?run={'a' * 32}", headers={**forged, "X-Forwarded-Prefix": "//evil.example"})
    assert hop.status_code == 303 and hop.headers["Location"].startswith(f"/runs/{'a' * 32}")
    page = proxied.get("/", headers=forged).get_data(as_text=True)
    assert "/evil" not in page and re.search(r'href="/static/[0-9a-f]{10}/app\.css"', page)
    assert "addr=203.0.113.9" in caplog.text and "GET / 200" in caplog.text
    caplog.clear()
    trusting = demo_app(PROXY_FIX=1, PROXY_TRUST_PREFIX=1, PROXY_TRUST_HOST=1).test_client()
    # Even a trusted prefix must be a path: "//host" would make every redirect leave the site.
    hop = trusting.get(f"/?run={'a' * 32}", headers={**forged, "X-Forwarded-Prefix": "//evil.example"})
    assert not hop.headers["Location"].startswith("//")
    page = trusting.get("/", headers=forged).get_data(as_text=True)
    assert re.search(r'href="/evil/static/[0-9a-f]{10}/app\.css"', page)
    assert "addr=203.0.113.9" in caplog.text and "GET /evil/ 200" in caplog.text


def test_proxy_fix_trusts_only_the_configured_number_of_hops(demo_app: Callable[..., Flask],
                                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lobstr_dash.request")
    client = demo_app(PROXY_FIX=1).test_client()
    # A client-sent X-Forwarded-For, then the one proxy's own entry: only the proxy's is trusted.
    client.get("/healthz", headers={"X-Forwarded-For": "198.51.100.7, 203.0.113.9"}).get_data()
    assert "addr=203.0.113.9" in caplog.text and "198.51.100.7" not in caplog.text


@pytest.mark.parametrize("prefix, normal", [("lobstr", "/lobstr"), ("/lobstr/", "/lobstr"),
                                            ("/", ""), ("", ""), ("/team/lobstr", "/team/lobstr")])
def test_url_prefix_is_normalised(demo_app: Callable[..., Flask], prefix: str, normal: str) -> None:
    assert demo_app(URL_PREFIX=prefix).config["URL_PREFIX"] == normal


def test_the_error_page_retry_link_keeps_the_prefix(demo_app: Callable[..., Flask]) -> None:
    app = demo_app(URL_PREFIX=PREFIX)

    @app.get("/boom")
    def boom() -> Any:
        raise RuntimeError("a bug")

    page = app.test_client().get(f"{PREFIX}/boom", query_string={"a": "1"})
    assert page.status_code == 500
    links = [link for _, link, _ in local_urls(page.get_data(as_text=True))]
    assert f"{PREFIX}/boom?a=1" in links, links


@pytest.mark.parametrize("environ, url", [
    ({}, "http://127.0.0.1:8000/healthz"),
    ({"PORT": "9000", "URL_PREFIX": "lobstr/"}, "http://127.0.0.1:9000/lobstr/healthz"),
    ({"BIND": "127.0.0.1:8123", "PORT": "9000", "URL_PREFIX": "/team/lobstr"},
     "http://127.0.0.1:8123/team/lobstr/healthz"),
])
def test_the_container_healthcheck_follows_port_bind_and_prefix(environ: dict[str, str], url: str) -> None:
    assert healthz_url(environ) == url
