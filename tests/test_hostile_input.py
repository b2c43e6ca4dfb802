"""Hostile input, property-based: whatever a user pastes or a script sends to any route, the
dashboard never answers 500, never calls lobstr for input it refuses, and never reflects input
unescaped into a page.

The routes come from the app's own url_map at test time, so routes added later are covered too.
Run ids, path segments, query parameters (known names and random ones, repeated, very long,
unicode, control characters) and htmx headers are drawn by hypothesis. Every test counts the
requests reaching the fake lobstr API over a loopback port.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any
from urllib.parse import quote
from urllib.parse import urlsplit

import pytest
from flask import Flask
from hypothesis import HealthCheck
from hypothesis import example
from hypothesis import given
from hypothesis import settings
from hypothesis import strategies as st
from werkzeug.datastructures import MultiDict
from werkzeug.routing import BuildError

from lobstr_dash import create_app
from lobstr_dash.fake import DEMO_RUN_IDS
from support import FakeLobstr
from lobstr_dash.web.querystring import is_run_id

TOKEN = "hostile-token-3c9d"
#: The demo run whose tasks carry hostile params themselves (HTML, javascript: URLs, formulas).
LOADED = DEMO_RUN_IDS["mixed"]
#: A marker put into every dangerous payload: seen raw after `<`, `"` or `'`, it was not escaped.
MARK = "xq7hostile"
PAYLOADS = [
    f"<script>{MARK}()</script>", f'"><img src=x onerror={MARK}>', f"'{MARK}", f'"{MARK}',
    f"<{MARK}>", f"</textarea><{MARK}>", f"javascript:{MARK}", f"{{{{7*7}}}}<{MARK}", f"%3C{MARK}",
    f"\r\nSet-Cookie: {MARK}=1", f"\u202e<{MARK}", f"\x00<{MARK}", f"' OR 1=1 --'{MARK}",
    f"~{MARK}\u2028\u2029", f"=HYPERLINK(\"{MARK}\")", f"../../{MARK}",
]
UNESCAPED = (f"<{MARK}", f'"{MARK}', f"'{MARK}", f"<script>{MARK}")
#: Query parameter names the routes read, plus a few nobody reads.
PARAM_NAMES = ["status", "reason", "class", "short", "q", "sort", "dir", "page", "seen", "run",
               "limit", "next", "only_failed", "fmt", "a", "b", "compare", "squid", "name"]
HTMX_TARGETS = ["run-status", "tasks", "", "main", f"<{MARK}>"]

hostile_text = st.one_of(
    st.sampled_from(PAYLOADS),
    st.builds(lambda a, p, b: a + p + b, st.text(max_size=20), st.sampled_from(PAYLOADS),
              st.text(max_size=20)),
    st.text(max_size=60),
    st.text(alphabet="0123456789abcdefABCDEF -_/:=?&#%", max_size=70),
    st.sampled_from(["", " ", "0", "-1", "1e9", "999999999999", "1.5", "²", "１", "NaN", "asc",
                     "desc", "gap", "position", "completed", "(none)", "1", "true", "on"]),
    st.builds(lambda p, n: p * n, st.sampled_from(PAYLOADS + ["a", "é", "🦞"]),
              st.integers(min_value=50, max_value=400)),
)
query_pairs = st.lists(st.tuples(st.one_of(st.sampled_from(PARAM_NAMES), st.text(max_size=12)),
                                 hostile_text), max_size=12)
repeated_pairs = st.builds(lambda name, value, n: [(name, value)] * n,
                           st.sampled_from(PARAM_NAMES), hostile_text,
                           st.integers(min_value=40, max_value=120))
htmx_headers = st.one_of(
    st.just({}),
    st.builds(lambda target, trigger: {"HX-Request": "true", "HX-Target": target,
                                       "HX-Trigger": trigger},
              st.sampled_from(HTMX_TARGETS), st.sampled_from(["", "tasks", f"<{MARK}>"])),
)
#: Anything but a run id: a path segment the run routes must refuse.
not_a_run_id = hostile_text.filter(lambda s: not is_run_id(s.strip().lower()))

#: The routes whose upstream calls this test knows: none of them calls lobstr for refused input,
#: nor for anything but a run id (these tests never request a valid unloaded one).
KNOWN_ENDPOINTS = {"home.index", "run.page", "run.refresh", "exports.tasks",
                   "api.runtasks", "health.healthz"}


@pytest.fixture(scope="module")
def fake() -> Iterator[tuple[Flask, str]]:
    """The fake lobstr API (demo runs) on a loopback port, shared by this module's tests."""
    fake = FakeLobstr(tokens={TOKEN})
    with fake.serve() as base_url:
        yield fake.app, base_url


