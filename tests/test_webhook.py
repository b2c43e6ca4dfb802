"""The webhook receiver: who may call it, what it accepts, and that each (run, event) acts once."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests
from flask import Flask

from alertkit import SECRET
from alertkit import SQUID
from alertkit import JsonSink
from alertkit import hook_body
from alertkit import serve_app
from alertkit import short_run
from support import RUN
from support import make_rows
from werkzeug.security import generate_password_hash

HOOK = f"/hooks/lobstr/{SECRET}"
PUBLIC = "https://dash.example.com/lobstr"
OTHER_RUN = "c39b1922a5424c3c84a7cb2ec731bc5f"


@pytest.fixture
def alert_app(make_app: Callable[..., Flask], sink: JsonSink) -> Iterator[Callable[..., Flask]]:
    """Dashboards with webhooks on, sending to the sink; their workers stopped afterwards."""
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        config = {"LOBSTR_WEBHOOK_SECRET": SECRET, "ALERT_URLS": sink.url, "PUBLIC_URL": PUBLIC,
                  "ALERT_WORKERS": False, **overrides}
        app = make_app(**config)
        apps.append(app)
        return app

    yield build
    for app in apps:
        alerting = app.extensions["lobstr_dash"].alerting
        if alerting is not None:
            alerting.stop()


def work(app: Flask) -> int:
    """Do every due piece of alert work now (the workers are off in these tests)."""
    return app.extensions["lobstr_dash"].alerting.run_once()


def hook_state(app: Flask, run_id: str = RUN, event: str = "run.done") -> Any:
    return app.extensions["lobstr_dash"].store.hook(run_id, event)


# -- who may call it ---------------------------------------------------------------------------

def test_without_a_secret_the_route_does_not_exist(make_app: Any, upstream: Any) -> None:
    client = make_app().test_client()
    assert client.post(HOOK, json=hook_body()).status_code == 404
    assert client.post("/hooks/lobstr/", json=hook_body()).status_code == 404
    assert upstream.requests() == 0


def test_a_wrong_secret_is_a_404_that_calls_nobody_and_logs_no_secret(
        alert_app: Any, upstream: Any, caplog: Any) -> None:
    short_run(upstream)
    app = alert_app()
    client = app.test_client()
    caplog.set_level(logging.DEBUG)
    for guess in (SECRET[:-1] + "x", SECRET + "x", SECRET.upper(), "guess-000000"):
        response = client.post(f"/hooks/lobstr/{guess}", json=hook_body())
        assert response.status_code == 404
        assert guess.encode() not in response.data
    assert work(app) == 0
    assert upstream.requests() == 0
    assert app.extensions["lobstr_dash"].store.pending_hooks() == 0
    client.post(HOOK, json=hook_body())
    work(app)
    assert caplog.records and SECRET not in caplog.text


def test_the_request_log_masks_the_secret(alert_app: Any, upstream: Any, caplog: Any) -> None:
    short_run(upstream)
    client = alert_app().test_client()
    caplog.set_level(logging.INFO, logger="lobstr_dash.request")
    client.post(HOOK, json=hook_body()).get_data()
    client.post("/hooks/lobstr/wrong-guess-0000000000", json=hook_body()).get_data()
    lines = [r.getMessage() for r in caplog.records if r.name == "lobstr_dash.request"]
    assert len(lines) == 2
    assert all("/hooks/lobstr/… " in line for line in lines)
    assert all(SECRET not in line and "wrong-guess" not in line for line in lines)


def test_a_get_with_the_secret_says_post(alert_app: Any) -> None:
    response = alert_app().test_client().get(HOOK)
    assert response.status_code == 405 and response.headers["Allow"] == "POST"
    assert SECRET.encode() not in response.data


def test_sign_in_does_not_block_lobstr_but_guards_the_alerts_page(alert_app: Any,
                                                                  upstream: Any) -> None:
    short_run(upstream)
    users = f"alice:{generate_password_hash('pw', method='pbkdf2:sha256:1000')}"
    client = alert_app(AUTH_USERS=users).test_client()
    assert client.post(HOOK, json=hook_body()).status_code == 202
    assert client.get("/alerts").status_code == 401
    assert client.post("/hooks/lobstr/not-the-secret-00000", json=hook_body()).status_code == 404
    assert client.get("/hooks/elsewhere").status_code == 401


def test_a_cross_site_marker_or_no_csrf_token_does_not_block_the_machine_post(
        alert_app: Any, upstream: Any) -> None:
    short_run(upstream)
    client = alert_app().test_client()
    # lobstr's server sends no browser headers; a same-site or absent marker passes.
    response = client.post(HOOK, json=hook_body(), headers={"Sec-Fetch-Site": "none"})
    assert response.status_code == 202


# -- what it accepts ---------------------------------------------------------------------------

@pytest.mark.parametrize(("body", "status"), [
    (b"{not json", 400),
    (b"[1, 2]", 400),
    (b'"text"', 400),
    (b'{"id": 12, "event": "run.done"}', 400),
    (b'{"id": "../../etc", "event": "run.done"}', 400),
    (b'{"event": "run.done"}', 400),
    (b"\xff\xfe", 400),
])
def test_malformed_bodies_are_a_clear_400_and_queue_nothing(alert_app: Any, upstream: Any,
                                                             body: bytes, status: int) -> None:
    app = alert_app()
    response = app.test_client().post(HOOK, data=body, content_type="application/json")
    assert response.status_code == status
    assert response.json["ok"] is False and response.json["error"]
    assert app.extensions["lobstr_dash"].store.pending_hooks() == 0
    assert upstream.requests() == 0


def test_a_huge_body_is_refused_without_reading_it_all(alert_app: Any) -> None:
    app = alert_app()
    response = app.test_client().post(HOOK, data=b'{"id": "' + b"a" * 100_000 + b'"}',
                                      content_type="application/json")
    assert response.status_code == 413
    assert app.extensions["lobstr_dash"].store.pending_hooks() == 0


def test_an_unknown_event_is_a_logged_no_op(alert_app: Any, upstream: Any, sink: JsonSink,
                                            caplog: Any) -> None:
    short_run(upstream)
    app = alert_app()
    caplog.set_level(logging.INFO)
    response = app.test_client().post(HOOK, json=hook_body(event="run.exploded"))
    assert response.status_code == 200
    assert response.json["accepted"] is False and "unknown event" in response.json["ignored"]
    assert work(app) == 0 and sink.received == [] and upstream.requests() == 0
    assert "unknown event" in caplog.text


def test_an_unknown_run_is_a_logged_no_op_never_an_alert(alert_app: Any, upstream: Any,
                                                         sink: JsonSink) -> None:
    app = alert_app()
    assert app.test_client().post(HOOK, json=hook_body(OTHER_RUN)).status_code == 202
    assert work(app) == 1
    hook = hook_state(app, OTHER_RUN)
    assert hook.state == "ignored" and "no such run" in hook.note
    assert sink.received == []
    assert upstream.requests("runtasks") == 0


def test_the_payload_is_only_a_hint_lobstr_is_asked(alert_app: Any, upstream: Any,
                                                    sink: JsonSink) -> None:
    # The body claims run.done, but lobstr says the run is still running: no alert yet.
    short_run(upstream, status="running", done_reason=None)
    app = alert_app()
    app.test_client().post(HOOK, json=hook_body())
    work(app)
    hook = hook_state(app)
    assert hook.state == "pending" and "still says the run is running" in hook.note
    assert sink.received == []
    assert upstream.requests("runtasks") == 0


# -- acting once -------------------------------------------------------------------------------

def test_a_short_run_yields_one_message_and_a_repeat_yields_none(alert_app: Any, upstream: Any,
                                                                sink: JsonSink) -> None:
    short_run(upstream)
    app = alert_app()
    client = app.test_client()
    first = client.post(HOOK, json=hook_body())
    assert first.status_code == 202 and first.json["duplicate"] is False
    work(app)
    assert len(sink.received) == 1
    for _ in range(3):  # lobstr retries: each repeat is recorded as known and acts no more
        again = client.post(HOOK, json=hook_body())
        assert again.status_code == 202 and again.json["duplicate"] is True
        work(app)
    assert len(sink.received) == 1
    message = sink.received[0]
    assert RUN in message["message"] and "missing" in message["title"]
    assert f"{PUBLIC}/runs/{RUN}" in message["message"]
    alerts = client.get("/alerts.json").json["alerts"]
    assert [(a["rule"], a["state"], a["attempts"]) for a in alerts] == [("completeness", "sent", 1)]


def test_a_clean_run_sends_nothing(alert_app: Any, upstream: Any, sink: JsonSink) -> None:
    short_run(upstream, short_every=0)
    app = alert_app()
    app.test_client().post(HOOK, json=hook_body())
    work(app)
    assert hook_state(app).state == "done" and "no rule fired" in hook_state(app).note
    assert sink.received == []
    assert app.test_client().get("/alerts.json").json["alerts"] == []


def test_run_error_fires_its_rule_and_the_account_rule(alert_app: Any, upstream: Any,
                                                       sink: JsonSink) -> None:
    rows = make_rows(RUN, 40, short_every=0)
    rows[0].update(status="error", done_reason="no_credits_left", last_result=3)
    upstream.state.catalog.put_squid(SQUID, "Leads")
    upstream.state.catalog.put_run(RUN, SQUID, rows, status="error", done_reason="no_credits_left")
    app = alert_app()
    app.test_client().post(HOOK, json=hook_body(event="run.error"))
    work(app)
    assert len(sink.received) == 1  # one message for the run, naming every rule that fired
    text = sink.received[0]["message"]
    assert "the run ended in error" in text and "account, credits or billing" in text
    rules = {a["rule"] for a in app.test_client().get("/alerts.json").json["alerts"]}
    assert rules == {"run_error", "account"}  # 97.5 % complete: above the threshold


def test_run_running_marks_a_stored_run_live(alert_app: Any, upstream: Any) -> None:
    short_run(upstream)
    app = alert_app()
    client = app.test_client()
    assert client.get(f"/runs/{RUN}").status_code == 200
    store = app.extensions["lobstr_dash"].store
    assert store.run_state(RUN).is_live is False
    upstream.state.catalog.set_status(RUN, "running")
    client.post(HOOK, json=hook_body(event="run.running"))
    work(app)
    assert hook_state(app, event="run.running").state == "done"
    assert store.run_state(RUN).is_live is True


def test_over_real_http_one_notification_within_seconds_with_a_working_permalink(
        served_fake: Any, tmp_path: Any, sink: JsonSink) -> None:
    """The done-when: webhook in over HTTP, background work, one message out, a link that opens."""
    from lobstr_dash import create_app
    from support import dashboard_config

    fake, base_url = served_fake()
    short_run(fake)
    app = create_app(dashboard_config(None, str(tmp_path / "data"), base_url=base_url,
                                      LOBSTR_WEBHOOK_SECRET=SECRET, ALERT_URLS=sink.url,
                                      PUBLIC_URL="http://dash.invalid/lobstr"))
    try:
        with serve_app(app) as dashboard:
            started = time.monotonic()
            answer = requests.post(f"{dashboard}{HOOK}", json=hook_body(), timeout=5)
            answered = time.monotonic() - started
            assert answer.status_code == 202
            assert answered < 1.0
            received = sink.wait_for(1, timeout=60)
            delivered = time.monotonic() - started
            assert len(received) == 1 and delivered < 60
            text = received[0]["message"]
            assert RUN in text and "missing" in text
            permalink = f"http://dash.invalid/lobstr/runs/{RUN}"
            assert permalink in text
            page = requests.get(dashboard + permalink.removeprefix("http://dash.invalid/lobstr"),
                                timeout=10)
            assert page.status_code == 200 and RUN in page.text and "alert-badge" in page.text
            assert requests.post(f"{dashboard}{HOOK}", json=hook_body(), timeout=5).status_code == 202
            time.sleep(1.0)  # the workers look at the store at least every 5 s; they were woken
            assert len(sink.received) == 1
            listed = requests.get(f"{dashboard}/alerts.json", timeout=5).json()["alerts"]
            assert [(a["state"], a["run_id"]) for a in listed] == [("sent", RUN)]
            wrong = requests.post(f"{dashboard}/hooks/lobstr/{'0' * 24}", json=hook_body(),
                                  timeout=5)
            assert wrong.status_code == 404
    finally:
        app.extensions["lobstr_dash"].alerting.stop()
    print(f"webhook answered in {answered * 1000:.1f} ms; delivered after {delivered:.2f} s")


def test_a_flood_of_events_is_bounded(alert_app: Any, monkeypatch: Any) -> None:
    from lobstr_dash.loading import alerting

    monkeypatch.setattr(alerting, "MAX_PENDING_HOOKS", 3)
    client = alert_app().test_client()
    runs = [f"{i:032x}" for i in range(1, 6)]
    statuses = [client.post(HOOK, json=hook_body(run)).status_code for run in runs]
    assert statuses == [202, 202, 202, 429, 429]
