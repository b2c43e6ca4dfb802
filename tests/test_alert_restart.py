"""SIGKILL between accepting a webhook and delivering its alert; restart; exactly one delivery.

The dashboard runs as the image runs it (gunicorn, two workers). The fake lobstr holds the run's
pages back, so the kill lands while the event is claimed and its run is loading: nothing has been
evaluated or sent. After the restart the event is taken over at once (its holder is dead), the
alert is sent once, and neither lobstr's retry of the webhook nor a second restart repeats it.
"""

from __future__ import annotations

import sqlite3
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from alertkit import SECRET
from alertkit import JsonSink
from alertkit import hook_body
from alertkit import short_run
from alertkit import wait_until
from loadtest.servers import start_gunicorn
from support import RUN
from support import TOKEN

pytestmark = pytest.mark.slow


def read(path: Path, sql: str) -> list[tuple[Any, ...]]:
    with sqlite3.connect(path, timeout=10) as conn:
        return conn.execute(sql).fetchall()


def test_sigkill_between_accepting_and_delivering_then_exactly_one_delivery(
        served_fake: Any, tmp_path: Path) -> None:
    fake, base_url = served_fake()
    short_run(fake, rows=250)  # three pages
    gate = threading.Event()
    fake.gate = gate  # runtasks answers wait: the load is in flight when the server dies
    sink = JsonSink()
    env = {"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url, "LOBSTR_RATE_LIMIT": "0",
           "LOBSTR_WEBHOOK_SECRET": SECRET, "ALERT_URLS": sink.url,
           "PUBLIC_URL": "https://dash.example.com"}
    data_dir = tmp_path / "data"
    store = data_dir / "lobstr-dash.sqlite3"
    server = start_gunicorn(data_dir, env)
    try:
        answer = requests.post(f"{server.url}/hooks/lobstr/{SECRET}", json=hook_body(), timeout=5)
        assert answer.status_code == 202
        wait_until(lambda: fake.state.held >= 1)  # the event is being handled: its run loads
    finally:
        server.kill()
    hook = read(store, "SELECT state, attempts, owner FROM hooks")
    assert [(state, attempts) for state, attempts, _owner in hook] == [("pending", 1)]
    assert hook[0][2]  # still held by the dead process
    assert read(store, "SELECT count(*) FROM alerts") == [(0,)]
    assert sink.received == []

    gate.set()
    restarted = start_gunicorn(data_dir, env)
    try:
        started = time.monotonic()
        assert len(sink.wait_for(1, timeout=60)) == 1
        taken_over = time.monotonic() - started
        # lobstr's retry of the same webhook, after the restart: known, acts no more.
        again = requests.post(f"{restarted.url}/hooks/lobstr/{SECRET}", json=hook_body(),
                              timeout=5)
        assert again.status_code == 202 and again.json()["duplicate"] is True
        time.sleep(1)
    finally:
        restarted.kill()
    assert taken_over < 30  # far below the event's 300 s lease: the dead holder was seen dead
    assert read(store, "SELECT rule, state, attempts FROM alerts") == [("completeness", "sent", 1)]
    assert read(store, "SELECT state FROM hooks") == [("done",)]

    third = start_gunicorn(data_dir, env, workers=1)  # a second restart sends nothing again
    try:
        time.sleep(1)
    finally:
        third.stop()
    assert len(sink.received) == 1
    message = sink.received[0]
    assert RUN in message["message"] and f"https://dash.example.com/runs/{RUN}" in message["message"]
    sink.close()