@pytest.fixture(scope="module")
def dashboard(fake: tuple[Flask, str], tmp_path_factory: Any) -> Flask:
    """A dashboard against the fake with the hostile demo run already loaded."""
    _fake_app, base_url = fake
    app = create_app({"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url,
                      "DATA_DIR": str(tmp_path_factory.mktemp("hostile")),
                      "LOAD_WAIT_SECONDS": 10.0, "EXPORT_WAIT_SECONDS": 10.0,
                      "LOBSTR_READ_TIMEOUT": 2.0, "LOBSTR_RETRY_BUDGET": 3.0,
                      # Refreshes reload the run many times over: no pacing toward the fake.
                      "LOBSTR_BACKOFF_BASE": 0.01, "LOBSTR_RATE_LIMIT": 0})
    client = app.test_client()
    assert client.get(f"/runs/{LOADED}/tasks.json").json["complete"] is True
    assert client.get(f"/runs/{LOADED}").status_code == 200
    return app


def upstream_requests(fake_app: Flask) -> int:
    return len(fake_app.extensions["fake"].requests)


def check_answer(response: Any, label: str) -> None:
    """No 500 (nor any 5xx: nothing here needs lobstr), and nothing reflected unescaped."""
    body = response.get_data(as_text=True)
    assert response.status_code < 500, f"{label} → {response.status_code}: {body[:400]}"
    if response.mimetype == "text/html":
        for raw in UNESCAPED:
            assert raw not in body, f"{label} reflected {raw!r} unescaped"
    for name, value in response.headers.items():
        assert "\n" not in value and "\r" not in value, f"{label}: header {name} split"


def routes(app: Flask) -> list[Any]:
    """Every rule of the app but static files, in a stable order."""
    return sorted((r for r in app.url_map.iter_rules() if r.endpoint != "static"),
                  key=lambda r: (r.rule, sorted(r.methods or ())))


def build_path(app: Flask, rule: Any, values: dict[str, str]) -> str:
    """The rule's path with hostile values, percent-encoded as a browser would send them."""
    adapter = app.url_map.bind("localhost")
    try:
        path = adapter.build(rule.endpoint, values, method=next(iter(methods(rule))))
    except (BuildError, ValueError, TypeError):
        path = rule.rule
        for name, value in values.items():
            path = re.sub(rf"<(?:[^:>]+:)?{name}>", quote(value, safe=""), path)
    return urlsplit(path).path


def methods(rule: Any) -> list[str]:
    return sorted((rule.methods or {"GET"}) - {"HEAD", "OPTIONS"}) or ["GET"]


def send(client: Any, method: str, path: str, pairs: list[tuple[str, str]],
         headers: dict[str, str]) -> Any:
    if method == "GET":
        return client.get(path, query_string=pairs, headers=headers)
    return client.open(path, method=method, data=MultiDict(pairs), headers=headers)


