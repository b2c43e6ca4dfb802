"""The server as the image runs it (gunicorn.conf.py: waitress in gunicorn's workers), against
clients that stall and an upstream that drip-feeds: /healthz keeps answering, every request ends
in its budget. Real processes and sockets on loopback."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from loadtest.servers import Gunicorn
from loadtest.servers import start_gunicorn
from loadtest.slowclients import SlowClients
from loadtest.slowclients import time_healthz
from lobstr_dash.fake.hostile import HostileLobstr
from support import TOKEN

pytestmark = pytest.mark.slow

RUN = "5e1d" * 8
BUDGET = 4.0


@pytest.fixture
def dripping(tmp_path: Any) -> Iterator[tuple[Gunicorn, HostileLobstr]]:
    """A dashboard under gunicorn whose lobstr sends each answer one byte a second."""
    with HostileLobstr("drip", interval=1.0) as hostile:
        server = start_gunicorn(tmp_path / "data", {
            "LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": hostile.base_url,
            "LOBSTR_RETRY_BUDGET": str(BUDGET), "LOBSTR_MAX_ATTEMPTS": "1",
            "LOBSTR_RATE_LIMIT": "0", "LOAD_WAIT_SECONDS": "0.5"})
        try:
            yield server, hostile
        finally:
            server.stop()


def test_sixty_four_stalled_clients_leave_healthz_answering(dripping: Any) -> None:
    server, _ = dripping
    with SlowClients("127.0.0.1", server.port, 64, download_path="/healthz") as clients:
        time.sleep(1.5)
        timings = [time_healthz("127.0.0.1", server.port, timeout=5) for _ in range(10)]
        still_open = clients.alive()
    assert max(timings) < 1.0, timings
    assert still_open >= 40  # they were really held open by the server, not refused


def test_twenty_requests_on_a_drip_feeding_upstream_end_in_budget_and_healthz_answers(
        dripping: Any) -> None:
    server, _ = dripping
    ends: list[tuple[int, float]] = []

    def ask(index: int) -> None:
        started = time.monotonic()
        path = (f"/api/v1/runtasks?run={RUN}&page={index + 1}&limit=100" if index % 2
                else f"/runs/{RUN[:-2]}{index:02d}")
        answer = requests.get(server.url + path, timeout=30)
        ends.append((answer.status_code, time.monotonic() - started))

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(20)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    health: list[float] = []
    while any(t.is_alive() for t in threads) and time.monotonic() - started < 30:
        health.append(time_healthz("127.0.0.1", server.port, timeout=5))
        time.sleep(0.2)
    for thread in threads:
        thread.join(30)
    assert len(ends) == 20
    assert all(status < 500 or status in (502, 503) for status, _ in ends), ends
    assert max(seconds for _, seconds in ends) < BUDGET + 2.0, ends
    assert health and max(health) < 2.0, health
    assert time_healthz("127.0.0.1", server.port) < 1.0  # and after they hung up
