"""Behaviour of the fake lobstr API: envelope, paging, auth, errors, derived run objects."""

from __future__ import annotations

import re
import time
from urllib.parse import parse_qs, urlsplit

import pytest
from flask.testing import FlaskClient

from lobstr_dash.fake import (
    DEMO_RUN_IDS,
    DEMO_RUNS,
    FakeConfig,
    create_fake_app,
    synthetic_run_id,
)

AUTH = {"Authorization": "Token demo-token"}
HEX32 = re.compile(r"^[0-9a-f]{32}$")
ROW_KEYS = {
    "object", "id", "task", "run", "status", "params", "started_at", "ended_at",
    "total_results", "last_result", "total_pages", "last_page", "done_reason",
    "done_reason_desc", "last_collection_at",
}
CLEAN, ABORTED, MIXED = DEMO_RUN_IDS["clean"], DEMO_RUN_IDS["aborted"], DEMO_RUN_IDS["mixed"]
LIVE, EMPTY, BIG = DEMO_RUN_IDS["live"], DEMO_RUN_IDS["empty"], DEMO_RUN_IDS["big"]


@pytest.fixture()
def client() -> FlaskClient:
    return create_fake_app().test_client()


@pytest.fixture()
def legacy() -> FlaskClient:
    """The fake answering in the shapes of lobstr's docs before August 2026."""
    return create_fake_app(FakeConfig(shapes="legacy")).test_client()


def get(client: FlaskClient, url: str, **params: object):
    return client.get(url, query_string=params, headers=AUTH)


def all_rows(client: FlaskClient, run_id: str, limit: int = 100) -> list[dict]:
    rows, page = [], 1
    while True:
        body = get(client, "/v1/runtasks", run=run_id, page=page, limit=limit).get_json()
        rows += body["data"]
        if body["next"] is None:
            return rows
        page += 1


def test_demo_catalogue_has_six_runs_with_stable_hex_ids() -> None:
    assert [d.task_count for d in DEMO_RUNS] == [120, 300, 400, 200, 0, 5000]
    assert all(HEX32.match(d.run_id) and HEX32.match(d.squid_id) for d in DEMO_RUNS)
    assert len({d.run_id for d in DEMO_RUNS}) == 6
    assert all(d.title and d.description and d.squid_name for d in DEMO_RUNS)


def test_first_page_envelope_and_links(client: FlaskClient) -> None:
    body = get(client, "/v1/runtasks", run=CLEAN).get_json()
    assert {k: body[k] for k in ("total_results", "limit", "page", "total_pages",
                                 "result_from", "result_to")} == {
        "total_results": 120, "limit": 50, "page": 1, "total_pages": 3,
        "result_from": 1, "result_to": 50}
    assert len(body["data"]) == 50
    assert body["previous"] is None
    nxt = urlsplit(body["next"])
    assert (nxt.scheme, nxt.netloc, nxt.path) == ("http", "localhost", "/v1/runtasks")
    assert parse_qs(nxt.query) == {"run": [CLEAN], "page": ["2"]}


def test_last_page_envelope(client: FlaskClient) -> None:
    body = get(client, "/v1/runtasks", run=CLEAN, limit=50, page=3).get_json()
    assert (body["result_from"], body["result_to"], len(body["data"])) == (101, 120, 20)
    assert body["next"] is None
    assert parse_qs(urlsplit(body["previous"]).query) == {
        "run": [CLEAN], "limit": ["50"], "page": ["2"]}


def test_limit_is_capped_at_100(client: FlaskClient) -> None:
    body = get(client, "/v1/runtasks", run=ABORTED, limit=500).get_json()
    assert body["limit"] == 100
    assert len(body["data"]) == 100
    assert body["total_pages"] == 3


def test_page_beyond_the_end_is_empty(client: FlaskClient) -> None:
    resp = get(client, "/v1/runtasks", run=CLEAN, page=9)
    body = resp.get_json()
    assert resp.status_code == 200
    assert body["data"] == [] and body["next"] is None and body["total_results"] == 120


