"""Several replicas, one PostgreSQL: one load per run, one rate budget, takeover of a dead load.

Two gunicorn servers with different DATA_DIRs and the same DATABASE_URL, against the fake lobstr
served on a loopback port (real HTTP both ways, a real PostgreSQL).
"""

from __future__ import annotations

import re
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import psycopg
import pytest

from replicas import TOKEN
from replicas import Replica
from replicas import http_get
from replicas import tasks_json
from lobstr_dash.fake import synthetic_run_id

pytestmark = pytest.mark.slow

RUN_24 = synthetic_run_id("replicas-24-pages")
RUN_KILL = synthetic_run_id("replicas-kill")
RUN_PACED = synthetic_run_id("replicas-paced")


def _rows(body: dict[str, Any]) -> list[dict[str, Any]]:
    return body["tasks"]


def _pages(fake: Any, run_id: str) -> Counter[int]:
    return Counter(r.page for r in fake.requests if r.endpoint == "runtasks" and r.run == run_id)


@pytest.fixture
def two(served_fake: Any, pg_url: str, tmp_path: Path) -> Any:
    """Start replicas a and b (different DATA_DIRs, one DATABASE_URL); stop them after the test."""
    started: list[Replica] = []
    fake, api = served_fake(tokens={TOKEN}, latency_ms=60,
                            extra_runs={RUN_24: 2400, RUN_KILL: 2400, RUN_PACED: 2400})

    def make(**settings: str) -> tuple[Replica, Replica]:
        pair = tuple(Replica(name, tmp_path / name, pg_url, api, **settings) for name in "ab")
        started.extend(pair)
        return pair  # type: ignore[return-value]

    fake.state.fake = fake  # type: ignore[attr-defined]
    yield fake.state, make
    for replica in started:
        replica.kill()


def test_fifty_cold_opens_over_two_replicas_cost_each_page_once(two: Any) -> None:
    fake, make = two
    a, b = (replica.start() for replica in make())
    bases = [a.base, b.base]
    with ThreadPoolExecutor(50) as pool:
        pages = list(pool.map(lambda i: http_get(f"{bases[i % 2]}/runs/{RUN_24}"), range(50)))
    assert all(RUN_24.encode() in page for page in pages)
    first, second = tasks_json(a.base, RUN_24), tasks_json(b.base, RUN_24)
    assert first["complete"] and second["complete"]
    assert len(_rows(first)) == 2400
    assert _rows(first) == _rows(second)  # both serve the same rows, in the same order
    assert _pages(fake, RUN_24) == Counter({p: 1 for p in range(1, 25)})  # 24 requests in all
    # Restarting both costs no page of a finished run: the store is shared and kept.
    a.stop()
    b.stop()
    a.start()
    b.start()
    assert _rows(tasks_json(b.base, RUN_24)) == _rows(first)
    assert re.search(rb"2,400|2400", http_get(f"{a.base}/runs/{RUN_24}"))
    assert sum(_pages(fake, RUN_24).values()) == 24


def test_a_replica_killed_mid_load_leaves_the_rest_to_the_other(two: Any, pg_url: str) -> None:
    fake, make = two
    a, b = make(LOBSTR_CONCURRENCY="2")
    a.start()
    b.start()
    http_get(f"{a.base}/runs/{RUN_KILL}")  # a claims the load
    deadline = time.monotonic() + 30
    while sum(_pages(fake, RUN_KILL).values()) < 8:
        assert time.monotonic() < deadline, "a never got going"
        time.sleep(0.02)
    a.kill()
    with psycopg.connect(pg_url) as conn:
        saved_by_a = {r[0] for r in conn.execute(
            "SELECT page FROM pages WHERE run_id = %s AND state = 'done'", (RUN_KILL,))}
    assert 0 < len(saved_by_a) < 24
    body = tasks_json(b.base, RUN_KILL)
    assert body["complete"] is True and len(_rows(body)) == 2400
    fetched = _pages(fake, RUN_KILL)
    assert set(fetched) == set(range(1, 25))
    # No page a had saved was fetched again; a page asked twice is one a was reading (or had
    # read and not yet stored) when it died: at most its page pool's 2 × LOBSTR_CONCURRENCY.
    assert all(fetched[p] == 1 for p in saved_by_a)
    twice = {p for p, n in fetched.items() if n > 1}
    assert twice.isdisjoint(saved_by_a) and len(twice) <= 4 and max(fetched.values()) <= 2


def test_two_replicas_together_keep_to_one_rate_budget(two: Any) -> None:
    fake, make = two
    limit, window = 16, 1.5
    a, b = make(LOBSTR_RATE_LIMIT=str(limit), LOBSTR_RATE_WINDOW=str(window))
    a.start()
    b.start()
    # Each replica loads a run of its own: 48 pages, one budget between them.
    with ThreadPoolExecutor(2) as pool:
        bodies = list(pool.map(lambda job: tasks_json(*job), [(a.base, RUN_PACED), (b.base, RUN_KILL)]))
    assert all(body["complete"] and len(_rows(body)) == 2400 for body in bodies)
    times = sorted(r.at for r in fake.requests if r.endpoint == "runtasks")
    assert len(times) == 48
    peak = max(sum(1 for t in times if start <= t < start + window) for start in times)
    assert peak <= limit
    assert not [r for r in fake.requests if r.status == 429]


def test_a_retry_after_seen_by_one_replica_holds_back_both(two: Any) -> None:
    fake, make = two
    fake.fake.fail(RUN_PACED, 1, 429, headers={"Retry-After": "2"})
    a, b = make()
    a.start()
    b.start()
    with ThreadPoolExecutor(1) as pool:
        first = pool.submit(tasks_json, a.base, RUN_PACED)
        deadline = time.monotonic() + 30
        while not [r for r in fake.requests if r.status == 429]:
            assert time.monotonic() < deadline, "the 429 never came"
            time.sleep(0.01)
        refused_at = next(r.at for r in fake.requests if r.status == 429)
        second = tasks_json(b.base, RUN_KILL)  # b never saw the 429
        assert first.result()["complete"] and second["complete"]
    others = [r.at for r in fake.requests if r.endpoint == "runtasks" and r.status != 429]
    # Answers take 60 ms: none of them was asked for during the 2 s lobstr asked for.
    assert min(others) >= refused_at + 2.0 - 0.2
    assert _pages(fake, RUN_KILL) == Counter({p: 1 for p in range(1, 25)})
