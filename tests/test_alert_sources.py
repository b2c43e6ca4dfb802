"""Where alerts come from besides one webhook: a squid's history (the drop rule) and polling."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from flask import Flask

from alertkit import SECRET
from alertkit import SQUID
from alertkit import JsonSink
from alertkit import hook_body
from alertkit import short_run
from lobstr_dash.config import ConfigError

NEW = "a0000000000000000000000000000001"
HOOK = f"/hooks/lobstr/{SECRET}"


def run_id(n: int) -> str:
    return f"{n:032x}"


@pytest.fixture
def alert_app(make_app: Callable[..., Flask], sink: JsonSink,
              fake_clock: Any) -> Iterator[Callable[..., Flask]]:
    apps: list[Flask] = []

    def build(**overrides: Any) -> Flask:
        app = make_app(**{"ALERT_URLS": sink.url, "ALERT_WORKERS": False, "CLOCK": fake_clock,
                          **overrides})
        apps.append(app)
        return app

    yield build
    for app in apps:
        app.extensions["lobstr_dash"].alerting.stop()


def history(upstream: Any, fake_clock: Any, shorts: list[int]) -> None:
    """Previous finished runs of the squid, oldest first; `shorts[i]`: every n-th task short."""
    for index, every in enumerate(shorts):
        short_run(upstream, run_id(index + 1), short_every=every, rows=30,
                  started_at=1_600_000_000.0 + index * 86400)


def test_a_drop_against_the_squid_s_history_reads_lobstr_stats_once(
        alert_app: Any, upstream: Any, fake_clock: Any, sink: JsonSink) -> None:
    # Five earlier runs: one task in 30 short (each ~98 %); the new run: every 3rd (~71 %).
    history(upstream, fake_clock, [30] * 5)
    short_run(upstream, NEW, short_every=3, started_at=1_600_000_000.0 + 10 * 86400)
    app = alert_app(LOBSTR_WEBHOOK_SECRET=SECRET)
    client = app.test_client()
    assert client.get(f"/runs/{run_id(5)}").status_code == 200  # one earlier run is in the store
    before = upstream.requests("stats")
    client.post(HOOK, json=hook_body(NEW))
    app.extensions["lobstr_dash"].alerting.run_once()
    assert upstream.requests("stats") - before == 4  # the 4 runs the store never read
    rules = {a["rule"]: a["summary"] for a in client.get("/alerts.json").json["alerts"]}
    assert set(rules) == {"completeness", "drop"}
    assert "of the squid's previous 5 runs" in rules["drop"]
    verdicts = app.extensions["lobstr_dash"].store.verdicts([run_id(n) for n in range(1, 6)])
    assert {v.source for v in verdicts.values()} == {"stats", "tasks"}
    assert len(sink.received) == 1 and "dropped against the squid" in sink.received[0]["message"]


def test_the_drop_rule_off_costs_no_history_call(alert_app: Any, upstream: Any, tmp_path: Any,
                                                 sink: JsonSink) -> None:
    rules = tmp_path / "rules.toml"
    rules.write_text("[drop]\nenabled = false\n")
    history(upstream, None, [30] * 5)
    short_run(upstream, NEW, short_every=3, started_at=1_600_000_000.0 + 10 * 86400)
    app = alert_app(LOBSTR_WEBHOOK_SECRET=SECRET, ALERT_RULES_FILE=str(rules))
    app.test_client().post(HOOK, json=hook_body(NEW))
    app.extensions["lobstr_dash"].alerting.run_once()
    assert upstream.requests("stats") == upstream.requests("runs") == 0  # no history read
    assert upstream.requests("run") == 1  # the run itself
    assert len(sink.received) == 1


def test_polling_turns_a_newly_finished_run_into_one_alert(alert_app: Any, upstream: Any,
                                                           fake_clock: Any, sink: JsonSink) -> None:
    history(upstream, fake_clock, [3, 3])  # short, but finished before watching started
    short_run(upstream, NEW, status="running", done_reason=None, short_every=3,
              started_at=1_600_000_000.0 + 10 * 86400)
    app = alert_app(WATCH_SQUIDS=SQUID, WATCH_INTERVAL_SECONDS=300)
    alerting = app.extensions["lobstr_dash"].alerting
    alerting.run_once()  # the first look only records what exists
    assert app.extensions["lobstr_dash"].store.pending_hooks() == 0 and sink.received == []
    calls = upstream.requests("runs")
    alerting.run_once()
    assert upstream.requests("runs") == calls  # not due again before the interval
    upstream.state.catalog.set_status(NEW, "done", "tasks_done")
    fake_clock.advance(300)
    alerting.run_once()
    assert len(sink.received) == 1 and NEW in sink.received[0]["message"]
    hook = app.extensions["lobstr_dash"].store.hook(NEW, "run.done")
    assert hook.source == "poll" and hook.state == "done"
    fake_clock.advance(300)
    alerting.run_once()
    assert len(sink.received) == 1


def test_one_poller_for_many_workers_and_a_webhook_and_a_poll_act_once(
        alert_app: Any, upstream: Any, fake_clock: Any, sink: JsonSink) -> None:
    short_run(upstream, NEW, status="running", done_reason=None, short_every=3)
    first = alert_app(WATCH_SQUIDS=SQUID, LOBSTR_WEBHOOK_SECRET=SECRET)
    second = alert_app(WATCH_SQUIDS=SQUID, LOBSTR_WEBHOOK_SECRET=SECRET)
    first.extensions["lobstr_dash"].alerting.run_once()
    second.extensions["lobstr_dash"].alerting.run_once()
    assert upstream.requests("runs") == 1  # the second process is not the leader
    upstream.state.catalog.set_status(NEW, "done", "tasks_done")
    second.test_client().post(HOOK, json=hook_body(NEW))  # lobstr's webhook, too
    fake_clock.advance(300)
    for app in (second, first, second):
        app.extensions["lobstr_dash"].alerting.run_once()
    assert len(sink.received) == 1
    store = first.extensions["lobstr_dash"].store
    assert store.hook(NEW, "run.done").source == "webhook"


def test_a_leader_that_died_is_replaced_after_its_lease(alert_app: Any, upstream: Any,
                                                        fake_clock: Any) -> None:
    short_run(upstream, NEW)
    first = alert_app(WATCH_SQUIDS=SQUID)
    second = alert_app(WATCH_SQUIDS=SQUID)
    first.extensions["lobstr_dash"].alerting.run_once()
    fake_clock.advance(300)  # the leader is gone: its lease (2 intervals) still holds
    second.extensions["lobstr_dash"].alerting.run_once()
    assert upstream.requests("runs") == 1
    fake_clock.advance(301)
    second.extensions["lobstr_dash"].alerting.run_once()
    assert upstream.requests("runs") == 2


def test_watching_every_squid_reads_only_squids_whose_last_run_changed(
        alert_app: Any, upstream: Any, fake_clock: Any) -> None:
    app = alert_app(WATCH_SQUIDS="all")
    alerting = app.extensions["lobstr_dash"].alerting
    alerting.run_once()
    squids = len(upstream.state.catalog.squids())
    assert upstream.requests("runs") == squids
    fake_clock.advance(300)
    alerting.run_once()
    assert upstream.requests("runs") == squids  # nothing changed: the squid list was enough
    assert upstream.requests("squids") == 2


@pytest.mark.parametrize(("setting", "value", "complaint"), [
    ("WATCH_SQUIDS", "abc, not a squid!", "not a squid id"),
    ("WATCH_INTERVAL_SECONDS", 5, "at least 30"),
    ("ALERT_URLS", "notaservice://x", "not an Apprise URL"),
    ("LOBSTR_WEBHOOK_SECRET", "short", "16 to 200 characters"),
    ("PUBLIC_URL", "dash.example.com", "http\\(s\\) address"),
])
def test_bad_alert_settings_stop_the_start(make_app: Any, setting: str, value: Any,
                                           complaint: str) -> None:
    with pytest.raises(ConfigError, match=complaint):
        make_app(**{setting: value, "ALERT_WORKERS": False})


def test_the_secret_is_never_echoed_when_refused(make_app: Any) -> None:
    with pytest.raises(ConfigError) as refused:
        make_app(LOBSTR_WEBHOOK_SECRET="bad secret with spaces")
    assert "spaces" not in str(refused.value)


def test_without_any_alert_setting_nothing_starts(make_app: Any) -> None:
    app = make_app()
    assert app.extensions["lobstr_dash"].alerting is None
    assert app.secret_key is None
    response = app.test_client().get("/alerts")
    assert response.status_code == 200 and b"Alerts are off" in response.data
    assert "Set-Cookie" not in response.headers