def test_rows_have_the_documented_shape(client: FlaskClient) -> None:
    for run_id in (CLEAN, ABORTED, MIXED, BIG):
        for row in get(client, "/v1/runtasks", run=run_id, limit=100).get_json()["data"]:
            assert set(row) == ROW_KEYS
            assert row["object"] == "runtask" and row["run"] == run_id
            assert HEX32.match(row["id"]) and HEX32.match(row["task"])
            assert isinstance(row["params"], dict)


@pytest.mark.parametrize("limit", [1, 7, 37, 100])
def test_paging_yields_every_row_exactly_once(client: FlaskClient, limit: int) -> None:
    rows = all_rows(client, ABORTED, limit)
    ids = [r["id"] for r in rows]
    assert len(ids) == 300 and len(set(ids)) == 300


def test_following_next_links_reaches_every_row(client: FlaskClient) -> None:
    url, seen = f"/v1/runtasks?run={MIXED}&limit=100", []
    while url:
        body = client.get(url, headers=AUTH).get_json()
        seen += [r["id"] for r in body["data"]]
        url = body["next"]
    assert len(seen) == len(set(seen)) == 400


def test_same_seed_gives_same_rows_in_two_apps() -> None:
    first = create_fake_app().test_client()
    second = create_fake_app().test_client()
    for run_id in (MIXED, BIG):
        a = get(first, "/v1/runtasks", run=run_id, page=2, limit=100).get_data()
        b = get(second, "/v1/runtasks", run=run_id, page=2, limit=100).get_data()
        assert a == b
    other = create_fake_app(FakeConfig(seed=7)).test_client()
    c = get(other, "/v1/runtasks", run=MIXED, limit=5).get_json()["data"]
    d = get(first, "/v1/runtasks", run=MIXED, limit=5).get_json()["data"]
    assert [r["id"] for r in c] != [r["id"] for r in d]


def test_missing_token_is_401(client: FlaskClient, legacy: FlaskClient) -> None:
    resp = client.get(f"/v1/runtasks?run={CLEAN}")
    assert resp.status_code == 401
    assert resp.get_json() == {"errors": {"message": "Authentication credentials were not provided.",
                                          "type": "NotAuthenticated", "code": 401}}
    resp = legacy.get(f"/v1/runtasks?run={CLEAN}")
    assert resp.status_code == 401
    assert resp.get_json() == {"detail": "Authentication credentials were not provided."}


@pytest.mark.parametrize("header", ["Token nope", "Token  ", "token wrong"])
def test_bad_token_is_401(client: FlaskClient, legacy: FlaskClient, header: str) -> None:
    resp = client.get(f"/v1/runtasks?run={CLEAN}", headers={"Authorization": header})
    assert resp.status_code == 401
    assert resp.get_json()["errors"]["type"] == "NotAuthenticated"
    resp = legacy.get(f"/v1/runtasks?run={CLEAN}", headers={"Authorization": header})
    assert resp.status_code == 401
    assert set(resp.get_json()) == {"detail"}


def test_bearer_scheme_is_not_accepted(client: FlaskClient) -> None:
    resp = client.get(f"/v1/runtasks?run={CLEAN}", headers={"Authorization": "Bearer demo-token"})
    assert resp.status_code == 401


def test_lower_case_header_and_any_token_mode() -> None:
    strict = create_fake_app(FakeConfig(tokens={"t1", "t2"})).test_client()
    assert strict.get("/v1/squids", headers={"authorization": "Token t2"}).status_code == 200
    demo = strict.get("/v1/squids", headers={"authorization": "Token demo-token"})
    assert demo.status_code == 401
    loose = create_fake_app(FakeConfig(tokens=None)).test_client()
    assert loose.get("/v1/squids", headers={"Authorization": "Token whatever"}).status_code == 200
    assert loose.get("/v1/squids", headers={"Authorization": "Token"}).status_code == 401


def test_missing_run_is_400(client: FlaskClient, legacy: FlaskClient) -> None:
    resp = get(client, "/v1/runtasks")
    assert resp.status_code == 400
    assert set(resp.get_json()) == {"errors"} and resp.get_json()["errors"]["code"] == 400
    resp = get(legacy, "/v1/runtasks")
    assert resp.status_code == 400
    assert set(resp.get_json()) == {"detail"}


