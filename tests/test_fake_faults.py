"""Fault injection, rate limiting and latency of the fake lobstr API."""

from __future__ import annotations

from typing import Any

import json
import threading
import time

import pytest
import requests
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.test import TestResponse

from lobstr_dash.fake import (
    DEMO_RUN_IDS,
    FakeConfig,
    FaultRule,
    create_fake_app,
    parse_fault,
    serve_in_thread,
)

AUTH = {"Authorization": "Token demo-token"}
CLEAN, ABORTED = DEMO_RUN_IDS["clean"], DEMO_RUN_IDS["aborted"]


def make(**config: object) -> tuple[Flask, FlaskClient]:
    app = create_fake_app(FakeConfig(**config))
    return app, app.test_client()


def runtasks(client: FlaskClient, run_id: str = CLEAN, **params: object) -> TestResponse:
    return client.get("/v1/runtasks", query_string={"run": run_id, **params}, headers=AUTH)


def test_status_fault_hits_only_its_page_and_only_times_times() -> None:
    app, client = make(faults=["runtasks:page=2:status=500:times=2"])
    assert runtasks(client, page=1).status_code == 200
    for _ in range(2):
        resp = runtasks(client, page=2)
        assert resp.status_code == 500
        assert resp.get_json() == {"errors": {"message": "Something went wrong",
                                              "type": "SomethingWentWrong", "code": 500}}
    assert runtasks(client, page=2).status_code == 200
    state = app.extensions["fake"]
    assert state.count("runtasks", page=2, status=500) == 2
    assert state.count("runtasks", page=2) == 3


def test_fault_scoped_to_one_run() -> None:
    _, client = make(faults=[FaultRule(run=ABORTED, status=503)])
    assert runtasks(client, CLEAN).status_code == 200
    resp = runtasks(client, ABORTED)
    assert resp.status_code == 503 and resp.get_json()["errors"]["code"] == 503
    _, legacy = make(faults=[FaultRule(run=ABORTED, status=503)], shapes="legacy")
    resp = runtasks(legacy, ABORTED)
    assert resp.status_code == 503 and set(resp.get_json()) == {"detail"}


def test_fault_without_times_lasts_forever() -> None:
    _, client = make(faults=[FaultRule(endpoint="stats", status=502)])
    for _ in range(5):
        resp = client.get(f"/v1/runs/{CLEAN}/stats", headers=AUTH)
        assert resp.status_code == 502 and resp.mimetype == "text/html"
    assert client.get(f"/v1/runs/{CLEAN}", headers=AUTH).status_code == 200


def test_error_shapes_for_each_status_in_the_current_docs() -> None:
    app, client = make()
    faults = app.extensions["fake"].faults
    faults.append(FaultRule(status=429, retry_after=7, times=1))
    resp = runtasks(client)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert resp.get_json() == {"errors": {
        "message": "Request was throttled. Expected available in 7 seconds.", "type": "Throttled",
        "code": 429}}
    faults.append({"status": 401, "times": 1})
    assert runtasks(client).get_json() == {"errors": {"message": "Invalid token.",
                                                      "type": "NotAuthenticated", "code": 401}}
    faults.append("runtasks:status=404:times=1")
    resp = runtasks(client)
    assert resp.status_code == 404 and resp.get_json()["errors"]["type"] == "RunDoesNotExist"
    faults.append("runtasks:status=500:times=1")
    assert runtasks(client).get_json()["errors"] == {"message": "Something went wrong",
                                                     "type": "SomethingWentWrong", "code": 500}
    assert runtasks(client).status_code == 200


def test_error_shapes_for_each_status_in_the_older_docs() -> None:
    app, client = make(shapes="legacy")
    faults = app.extensions["fake"].faults
    faults.append(FaultRule(status=429, retry_after=7, times=1))
    resp = runtasks(client)
    assert resp.status_code == 429 and resp.headers["Retry-After"] == "7"
    assert resp.get_json() == {"error": "Request was throttled. Expected available in 7 seconds.",
                               "type": "RateLimitExceeded", "code": 429}
    faults.append({"status": 401, "times": 1})
    resp = runtasks(client)
    assert resp.status_code == 401 and resp.get_json() == {"detail": "Invalid token."}
    faults.append("runtasks:status=404:times=1")
    resp = runtasks(client)
    assert resp.status_code == 404 and resp.get_json()["error"]["type"] == "not_found_error"
    assert runtasks(client).status_code == 200


def test_body_garbage_and_truncated_are_http_200_but_not_json() -> None:
    _, client = make(faults=["runtasks:page=1:body=garbage:times=1",
                             "runtasks:page=2:body=truncated:times=1"])
    for page in (1, 2):
        resp = runtasks(client, page=page)
        assert resp.status_code == 200
        with pytest.raises(json.JSONDecodeError):
            json.loads(resp.get_data(as_text=True))
    assert runtasks(client, page=2).get_json()["page"] == 2


def test_body_wrong_shape_and_bare_list() -> None:
    _, client = make(faults=["runtasks:body=wrong_shape:times=1",
                             "runtasks:body=bare_list:times=1"])
    assert runtasks(client).get_json() == {"results": [], "count": 120}
    body = runtasks(client).get_json()
    assert isinstance(body, list) and len(body) == 50


