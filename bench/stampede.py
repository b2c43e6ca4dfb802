"""Many browsers opening the same cold run at once: upstream requests must equal its pages."""

from __future__ import annotations

import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from bench.browser import timed_get
from bench.procs import FakeServer, start_dashboard
from bench.storewatch import watch_load


@dataclass(frozen=True)
class Stampede:
    """What `clients` simultaneous cold opens of one run cost upstream."""

    clients: int
    total_pages: int
    #: /v1/runtasks requests: the pages, which single flight must fetch exactly once.
    upstream_requests: int
    #: Other requests for the run (its context: /v1/runs/{id} and its stats).
    context_requests: int
    statuses: dict[int, int]
    workers_serving: int | None
    workers: int
    slowest_answer: float
    finished: float
    state: str


def cold_opens(workdir: Path, fake: FakeServer, run_id: str, clients: int) -> Stampede:
    """Fire `clients` GETs of the run page at once, over fresh connections, at a fresh dashboard."""
    counts = fake.run_requests(run_id)
    before, before_pages = counts["requests"], counts["page_requests"]
    dashboard = start_dashboard(workdir, fake.api_base)
    try:
        url = f"{dashboard.url}/runs/{run_id}"
        gate = threading.Barrier(clients)

        def open_page() -> tuple[float, int, int]:
            gate.wait()
            return timed_get(url)

        with ThreadPoolExecutor(clients) as pool:
            started = time.perf_counter()
            futures = [pool.submit(open_page) for _ in range(clients)]
            times = watch_load(dashboard.store_path, run_id, started, timeout=300)
            answers = [future.result() for future in futures]
        time.sleep(1.0)  # a duplicate load would still be sending requests now
        served = {pid for pid, _m, path, _s in dashboard.access_log() if path == f"/runs/{run_id}"}
        # None when the log format names no worker for these requests.
        workers = len(dashboard.workers)
    finally:
        dashboard.stop()
    after = fake.run_requests(run_id)
    if times.finished is None:
        raise RuntimeError(f"the stampeded load did not finish: {times}")
    return Stampede(
        clients=clients, total_pages=times.progress.total_pages or 0,
        upstream_requests=after["page_requests"] - before_pages,
        context_requests=(after["requests"] - after["page_requests"])
        - (before - before_pages),
        statuses=dict(Counter(status for _s, status, _b in answers)),
        workers_serving=len(served) or None, workers=workers,
        slowest_answer=max(seconds for seconds, _st, _b in answers), finished=times.finished,
        state=times.progress.state or "?")