@pytest.mark.parametrize(("param", "value"), [
    ("page", "0"), ("page", "abc"), ("page", "-2"), ("limit", "0"), ("limit", "x"),
])
def test_invalid_paging_is_400_validation_error(client: FlaskClient, legacy: FlaskClient,
                                                param: str, value: str) -> None:
    resp = get(client, "/v1/runtasks", run=CLEAN, **{param: value})
    assert resp.status_code == 400
    error = resp.get_json()["errors"]
    assert error["type"] == "ParamsInvalid" and error["code"] == 400 and param in error["message"]
    resp = get(legacy, "/v1/runtasks", run=CLEAN, **{param: value})
    assert resp.status_code == 400
    error = resp.get_json()["error"]
    assert error["type"] == "validation_error" and error["param"] == param
    assert error["message"]


def test_unknown_run_is_404(client: FlaskClient, legacy: FlaskClient) -> None:
    resp = get(client, "/v1/runtasks", run="0" * 32)
    assert resp.status_code == 404
    assert resp.get_json() == {
        "errors": {"message": "Run not found", "type": "RunDoesNotExist", "code": 404}}
    resp = get(legacy, "/v1/runtasks", run="0" * 32)
    assert resp.status_code == 404
    assert resp.get_json() == {
        "error": {"message": "Run not found", "type": "not_found_error", "param": "run"}}
    for url in (f"/v1/runs/{'0' * 32}", f"/v1/runs/{'0' * 32}/stats"):
        body = get(legacy, url).get_json()
        assert body["error"]["param"] == "run_hash" and body["error"]["type"] == "not_found_error"
        assert get(client, url).get_json()["errors"]["type"] == "RunDoesNotExist"
    assert get(client, "/v1/squids/nope").get_json()["errors"]["type"] == "SquidDoesNotExistException"
    assert get(client, "/v1/runs", squid="nope").status_code == 404


def test_empty_run(client: FlaskClient) -> None:
    body = get(client, "/v1/runtasks", run=EMPTY).get_json()
    assert body["data"] == [] and body["total_results"] == 0
    assert body["next"] is None and body["previous"] is None
    stats = get(client, f"/v1/runs/{EMPTY}/stats").get_json()
    assert stats["total_tasks"] == 0 and stats["is_done"] is True


def test_clean_run_rows(client: FlaskClient) -> None:
    rows = all_rows(client, CLEAN)
    assert {(r["status"], r["done_reason"]) for r in rows} == {("completed", "completed")}
    assert all(r["total_results"] == r["last_result"] for r in rows)
    assert sum(r["total_results"] == 0 for r in rows) >= 3


def test_aborted_run_rows(client: FlaskClient) -> None:
    rows = all_rows(client, ABORTED)
    aborted = [r for r in rows if r["status"] == "aborted"]
    assert sum(r["status"] == "completed" for r in rows) >= 150
    assert all(r["done_reason"] == "run_aborted" for r in aborted)
    never = [r for r in aborted if r["started_at"] is None]
    assert len(never) >= 20 and all(r["last_result"] == 0 for r in never)
    partial = [r for r in aborted if r["started_at"] and r["total_results"]]
    assert len(partial) >= 50 and all(r["last_result"] < r["total_results"] for r in partial)


def test_mixed_run_covers_the_debugging_cases(client: FlaskClient) -> None:
    rows = all_rows(client, MIXED)
    reasons = {r["done_reason"] for r in rows}
    assert {"cookies_expired", "wrong_credentials", "account_blocked", "no_account_available",
            "no_credits_left", "website_inaccessible", "request_failed", "proxy_timeout",
            None, "completed"} <= reasons
    failing = [r for r in rows if r["done_reason"] not in ("completed", None)]
    assert all(r["status"] == "error" for r in failing)
    assert any(r["total_results"] is None for r in rows)
    assert any(r["total_results"] is not None and r["last_result"] > r["total_results"]
               for r in rows)
    assert any(r["done_reason_desc"] for r in rows)
    values = [str(v) for r in rows for v in r["params"].values()]
    assert "<script>alert(1)</script>" in values
    assert "javascript:alert(1)" in values
    assert any(v.startswith("=HYPERLINK(") for v in values)
    assert any(isinstance(v, dict) for r in rows for v in r["params"].values())


