"""Cold load of one run by a fresh dashboard: time to first rows, to the page, to a complete store."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import requests

from bench.browser import StatusPoller, timed_get
from bench.procs import TOKEN, FakeServer, start_dashboard
from bench.storewatch import watch_load
from bench.timing import median


@dataclass(frozen=True)
class ColdLoad:
    """One cold load: seconds to first stored rows, to the page's answer, to the end; requests."""

    first_rows: float
    page_answer: float
    finished: float
    upstream_requests: int
    total_pages: int
    rows_stored: int
    state: str


@dataclass(frozen=True)
class ColdSeries:
    """Repeated cold loads at one concurrency."""

    concurrency: int
    loads: list[ColdLoad]

    @property
    def finished(self) -> float:
        """Median seconds to a complete store."""
        return median([load.finished for load in self.loads])

    @property
    def first_rows(self) -> float:
        """Median seconds until the first page of rows was stored (visible to any request)."""
        return median([load.first_rows for load in self.loads])

    @property
    def page_answer(self) -> float:
        """Median seconds until the first GET of the run page answered."""
        return median([load.page_answer for load in self.loads])


def warm_fake_pages(fake: FakeServer, run_id: str, tasks: int, limits: tuple[int, ...]) -> None:
    """Have the fake build and cache every page once, so no figure pays its row generation."""
    urls = [(page, limit) for limit in limits for page in range(1, -(-tasks // limit) + 1)]

    def fetch(item: tuple[int, int]) -> None:
        page, limit = item
        answer = requests.get(f"{fake.api_base}/runtasks", timeout=60,
                              params={"run": run_id, "page": page, "limit": limit},
                              headers={"Authorization": f"Token {TOKEN}"})
        answer.raise_for_status()

    with ThreadPoolExecutor(32) as pool:
        list(pool.map(fetch, urls))


def cold_load(workdir: Path, fake: FakeServer, run_id: str, concurrency: int,
              timeout: float = 300.0) -> ColdLoad:
    """Open a run on a fresh dashboard (empty store) while a tab polls its status every second."""
    before = fake.run_requests(run_id)["requests"]
    dashboard = start_dashboard(workdir, fake.api_base,
                                env={"LOBSTR_CONCURRENCY": str(concurrency)})
    try:
        url = f"{dashboard.url}/runs/{run_id}"
        answers: list[tuple[float, int, int]] = []
        opener = threading.Thread(target=lambda: answers.append(timed_get(url)))
        started = time.perf_counter()
        opener.start()
        with StatusPoller(url):
            times = watch_load(dashboard.store_path, run_id, started, timeout=timeout)
        opener.join(timeout)
        # Any late duplicate request would reach the fake within a latency or two.
        time.sleep(0.5)
    finally:
        dashboard.stop()
    if times.finished is None or times.first_rows is None or not answers:
        raise RuntimeError(f"cold load at concurrency {concurrency} did not finish: {times}")
    if answers[0][1] != 200:
        raise RuntimeError(f"the run page answered {answers[0][1]}")
    progress = times.progress
    return ColdLoad(first_rows=times.first_rows, page_answer=answers[0][0],
                    finished=times.finished,
                    upstream_requests=fake.run_requests(run_id)["requests"] - before,
                    total_pages=progress.total_pages or 0, rows_stored=progress.rows_stored,
                    state=progress.state or "?")


def cold_series(workdir: Path, fake: FakeServer, run_id: str, concurrency: int,
                repeats: int) -> ColdSeries:
    """`repeats` cold loads of the same run, each by a new dashboard process on a new store."""
    return ColdSeries(concurrency, [cold_load(workdir, fake, run_id, concurrency)
                                    for _ in range(repeats)])
