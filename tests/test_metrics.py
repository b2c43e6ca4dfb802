"""Operations: /metrics in Prometheus format, and one log line per request without secrets."""

from __future__ import annotations

import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parent.parent
RUN = "5b1c0e6a2f3d4c5b8a9e0f1d2c3b4a59"
LOG_LINE = re.compile(r"^(GET|POST) (/\S*) (\d{3}) (\d+)B (\d+\.\d)ms user=(\S+) addr=(\S+)$")


def rows(run_id: str, count: int) -> list[dict[str, Any]]:
    """Rows shaped like /v1/runtasks data; every third task is short."""
    return [{
        "object": "runtask", "id": f"{i + 1:032x}", "task": f"{i + 7:032x}", "run": run_id,
        "status": "completed", "done_reason": "completed", "done_reason_desc": None,
        "params": {"url": f"https://example.com/search/{i}"},
        "started_at": "2025-02-10T14:30:58Z", "ended_at": "2025-02-10T14:31:10Z",
        "total_results": 100, "last_result": 50 if i % 3 == 0 else 100,
        "total_pages": 1, "last_page": 0, "last_collection_at": "2025-02-10T14:31:10Z",
    } for i in range(count)]


def scrape(client: Any) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """GET /metrics and parse it: {(sample name, sorted labels): value}."""
    response = client.get("/metrics")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=")
    return parse(response.get_data(as_text=True))