def test_timestamp_formats_vary(client: FlaskClient) -> None:
    stamps = [r["started_at"] for r in get(client, "/v1/runtasks", run=BIG, limit=100)
              .get_json()["data"] if r["started_at"]]
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", s) for s in stamps)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z", s) for s in stamps)
    assert any(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d", s) for s in stamps)


def test_run_object_and_stats_agree_with_rows(client: FlaskClient, legacy: FlaskClient) -> None:
    rows = all_rows(client, ABORTED)
    run = get(client, f"/v1/runs/{ABORTED}").get_json()
    assert run["object"] == "run" and run["id"] == ABORTED
    assert (run["status"], run["done_reason"]) == ("aborted", "aborted")
    assert run["total_results"] == sum(r["last_result"] for r in rows)
    # The current get-run page: duration in seconds, no is_done, mail_done/mail_time.
    assert isinstance(run["duration"], float) and "is_done" not in run
    assert {"mail_done", "mail_time"} <= set(run) and "email_done" not in run
    assert not run["created_at"].endswith("Z")
    assert isinstance(run["credit_used"], float)
    old = get(legacy, f"/v1/runs/{ABORTED}").get_json()
    assert re.fullmatch(r"\d+:\d\d:\d\d(\.\d{6})?", old["duration"])
    assert old["is_done"] is True and "email_done" in old and "mail_done" not in old
    hours, minutes, seconds = old["duration"].split(":")
    assert abs(int(hours) * 3600 + int(minutes) * 60 + float(seconds) - run["duration"]) < 0.001
    stats = get(client, f"/v1/runs/{ABORTED}/stats").get_json()
    assert "status" not in stats
    assert stats["percent_done"] == "100%" and stats["total_tasks"] == 300
    assert stats["results_total"] == sum(r["total_results"] or 0 for r in rows)
    assert stats["results_done"] == run["total_results"]
    assert stats["current_task"] == ""


def test_runs_list_is_newest_first_with_float_duration(client: FlaskClient) -> None:
    squid = DEMO_RUNS[0].squid_id
    body = get(client, "/v1/runs", squid=squid).get_json()
    started = [r["started_at"] for r in body["data"]]
    assert started == sorted(started, reverse=True)
    assert {CLEAN, ABORTED, BIG, LIVE} == {r["id"] for r in body["data"]}
    assert all(isinstance(r["duration"], float) for r in body["data"])
    assert get(client, "/v1/runs").status_code == 400


def test_squids_list_and_detail(client: FlaskClient) -> None:
    body = get(client, "/v1/squids").get_json()
    assert body["total_results"] == 3
    found = get(client, "/v1/squids", name="SALES").get_json()["data"]
    assert [s["id"] for s in found] == [DEMO_RUNS[2].squid_id]
    detail = get(client, f"/v1/squids/{DEMO_RUNS[2].squid_id}").get_json()
    assert detail["last_run"] == MIXED and detail["last_run_status"] == "ERROR"
    # Fields the squid objects gained in 2026 (and the older answers lack).
    assert detail["created_via"] and "deactivation_reason" in detail
    assert all({"created_via", "deactivation_reason"} <= set(s) for s in body["data"])


def test_live_run_follows_the_clock() -> None:
    now = [1_750_000_000.0]
    app = create_fake_app(FakeConfig(clock=lambda: now[0]))
    client = app.test_client()

    def snapshot() -> tuple[list[dict], dict, dict]:
        return (all_rows(client, LIVE), get(client, f"/v1/runs/{LIVE}").get_json(),
                get(client, f"/v1/runs/{LIVE}/stats").get_json())

    rows, run, stats = snapshot()
    assert {r["status"] for r in rows} == {"pending"}
    assert all(r["started_at"] is None for r in rows)
    assert run["status"] == "pending" and stats["is_done"] is False

    now[0] += 240
    rows, run, stats = snapshot()
    statuses = {r["status"] for r in rows}
    assert {"pending", "running", "completed"} <= statuses
    assert run["status"] == "running" and run["ended_at"] is None
    assert 0 < stats["total_tasks_done"] < 200 and stats["current_task"]
    running = {r["id"]: r["last_result"] for r in rows if r["status"] == "running"}

    now[0] += 5
    later = {r["id"]: r for r in all_rows(client, LIVE)}
    assert any(later[i]["last_result"] > n for i, n in running.items())
    assert all(later[i]["last_result"] >= n for i, n in running.items())

    now[0] += 600
    rows, run, stats = snapshot()
    assert {r["status"] for r in rows} == {"completed"}
    assert (run["status"], run["done_reason"]) == ("done", "tasks_done") and stats["is_done"]
    assert stats["percent_done"] == "100%" and stats["total_tasks_left"] == 0


def test_synthetic_100k_run_pages_are_cheap() -> None:
    run_id = synthetic_run_id(100_000)
    app = create_fake_app(FakeConfig(extra_runs={run_id: 100_000}))
    client = app.test_client()
    started = time.perf_counter()
    body = get(client, "/v1/runtasks", run=run_id, page=777, limit=100).get_json()
    elapsed = time.perf_counter() - started
    assert body["total_results"] == 100_000 and body["total_pages"] == 1000
    assert len(body["data"]) == 100 and body["result_from"] == 77_601
    assert elapsed < 0.5
    last = get(client, "/v1/runtasks", run=run_id, page=1000, limit=100).get_json()
    assert last["next"] is None and last["result_to"] == 100_000


def test_request_log_counts_and_resets() -> None:
    app = create_fake_app()
    client = app.test_client()
    state = app.extensions["fake"]
    get(client, "/v1/runtasks", run=CLEAN)
    get(client, "/v1/runtasks", run=CLEAN, page=2)
    get(client, "/v1/runtasks", run=CLEAN, page=2)
    client.get("/v1/runtasks")
    assert state.count("runtasks") == 4
    assert state.count("runtasks", run=CLEAN, page=2) == 2
    assert state.count("runtasks", page=1) == 2
    assert state.count("runtasks", status=401) == 1
    record = state.requests[0]
    assert (record.method, record.path, record.args["run"], record.status) == (
        "GET", "/v1/runtasks", CLEAN, 200)
    state.reset()
    assert state.count("runtasks") == 0 and state.requests == []


def test_stats_endpoint_counts_requests_by_endpoint_status_and_run() -> None:
    app = create_fake_app(FakeConfig(latency_ms=300, rate_limit_per_minute=2))
    client = app.test_client()
    get(client, "/v1/runtasks", run=CLEAN)
    get(client, "/v1/runtasks", run=CLEAN, page=2)
    assert get(client, "/v1/runtasks", run=CLEAN, page=3).status_code == 429
    started = time.perf_counter()
    answer = client.get("/_fake/stats")
    elapsed = time.perf_counter() - started
    assert answer.status_code == 200 and elapsed < 0.25  # no token, no latency, no limit
    assert answer.get_json() == {
        "requests": 3, "throttled": 1,
        "by_endpoint": {"runtasks": {"200": 2, "429": 1}},
        "runs": {CLEAN: {"requests": 3, "page_requests": 3, "throttled": 1, "pages_ok": 2}},
    }
    # Reading the stats is not itself logged, and the route is read-only.
    assert client.get("/_fake/stats").get_json()["requests"] == 3
    assert app.extensions["fake"].count() == 3
    assert client.post("/_fake/stats").status_code == 405


def test_a_free_plan_cap_stops_lists_and_says_so() -> None:
    client = create_fake_app(FakeConfig(plan_cap=50)).test_client()
    first = get(client, "/v1/runtasks", run=ABORTED, page=1, limit=100).get_json()
    assert len(first["data"]) == 50 and first["total_results"] == 300
    assert first["warning"].startswith("Export limit reached - only 50 results returned.")
    second = get(client, "/v1/runtasks", run=ABORTED, page=2, limit=100).get_json()
    assert second["data"] == [] and second["warning"] == first["warning"]
    within = get(client, "/v1/runtasks", run=ABORTED, page=2, limit=20).get_json()
    assert len(within["data"]) == 20 and "warning" not in within


def test_resurrect_reopens_only_an_aborted_run_and_it_runs_again() -> None:
    now = [1_800_000_000.0]
    client = create_fake_app(FakeConfig(clock=lambda: now[0])).test_client()
    refused = client.post(f"/v1/runs/{CLEAN}/resurrect", headers=AUTH)
    assert refused.status_code == 400
    assert refused.get_json() == {"error": "RunNotAborted",
                                  "message": "Only aborted runs can be resurrected."}
    before = all_rows(client, ABORTED)
    answer = client.post(f"/v1/runs/{ABORTED}/resurrect", headers=AUTH)
    assert answer.status_code == 200
    assert answer.get_json() == {"id": ABORTED, "status": "PENDING", "is_done": False,
                                 "done_reason": None}
    reopened = all_rows(client, ABORTED)
    # Interrupted tasks go back to pending; tasks already done are untouched.
    for old, new in zip(before, reopened, strict=True):
        if old["status"] == "completed":
            assert new == old
        else:
            assert new["status"] == "pending" and new["id"] == old["id"]
    assert get(client, f"/v1/runs/{ABORTED}").get_json()["status"] in ("pending", "running")
    now[0] += 3600
    run = get(client, f"/v1/runs/{ABORTED}").get_json()
    assert (run["status"], run["done_reason"]) == ("done", "tasks_done")
    assert {r["status"] for r in all_rows(client, ABORTED)} == {"completed"}
    again = client.post(f"/v1/runs/{ABORTED}/resurrect", headers=AUTH)
    assert again.status_code == 400 and again.get_json()["error"] == "RunNotAborted"


def test_retry_sets_one_task_back_and_keeps_lobstrs_constraints() -> None:
    now = [1_800_000_000.0]
    client = create_fake_app(FakeConfig(clock=lambda: now[0])).test_client()
    # The live run of the maps squid is active: a task of its other runs cannot be retried.
    clean_task = all_rows(client, CLEAN)[0]
    busy = client.post(f"/v1/runtasks/{clean_task['id']}/retry", headers=AUTH)
    assert busy.status_code == 400 and busy.get_json()["error"] == "ClusterBusy"
    live_task = all_rows(client, LIVE)[0]
    active = client.post(f"/v1/runtasks/{live_task['id']}/retry", headers=AUTH)
    assert active.status_code == 400 and active.get_json()["error"] == "RunInProgress"
    rows = all_rows(client, MIXED)
    failed = next(r for r in rows if r["status"] == "error")
    answer = client.post(f"/v1/runtasks/{failed['id']}/retry", headers=AUTH)
    assert answer.status_code == 200
    body = answer.get_json()
    assert (body["id"], body["status"], body["params"]) == (failed["id"], "pending", failed["params"])
    retried = {r["id"]: r for r in all_rows(client, MIXED)}
    assert retried[failed["id"]]["status"] == "pending"
    assert sum(r["status"] != retried[r["id"]]["status"] for r in rows) == 1
    assert get(client, f"/v1/runs/{MIXED}").get_json()["status"] in ("pending", "running")
    now[0] += 120  # the task ran and the run closed again
    assert get(client, f"/v1/runs/{MIXED}").get_json()["status"] == "done"
    assert {r["id"]: r for r in all_rows(client, MIXED)}[failed["id"]]["status"] == "completed"
    cooldown = client.post(f"/v1/runtasks/{failed['id']}/retry", headers=AUTH)
    assert cooldown.status_code == 400 and cooldown.get_json()["error"] == "RetryCooldown"
    now[0] += 300
    assert client.post(f"/v1/runtasks/{failed['id']}/retry", headers=AUTH).status_code == 200
    assert client.post(f"/v1/runtasks/{'0' * 32}/retry", headers=AUTH).status_code == 404