def test_body_empty_page_keeps_the_envelope() -> None:
    _, client = make(faults=["runtasks:page=2:body=empty_page"])
    body = runtasks(client, page=2).get_json()
    assert body["data"] == [] and body["total_results"] == 120 and body["next"]


def test_body_duplicate_rows_repeats_the_previous_page_tail() -> None:
    _, client = make(faults=["runtasks:page=2:body=duplicate_rows"])
    pages = [runtasks(client, ABORTED, page=p, limit=100).get_json()["data"] for p in (1, 2, 3)]
    ids = [r["id"] for page in pages for r in page]
    assert len(pages[1]) == 120
    assert [r["id"] for r in pages[1][:20]] == [r["id"] for r in pages[0][-20:]]
    assert len(ids) == 320 and len(set(ids)) == 300


def test_delay_fault_and_latency_slow_responses_down() -> None:
    _, client = make(faults=["runtasks:delay_ms=120:times=1"])
    started = time.perf_counter()
    assert runtasks(client).status_code == 200
    assert time.perf_counter() - started >= 0.12
    _, slow = make(latency_ms=60)
    started = time.perf_counter()
    slow.get("/v1/squids", headers=AUTH)
    assert time.perf_counter() - started >= 0.06


def test_reset_restores_configured_faults() -> None:
    app, client = make(faults=["runtasks:status=500:times=1"])
    state = app.extensions["fake"]
    state.faults.append("runtasks:status=503")
    assert runtasks(client).status_code == 500
    assert runtasks(client).status_code == 503
    state.reset()
    assert len(state.faults) == 1
    assert runtasks(client).status_code == 500
    assert runtasks(client).status_code == 200


def test_parse_fault_rejects_bad_specs() -> None:
    rule = parse_fault("runtasks:run=abc:page=3:status=429:retry_after=9:times=2")
    assert (rule.run, rule.page, rule.status, rule.retry_after, rule.times) == (
        "abc", 3, 429, 9, 2)
    for bad in ("nowhere:status=500", "runtasks:status=418", "runtasks:body=weird",
                "runtasks:colour=red", "runtasks:page"):
        with pytest.raises(ValueError):
            parse_fault(bad)


def test_rate_limit_sliding_window_with_injected_clock() -> None:
    now = [1000.0]
    _, client = make(rate_limit_per_minute=3, rate_limit_window_seconds=10, clock=lambda: now[0],
                     shapes="legacy")
    remaining = []
    for step in (0, 2, 2):
        now[0] += step
        resp = client.get("/v1/squids", headers=AUTH)
        assert resp.status_code == 200 and resp.headers["X-RateLimit-Limit"] == "3"
        remaining.append(resp.headers["X-RateLimit-Remaining"])
    assert remaining == ["2", "1", "0"]
    now[0] = 1005.0
    # lobstr limits each endpoint on its own: runtasks still has its whole window.
    assert client.get(f"/v1/runtasks?run={CLEAN}", headers=AUTH).status_code == 200
    resp = client.get("/v1/squids", headers=AUTH)
    assert resp.status_code == 429
    assert resp.headers["Retry-After"] == "5"
    assert resp.headers["X-RateLimit-Reset"] == "1010"
    assert resp.get_json() == {"error": "Request was throttled. Expected available in 5 seconds.",
                               "type": "RateLimitExceeded", "code": 429}
    now[0] = 1010.5
    assert client.get("/v1/squids", headers=AUTH).status_code == 200
    assert client.get("/v1/squids", headers=AUTH).status_code == 429


def test_rate_limit_is_per_token() -> None:
    _, client = make(tokens=None, rate_limit_per_minute=1)
    assert client.get("/v1/squids", headers={"Authorization": "Token a"}).status_code == 200
    assert client.get("/v1/squids", headers={"Authorization": "Token a"}).status_code == 429
    assert client.get("/v1/squids", headers={"Authorization": "Token b"}).status_code == 200


def test_rate_limit_three_per_second_on_the_fakes_clock(fake_clock: Any) -> None:
    _, client = make(rate_limit_per_minute=3, rate_limit_window_seconds=1, clock=fake_clock)
    codes = [client.get("/v1/squids", headers=AUTH).status_code for _ in range(4)]
    assert codes == [200, 200, 200, 429]
    assert client.get("/v1/squids", headers=AUTH).headers["Retry-After"] == "1"
    fake_clock.advance(1.05)
    assert client.get("/v1/squids", headers=AUTH).status_code == 200


def test_rate_limit_is_thread_safe_over_http() -> None:
    app = create_fake_app(FakeConfig(rate_limit_per_minute=5))
    base_url, stop = serve_in_thread(app)
    codes: list[int] = []
    lock = threading.Lock()

    def call() -> None:
        code = requests.get(f"{base_url}/squids", headers=AUTH, timeout=5).status_code
        with lock:
            codes.append(code)

    try:
        threads = [threading.Thread(target=call) for _ in range(16)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        stop()
    assert sorted(codes) == [200] * 5 + [429] * 11
