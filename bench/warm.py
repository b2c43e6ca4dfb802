"""Warm server times of the run page on big loaded runs, and the dashboard's peak memory."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.browser import TASKS_PARTIAL, timed_get
from bench.procs import Dashboard, start_dashboard, start_fake
from bench.profile import Profile
from bench.storewatch import watch_load
from bench.timing import median, percentile

from lobstr_dash.fake import synthetic_run_id


@dataclass(frozen=True)
class Query:
    """One kind of request the run page gets, with the target it is held to."""

    key: str
    label: str
    query: str
    partial: bool = False


QUERIES = (
    Query("first", "first page", ""),
    Query("filter", "filter `?status=error`", "?status=error"),
    Query("sort", "sort `?sort=collected&dir=asc`", "?sort=collected&dir=asc"),
    Query("text", "text filter `?q=boulangerie`", "?q=boulangerie"),
    Query("filter", "filter, htmx table partial", "?status=error", partial=True),
    Query("sort", "sort, htmx table partial", "?sort=collected&dir=asc", partial=True),
)


@dataclass(frozen=True)
class Timing:
    """p50 and p95 of one query kind on one run, in seconds."""

    tasks: int
    query: Query
    samples: list[float]

    @property
    def p50(self) -> float:
        """Median."""
        return median(self.samples)

    @property
    def p95(self) -> float:
        """95th percentile (nearest rank)."""
        return percentile(self.samples, 0.95)


@dataclass(frozen=True)
class WarmResult:
    """Load times of the big runs, warm timings, and memory of each dashboard process."""

    load_seconds: dict[int, float]
    timings: list[Timing]
    memory_after_load: dict[int, dict[str, int]]
    memory_end: dict[int, dict[str, int]]
    master: int


def _load(dashboard: Dashboard, run_id: str) -> float:
    url = f"{dashboard.url}/runs/{run_id}"
    opener = threading.Thread(target=timed_get, args=(url,))
    started = time.perf_counter()
    opener.start()
    times = watch_load(dashboard.store_path, run_id, started, timeout=600, interval=0.05)
    opener.join(120)
    if times.finished is None or times.progress.state != "done":
        raise RuntimeError(f"loading {run_id} did not complete: {times}")
    return times.finished


def _time_queries(url: str, warmup: int, count: int) -> dict[Query, list[float]]:
    """Round-robin over the queries, so a burst of noise on the machine hits each kind alike."""
    samples: dict[Query, list[float]] = {query: [] for query in QUERIES}
    for index in range(warmup + count):
        for query in QUERIES:
            headers = TASKS_PARTIAL if query.partial else None
            seconds, status, _size = timed_get(url + query.query, headers=headers)
            if status != 200:
                raise RuntimeError(f"{url}{query.query} answered {status}")
            if index >= warmup:
                samples[query].append(seconds)
    return samples


def warm_timings(workdir: Path, profile: Profile) -> WarmResult:
    """Load each size with no latency and no dashboard limiter, then time the page's queries."""
    runs = {synthetic_run_id(f"bench-warm-{size}"): size for size in profile.warm_sizes}
    fake = start_fake(workdir, runs)
    try:
        dashboard = start_dashboard(workdir, fake.api_base, env={"LOBSTR_RATE_LIMIT": "0"})
        try:
            loads = {size: _load(dashboard, run_id) for run_id, size in runs.items()}
            after_load = dashboard.memory_kib()
            timings = []
            for run_id, size in runs.items():
                samples = _time_queries(f"{dashboard.url}/runs/{run_id}", profile.warm_warmup,
                                        profile.warm_requests)
                timings += [Timing(size, query, samples[query]) for query in QUERIES]
            end = dashboard.memory_kib()
            master = dashboard.proc.pid
        finally:
            dashboard.stop()
    finally:
        fake.stop()
    return WarmResult(loads, timings, after_load, end, master)