@settings(max_examples=150, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(data=st.data())
def test_every_route_survives_hostile_paths_and_parameters(dashboard: Flask, fake: Any,
                                                           data: Any) -> None:
    fake_app, _base = fake
    rules = routes(dashboard)
    rule = data.draw(st.sampled_from(rules), label="route")
    method = data.draw(st.sampled_from(methods(rule)), label="method")
    values = {name: data.draw(not_a_run_id if "run" in name else hostile_text, label=name)
              for name in sorted(rule.arguments)}
    path = build_path(dashboard, rule, values)
    pairs = data.draw(st.one_of(query_pairs, repeated_pairs), label="query")
    headers = data.draw(htmx_headers, label="headers")
    proxy_with_run = rule.endpoint == "api.runtasks" and any(
        k == "run" and is_run_id(v.strip()) for k, v in pairs)
    before = upstream_requests(fake_app)
    response = send(dashboard.test_client(), method, path, pairs, headers)
    check_answer(response, f"{method} {path}")
    called = upstream_requests(fake_app) - before
    if rule.endpoint in KNOWN_ENDPOINTS and not proxy_with_run:
        assert called == 0, f"{method} {path} {pairs[:3]} called lobstr"
    if response.status_code == 400:
        assert called == 0, f"{method} {path} was refused after calling lobstr"


@settings(max_examples=120, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pairs=st.one_of(query_pairs, repeated_pairs), headers=htmx_headers,
       route=st.sampled_from(["", "/tasks.csv", "/tasks.json"]))
def test_a_loaded_run_answers_any_query_from_the_store(dashboard: Flask, fake: Any,
                                                       pairs: list[tuple[str, str]],
                                                       headers: dict[str, str],
                                                       route: str) -> None:
    fake_app, _base = fake
    before = upstream_requests(fake_app)
    response = dashboard.test_client().get(f"/runs/{LOADED}{route}", query_string=pairs,
                                           headers=headers)
    check_answer(response, f"/runs/{LOADED}{route}?{pairs[:3]}")
    assert response.status_code in (200, 400)
    if response.status_code == 400:
        assert upstream_requests(fake_app) == before
        text = response.get_data(as_text=True)
        assert ("json" in response.mimetype) == route.endswith((".csv", ".json")), text[:200]


OWN_PAGE = f"/runs/{LOADED}"


@settings(max_examples=80, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(next_url=st.one_of(
    hostile_text,
    st.builds(lambda q: f"{OWN_PAGE}?{q}", hostile_text),
    st.builds(lambda a, b: f"{OWN_PAGE}?q={a}&status={b}", hostile_text, hostile_text),
    st.sampled_from(["//evil.example/", "https://evil.example/", f"{OWN_PAGE}/../../x",
                     f"{OWN_PAGE}?/\\evil", "/\\evil.example", f" {OWN_PAGE}",
                     f"{OWN_PAGE}?\r\nLocation: //evil.example", f"{OWN_PAGE}@evil.example"])),
       only_failed=st.sampled_from(["1", "1", "0", "", f"<{MARK}>"]))
@example(next_url=f"{OWN_PAGE}?\r\nLocation: //evil.example", only_failed="1")
@example(next_url=f"{OWN_PAGE}?q=a\nb", only_failed="1")
@example(next_url=f"{OWN_PAGE}?q=\"><{MARK}>", only_failed="1")
def test_refresh_never_redirects_elsewhere(dashboard: Flask, next_url: str,
                                           only_failed: str) -> None:
    # Regression: a newline in `next` used to reach the Location header and answer 500.
    response = dashboard.test_client().post(f"{OWN_PAGE}/refresh",
                                            data={"next": next_url, "only_failed": only_failed})
    # A refresh starts a load in the background: let it end before the next example.
    dashboard.extensions["lobstr_dash"].loader.join(LOADED, 10)
    check_answer(response, f"refresh next={next_url!r}")
    assert response.status_code == 303
    location = urlsplit(response.headers["Location"])
    assert (location.scheme, location.netloc) in (("", ""), ("http", "localhost"))
    assert location.path == OWN_PAGE
    for raw in ("<", ">", '"', " ", "\\"):
        assert raw not in response.headers["Location"]


@settings(max_examples=100, deadline=None, derandomize=True, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(pasted=st.one_of(hostile_text, st.builds(
    lambda a, b: f"{a}https://app.lobstr.io/runs/{LOADED.upper()}{b}", hostile_text, hostile_text)))
def test_pasted_text_finds_a_run_or_says_why(dashboard: Flask, fake: Any, pasted: str) -> None:
    fake_app, _base = fake
    before = upstream_requests(fake_app)
    response = dashboard.test_client().get("/", query_string={"run": pasted})
    check_answer(response, f"paste {pasted!r}")
    assert response.status_code in (303, 400)
    if response.status_code == 303:
        target = urlsplit(response.headers["Location"]).path
        assert re.fullmatch(r"/runs/[0-9a-f]{32}", target)
        assert target[len("/runs/"):] in pasted.lower()
    assert upstream_requests(fake_app) == before  # finding the id never asks lobstr


def test_unknown_routes_and_methods_are_4xx_in_our_format(dashboard: Flask) -> None:
    client = dashboard.test_client()
    for method, path in [("GET", f"/runs/{LOADED}/tasks.xml"), ("DELETE", f"/runs/{LOADED}"),
                         ("PUT", "/healthz"), ("GET", f"/<{MARK}>"), ("GET", "/runs/"),
                         ("GET", f"/runs/{LOADED}/refresh"), ("POST", f"/runs/{LOADED}")]:
        response = client.open(path, method=method)
        check_answer(response, f"{method} {path}")
        assert 400 <= response.status_code < 500
