"""A big run under lobstr's enforced rate limit: total time against the window's bound, 429s."""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path

from bench.browser import StatusPoller, timed_get
from bench.procs import start_dashboard, start_fake
from bench.profile import Profile
from bench.storewatch import watch_load
from bench.timing import window_bound

from lobstr_dash.fake import synthetic_run_id


@dataclass(frozen=True)
class LimitedLoad:
    """One load of a run bigger than the rate limit's burst."""

    tasks: int
    total_pages: int
    finished: float
    bound: float
    first_rows: float
    upstream_requests: int
    throttled: int
    throttled_all: int
    state: str
    pages_done: int
    polls: int


def limited_load(workdir: Path, profile: Profile) -> LimitedLoad:
    """Fake enforcing `rate_limit` per `rate_window`; the dashboard with its default limiter."""
    run_id = synthetic_run_id(f"bench-limited-{profile.limited_tasks}")
    fake = start_fake(workdir, {run_id: profile.limited_tasks},
                      latency_ms=profile.limited_latency_ms, rate_limit=profile.rate_limit,
                      rate_window=profile.rate_window)
    try:
        # The full bench keeps every dashboard default (90 per 60 s); the quick one shrinks both.
        config = None if profile.default_window else {
            "LOBSTR_RATE_LIMIT": profile.rate_limit, "LOBSTR_RATE_WINDOW": profile.rate_window}
        dashboard = start_dashboard(workdir, fake.api_base, config=config)
        try:
            url = f"{dashboard.url}/runs/{run_id}"
            opener = threading.Thread(target=timed_get, args=(url,))
            started = time.perf_counter()
            opener.start()
            with StatusPoller(url) as poller:
                times = watch_load(dashboard.store_path, run_id, started,
                                   timeout=profile.rate_window * 6 + 120)
            opener.join(60)
            time.sleep(0.5)
        finally:
            dashboard.stop()
        counts = fake.run_requests(run_id)
        throttled_all = int(fake.stats()["throttled"])
    finally:
        fake.stop()
    if times.finished is None or times.first_rows is None:
        raise RuntimeError(f"the rate-limited load did not finish: {times}")
    pages = times.progress.total_pages or 0
    return LimitedLoad(
        tasks=profile.limited_tasks, total_pages=pages, finished=times.finished,
        bound=window_bound(pages, profile.rate_limit, profile.rate_window,
                           profile.limited_latency_ms / 1000),
        first_rows=times.first_rows, upstream_requests=counts["requests"],
        throttled=counts["throttled"], throttled_all=throttled_all,
        state=times.progress.state or "?", pages_done=times.progress.pages_done,
        polls=poller.polls)
