"""The whole loop: configure lobstr's delivery from here, the fake POSTs when a run finishes, an
alert appears; demo mode does it alone. Also the alerts page's test button and the pages."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from alertkit import SECRET
from alertkit import SQUID
from alertkit import JsonSink
from alertkit import serve_app
from alertkit import short_run
from alertkit import wait_until
from lobstr_dash import cli
from lobstr_dash import create_app
from lobstr_dash.ops.webhookcli import set_webhook_command
from support import RUN
from support import TOKEN
from support import dashboard_config


def test_webhook_set_configures_lobstr_and_prints_its_answer(served_fake: Any, monkeypatch: Any,
                                                             capsys: Any) -> None:
    fake, base_url = served_fake()
    short_run(fake)
    monkeypatch.setenv("LOBSTR_TOKEN", TOKEN)
    monkeypatch.setenv("LOBSTR_API_BASE", base_url)
    monkeypatch.setenv("LOBSTR_WEBHOOK_SECRET", SECRET)
    monkeypatch.setenv("PUBLIC_URL", "https://dash.example.com/")
    assert cli.main(["webhook", "set", "--squid", SQUID]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"webhook_fields": {
        "url": "https://dash.example.com/hooks/lobstr/[secret]", "is_active": True, "retry": True,
        "events": {"run.running": False, "run.paused": False, "run.done": True,
                   "run.error": True}}}
    stored = fake.state.webhooks.deliveries[SQUID]
    assert stored.url == f"https://dash.example.com/hooks/lobstr/{SECRET}" and stored.retry
    record = fake.state.requests[-1]
    assert (record.method, record.path, record.args) == ("POST", "/v1/delivery", {"squid": SQUID})


def test_webhook_set_says_what_is_wrong(served_fake: Any, monkeypatch: Any, capsys: Any) -> None:
    fake, base_url = served_fake()
    monkeypatch.setenv("LOBSTR_TOKEN", TOKEN)
    monkeypatch.setenv("LOBSTR_API_BASE", base_url)
    assert cli.main(["webhook", "set", "--squid", SQUID]) == 2
    assert "give --url" in capsys.readouterr().err
    assert cli.main(["webhook", "set", "--squid", SQUID, "--url", "https://x.example/h",
                     "--events", "run.done,run.finished"]) == 2
    assert "run.finished" in capsys.readouterr().err
    assert cli.main(["webhook", "set", "--squid", "nosuchsquid", "--url",
                     "https://x.example/h"]) == 1
    assert "Squid not found" in capsys.readouterr().err
    monkeypatch.delenv("LOBSTR_TOKEN")
    assert cli.main(["webhook", "set", "--squid", SQUID, "--url", "https://x.example/h"]) == 2


def test_the_fake_emits_when_a_run_finishes_and_retries_like_lobstr(
        served_fake: Any, fake_clock: Any, tmp_path: Any, sink: JsonSink) -> None:
    """webhook set → the run finishes → the fake POSTs → the dashboard alerts, over real HTTP."""
    fake, base_url = served_fake(clock=fake_clock)
    short_run(fake, status="running", done_reason=None)
    app = create_app(dashboard_config(None, str(tmp_path / "data"), base_url=base_url,
                                      LOBSTR_WEBHOOK_SECRET=SECRET, ALERT_URLS=sink.url))
    try:
        with serve_app(app) as dashboard:
            assert set_webhook_command(SQUID, f"{dashboard}/hooks/lobstr/{SECRET}",
                                           "run.done,run.error,run.running",
                                           config=app.config) == 0
            emitter = fake.state.webhooks
            assert emitter.tick() == []  # nothing changed since the settings were made
            fake.state.catalog.set_status(RUN, "done", "tasks_done")
            (sent,) = emitter.tick()
            assert sent.outcome == 202 and sent.payload["event"] == "run.done"
            assert sent.payload["squid"] == {"id": SQUID, "name": "Maps – test squid"}
            assert time.strptime(sent.payload["timestamp"], "%Y/%m/%d %H:%M:%S")
            assert len(sink.wait_for(1, timeout=30)) == 1
            # lobstr retries what failed: 3 more times, 15 minutes apart.
            emitter.deliveries[SQUID].url = f"{dashboard}/hooks/lobstr/wrong-secret-00000000"
            fake.state.catalog.set_status(RUN, "error", "no_credits_left")
            assert [s.outcome for s in emitter.tick()] == [404]
            for attempt in (2, 3, 4):
                assert emitter.tick() == []
                fake_clock.advance(15 * 60)
                assert [(s.outcome, s.attempt) for s in emitter.tick()] == [(404, attempt)]
            fake_clock.advance(3600)
            assert emitter.tick() == []
    finally:
        app.extensions["lobstr_dash"].alerting.stop()
    assert len(sink.received) == 1


def test_demo_mode_shows_the_whole_loop_in_the_terminal(tmp_path: Any, capfd: Any) -> None:
    app = create_app({"DATA_DIR": str(tmp_path / "data"), "LOBSTR_WEBHOOK_SECRET": SECRET,
                      "DEMO_LATENCY_MS": 0})
    services = app.extensions["lobstr_dash"]
    try:
        fake_state = services.demo_fake.extensions["fake"]
        assert fake_state.webhooks.deliveries  # configured through POST /v1/delivery at start
        catalog = fake_state.catalog
        (short,) = [r for r in catalog.runs() if r.scenario == "live_short"]
        started = catalog.clock
        catalog.clock = lambda: started() + 600  # ten minutes on: the short run is over
        client = app.test_client()
        alerts = wait_until(lambda: client.get(f"/alerts.json?run={short.run_id}").json["alerts"])
        wait_until(lambda: all(a["state"] == "sent" for a in
                               client.get(f"/alerts.json?run={short.run_id}").json["alerts"]))
        rules = {a["rule"] for a in alerts}
        assert {"completeness", "account", "run_error"} <= rules
        assert {a["channel"] for a in alerts} == {"console://"}
        printed = capfd.readouterr().err
        assert f"lobstr run {short.run_id[:8]}" in printed and "results missing" in printed
        page = client.get(f"/runs/{short.run_id}")
        assert b"alert-badge" in page.data
    finally:
        services.alerting.stop()
        services.demo_fake.extensions["fake"].webhooks.stop()


# -- the alerts page and its test button -------------------------------------------------------

@pytest.fixture
def page_app(make_app: Callable[..., Flask], sink: JsonSink) -> Iterator[Flask]:
    app = make_app(LOBSTR_WEBHOOK_SECRET=SECRET, ALERT_URLS=sink.url, ALERT_WORKERS=False)
    yield app
    app.extensions["lobstr_dash"].alerting.stop()


def csrf_token(client: Any) -> str:
    from bs4 import BeautifulSoup

    page = BeautifulSoup(client.get("/alerts").get_data(as_text=True), "html.parser")
    return page.select_one("input[name=csrf_token]")["value"]


def test_the_test_button_sends_a_sample_to_every_channel(page_app: Flask, sink: JsonSink) -> None:
    client = page_app.test_client()
    response = client.post("/alerts/test", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200
    assert b"state-sent" in response.data and sink.url.split("?")[0][7:].encode() in response.data
    (message,) = sink.received
    assert message["title"].startswith("[test]") and "this channel works" in message["message"]
    again = client.post("/alerts/test", data={"csrf_token": csrf_token(client)})
    assert again.status_code == 429 and again.headers["Retry-After"] == "10"
    assert len(sink.received) == 1


def test_the_test_button_needs_its_csrf_token(page_app: Flask, sink: JsonSink) -> None:
    client = page_app.test_client()
    assert client.post("/alerts/test").status_code == 400
    assert client.post("/alerts/test", data={"csrf_token": "forged"}).status_code == 400
    other = page_app.test_client()  # a token from another browser's session does not do
    assert other.post("/alerts/test", data={"csrf_token": csrf_token(client)}).status_code == 400
    assert sink.received == []


def test_a_failing_channel_shows_its_error(make_app: Any) -> None:
    app = make_app(ALERT_URLS="json://127.0.0.1:9/nothing-listens", ALERT_WORKERS=False)
    client = app.test_client()
    response = client.post("/alerts/test", data={"csrf_token": csrf_token(client)})
    assert response.status_code == 200
    assert b"state-failed" in response.data and b"Connection error" in response.data


def test_the_alerts_page_lists_filters_and_exports(page_app: Flask, upstream: Any,
                                                   sink: JsonSink) -> None:
    short_run(upstream)
    client = page_app.test_client()
    client.post(f"/hooks/lobstr/{SECRET}", json={"id": RUN, "event": "run.done"})
    page_app.extensions["lobstr_dash"].alerting.run_once()
    page = client.get("/alerts")
    assert page.status_code == 200 and RUN[:8].encode() in page.data and b"state-sent" in page.data
    assert SECRET.encode() not in page.data
    csv_text = client.get("/alerts.csv").get_data(as_text=True)
    header, row = csv_text.splitlines()[:2]
    assert header.split(",")[:7] == ["id", "created_at", "run_id", "squid_id", "rule",
                                     "rule_label", "severity"]
    assert RUN in row and ",sent,1," in row
    assert client.get("/alerts.json?state=pending").json["alerts"] == []
    assert len(client.get(f"/alerts.json?run={RUN}&state=sent").json["alerts"]) == 1
    assert client.get("/alerts.json?state=lost").status_code == 400
    assert client.get("/alerts?run=nope").status_code == 400
    assert client.get(f"/alerts.json?squid={SQUID}").json["alerts"][0]["squid_id"] == SQUID


def test_the_run_page_badge_and_the_squid_health(page_app: Flask, upstream: Any) -> None:
    short_run(upstream)
    client = page_app.test_client()
    assert b"alert-badge" not in client.get(f"/runs/{RUN}").data
    client.post(f"/hooks/lobstr/{SECRET}", json={"id": RUN, "event": "run.done"})
    page_app.extensions["lobstr_dash"].alerting.run_once()
    run_page = client.get(f"/runs/{RUN}").get_data(as_text=True)
    assert "alert-badge" in run_page and "completeness below the threshold" in run_page
    assert f"/alerts?run={RUN}" in run_page
    health = client.get(f"/squids/{SQUID}/runs").get_data(as_text=True)
    assert 'id="chart-squid-trend-title"' in health and "alert-ring" in health
    assert "Median completeness <strong>71.2%</strong>" in health
    assert 'title="An alert fired for this run">alert</a>' in health
    assert client.get(f"/squids/{SQUID}/runs?page=2").status_code == 200