def parse(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Prometheus text → {(sample name, sorted labels): value}."""
    samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            samples[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return samples


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    """One sample's value (0 when absent: a counter that never moved)."""
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@pytest.fixture
def run_app(make_app: Callable[..., Flask], upstream: Any) -> Callable[..., Flask]:
    """Apps against the mocked lobstr, which serves RUN with 250 tasks (3 upstream pages)."""
    upstream.add_run(RUN, rows(RUN, 250))

    def make(**overrides: Any) -> Flask:
        return make_app(**overrides)
    return make


def test_metrics_count_requests_by_route_method_and_status(run_app: Callable[..., Flask]) -> None:
    client = run_app().test_client()
    assert client.get(f"/runs/{RUN}").get_data()
    for _ in range(3):
        client.get("/healthz").get_data()
    for junk in ("/wp-admin", "/no/such/page"):
        response = client.get(junk)
        assert response.status_code == 404 and response.get_data()
    client.get(f"/runs/{RUN}/tasks.csv").get_data()
    samples = scrape(client)
    requests = "lobstr_dash_http_requests_total"
    assert value(samples, requests, route="/runs/<run_id>", method="GET", status="200") == 1
    assert value(samples, requests, route="/healthz", method="GET", status="200") == 3
    # Unmatched URLs share one label: junk requests cannot grow the number of series.
    assert value(samples, requests, route="(unmatched)", method="GET", status="404") == 2
    assert not any("wp-admin" in str(key) for key in samples)
    latency = "lobstr_dash_http_request_duration_seconds"
    assert value(samples, latency + "_count", route="/runs/<run_id>/tasks.<fmt>", method="GET") == 1
    assert value(samples, latency + "_sum", route="/healthz", method="GET") > 0
    assert value(samples, latency + "_bucket", route="/healthz", method="GET", le="+Inf") == 3


def test_metrics_count_upstream_requests_by_endpoint_and_outcome(run_app: Callable[..., Flask],
                                                                  upstream: Any) -> None:
    upstream.fail(RUN, 2, 500, times=1)
    app = run_app()
    client = app.test_client()
    assert client.get(f"/runs/{RUN}").status_code == 200
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    samples = scrape(client)
    calls = "lobstr_dash_upstream_requests_total"
    assert value(samples, calls, endpoint="runtasks", outcome="200") == 3
    assert value(samples, calls, endpoint="runtasks", outcome="500") == 1  # retried, then fine
    assert value(samples, "lobstr_dash_upstream_request_duration_seconds_count", endpoint="runtasks") == 4
    assert upstream.count(RUN) == 4


def test_metrics_count_rate_limit_waits(run_app: Callable[..., Flask]) -> None:
    # Two requests per 0.2 s window: the third page has to wait for a slot.
    app = run_app(LOBSTR_RATE_LIMIT=2, LOBSTR_RATE_WINDOW=0.2)
    client = app.test_client()
    client.get(f"/runs/{RUN}").get_data()
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    samples = scrape(client)
    limiter = app.extensions["lobstr_dash"].client.limiter
    assert value(samples, "lobstr_dash_rate_limit_waits_total") == limiter.waits >= 1
    assert value(samples, "lobstr_dash_rate_limit_wait_seconds_total") == pytest.approx(
        limiter.waited_seconds) and limiter.waited_seconds > 0.1


def test_metrics_show_loads_in_flight(run_app: Callable[..., Flask], upstream: Any) -> None:
    upstream.gate = threading.Event()
    app = run_app(LOAD_WAIT_SECONDS=0.05)
    client = app.test_client()
    try:
        assert client.get(f"/runs/{RUN}").status_code == 200  # a progress bar: the load goes on
        assert value(scrape(client), "lobstr_dash_loads_in_flight") == 1
    finally:
        upstream.gate.set()
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    assert value(scrape(client), "lobstr_dash_loads_in_flight") == 0


def test_one_log_line_per_request_with_its_duration_and_never_the_token(
        run_app: Callable[..., Flask], upstream: Any, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)  # every logger, every level: the token must be in none
    upstream.fail(RUN, 3, 401, {"detail": "Invalid token."}, times=0)
    app = run_app()
    client = app.test_client()
    sent = [
        ("GET", f"/runs/{RUN}?sort=gap&q=secret-filter"),
        ("GET", f"/runs/{RUN}/tasks.csv?short=1"),
        ("GET", f"/api/v1/runtasks?run={RUN}&page=3"),  # upstream refuses the token: an error page
        ("POST", f"/runs/{RUN}/refresh"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
    ]
    bodies = {}
    for method, url in sent:
        response = client.open(url, method=method)
        bodies[url] = response.get_data()
    app.extensions["lobstr_dash"].loader.join(RUN, 10)
    lines = [r.getMessage() for r in caplog.records if r.name == "lobstr_dash.request"]
    assert len(lines) == len(sent)
    for (method, url), line in zip(sent, lines, strict=True):
        match = LOG_LINE.match(line)
        assert match, line
        assert match[1] == method and match[2] == url.split("?")[0]  # never the query string
        assert int(match[4]) == len(bodies[url])  # counted as sent, streaming included
        assert float(match[5]) >= 0 and match[6] == "-" and match[7] == "127.0.0.1"
    assert " 502 " in lines[2]  # lobstr refused the token: a bad gateway, not the user's 401
    token = app.config["LOBSTR_TOKEN"]
    everything = caplog.text + "".join(str(r.args) for r in caplog.records)
    assert token not in everything and "secret-filter" not in everything
    assert upstream.tokens_seen and all(t == f"Token {token}" for t in upstream.tokens_seen)


def test_a_streamed_export_is_logged_when_its_last_byte_is_sent(
        run_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lobstr_dash.request")
    client = run_app().test_client()
    response = client.get(f"/runs/{RUN}/tasks.csv")
    first = next(iter(response.response))
    assert first and not [r for r in caplog.records if "tasks.csv" in r.getMessage()]
    rest = b"".join(response.response)
    (line,) = [r.getMessage() for r in caplog.records if "tasks.csv" in r.getMessage()]
    assert f" 200 {len(first) + len(rest)}B " in line


def test_control_characters_in_a_path_cannot_forge_a_log_line(
        run_app: Callable[..., Flask], caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="lobstr_dash.request")
    run_app().test_client().get("/x%0AGET /admin 200 0B 0.1ms user=root").get_data()
    (line,) = [r.getMessage() for r in caplog.records if r.name == "lobstr_dash.request"]
    assert "\n" not in line and "\\n" in line


def free_port() -> int:
    """A free loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_get(url: str) -> bytes:
    """GET over a new connection (so gunicorn may hand it to either worker)."""
    with urllib.request.urlopen(url, timeout=10) as response:  # noqa: S310 (loopback URL)
        return response.read()  # type: ignore[no-any-return]


@pytest.mark.slow
def test_metrics_add_up_over_gunicorn_workers(tmp_path: Path) -> None:
    port = free_port()
    env = {k: v for k, v in os.environ.items()
           if k not in ("PROMETHEUS_MULTIPROC_DIR", "LOBSTR_TOKEN", "LOBSTR_API_KEY", "URL_PREFIX",
                        "AUTH_USERS", "AUTH_USERS_FILE", "AUTH_PROXY_HEADER")}
    env.update(BIND=f"127.0.0.1:{port}", WEB_CONCURRENCY="2", GUNICORN_THREADS="2",
               DATA_DIR=str(tmp_path / "data"), DEMO_LATENCY_MS="0")
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("wb") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "app:app"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                http_get(base + "/healthz")
                break
            except OSError:
                assert time.monotonic() < deadline and server.poll() is None, log_path.read_text()
                time.sleep(0.1)
        sent = 1
        # Until both workers have answered some (the kernel decides who accepts), bounded.
        while sent < 400:
            for _ in range(20):
                http_get(base + "/healthz")
                sent += 1
            pids = set(re.findall(r"\[(\d+)\] \[INFO\] lobstr_dash.request: GET /healthz",
                                  log_path.read_text()))
            if len(pids) >= 2:
                break
        assert len(pids) == 2, "only one worker ever answered"
        # A request is counted when its answer is closed, a moment after the client has it:
        # wait (bounded) until the last one is in, then every scrape, whichever worker answers
        # it, counts the requests of both.
        deadline = time.monotonic() + 10
        while value(parse(http_get(base + "/metrics").decode()), "lobstr_dash_http_requests_total",
                    route="/healthz", method="GET", status="200") != sent:
            assert time.monotonic() < deadline, "the counts never added up"
            time.sleep(0.05)
        for _ in range(6):
            samples = parse(http_get(base + "/metrics").decode())
            assert value(samples, "lobstr_dash_http_requests_total", route="/healthz", method="GET",
                         status="200") == sent
    finally:
        server.terminate()
        server.wait(15)
    assert server.returncode == 0
