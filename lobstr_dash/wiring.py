"""The app's collaborators (client, limiter, store, loader, run info, lists), built once per app."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

from .config import DEMO_TOKEN
from .loading.actions import Actions
from .loading.alerting import Alerting
from .loading.lists import Lists
from .loading.heartbeat import Heartbeat
from .loading.loader import Loader
from .loading.runinfo import RunInfoFetcher
from .loading.runs import RunService
from .ops.alerts import build_alerting
from .store import open_store
from .store import open_windows
from .store import Store
from .upstream.client import LobstrClient
from .upstream.ratelimit import SlidingWindowLimiter
from .upstream.transport import WSGIAdapter

#: The fake lobstr API answers demo mode's requests in-process under this never-resolvable host.
DEMO_API_BASE = "http://lobstr-demo.invalid/v1"
#: After a failed run-info fetch, wait this long before asking lobstr again.
RUN_INFO_RETRY_SECONDS = 30.0


@dataclass
class Observers:
    """Who hears of upstream work (the metrics); every part is optional."""

    #: (endpoint, outcome, seconds) for every upstream request.
    upstream: Callable[[str, int | str, float], None] | None = None
    #: Seconds a call waited for the rate limiter.
    rate_limit_wait: Callable[[float], None] | None = None
    #: A context manager around each load, start to end.
    track_load: Callable[[], AbstractContextManager[Any]] | None = None
    #: (action, outcome) for every action taken in lobstr.
    action: Callable[[str, str], None] | None = None


@dataclass
class Services:
    """What the views use; the app keeps one in `app.extensions["lobstr_dash"]`."""

    client: LobstrClient
    store: Store
    loader: Loader
    runs: RunService
    lists: Lists
    actions: Actions
    demo_runs: list[Any] = field(default_factory=list)
    #: Webhooks, rules, the outbox and the poller (None unless a setting turns alerts on).
    alerting: Alerting | None = None
    #: Demo mode's built-in fake lobstr (a Flask app), None otherwise.
    demo_fake: Any = None
    #: Demo squids whose runs call the webhook (demo mode with LOBSTR_WEBHOOK_SECRET).
    demo_webhook_squids: tuple[str, ...] = ()


def _in_process_session(base_url: str, wsgi_app: Any) -> requests.Session:
    """A requests session whose calls to `base_url`'s host are answered by a WSGI app in-process."""
    session = requests.Session()
    scheme, rest = base_url.split("://", 1)
    session.mount(f"{scheme}://{rest.split('/', 1)[0]}/", WSGIAdapter(wsgi_app))
    return session


def retention_limits(config: Mapping[str, Any]) -> dict[str, Any]:
    """STORE_MAX_MB and STORE_KEEP_DAYS as the run service's byte and second limits."""
    max_mb, keep_days = config.get("STORE_MAX_MB"), config.get("STORE_KEEP_DAYS")
    return {"store_max_bytes": None if max_mb is None else int(float(max_mb) * 1_000_000),
            "store_keep_seconds": None if keep_days is None else float(keep_days) * 86400.0}


def build_services(config: dict[str, Any], observers: Observers | None = None) -> Services:
    """Build the client (real, or against the built-in fake in demo mode), store and loader.

    `UPSTREAM_WSGI_APP` (tests only) answers upstream calls from a WSGI app in this process, as
    demo mode does with the built-in fake.
    """
    observers = observers or Observers()
    data_dir = Path(config["DATA_DIR"])
    # One budget for all worker processes sharing DATA_DIR: lobstr counts per account.
    runtasks_limit = int(config["LOBSTR_RATE_LIMIT"])
    # CLOCK (tests only): a wall clock to move by hand instead of sleeping; its `sleep` moves it.
    clock = config.get("CLOCK") or time.time
    pacing = {} if clock is time.time else {"clock": clock, "wall_clock": clock,
                                             "sleep": getattr(clock, "sleep", time.sleep)}
    limiter = SlidingWindowLimiter(int(config["LOBSTR_RATE_LIMIT_OTHER"]),
                                   float(config["LOBSTR_RATE_WINDOW"]),
                                   limits={"runtasks": runtasks_limit, "tasks": runtasks_limit},
                                   book=open_windows(data_dir, clock=clock,
                                                     database_url=config.get("DATABASE_URL")),
                                   on_wait=observers.rate_limit_wait, **pacing)
    demo_runs: list[Any] = []
    demo_webhook_squids: tuple[str, ...] = ()
    session = fake = None
    base_url, token = config["LOBSTR_API_BASE"], config["LOBSTR_TOKEN"]
    if config["DEMO_MODE"]:
        from .fake import DEMO_RUNS
        from .fake import FakeConfig
        from .fake import create_fake_app
        from .fake.data import SQUID_MAPS

        # With a webhook secret, demo mode shows the alert loop: a short run of the Maps squid
        # (which also holds the live run) ends in error about 90 s after the start.
        loop = bool(config.get("LOBSTR_WEBHOOK_SECRET"))
        fake = create_fake_app(FakeConfig(latency_ms=int(config["DEMO_LATENCY_MS"]),
                                          tokens={DEMO_TOKEN}, demo_alert_run=loop))
        demo_webhook_squids = (SQUID_MAPS.squid_id,) if loop else ()
        base_url, token, demo_runs = DEMO_API_BASE, DEMO_TOKEN, list(DEMO_RUNS)
        session = _in_process_session(base_url, fake)
    elif config.get("UPSTREAM_WSGI_APP") is not None:
        session = _in_process_session(base_url, config["UPSTREAM_WSGI_APP"])
    client = LobstrClient(
        base_url, token, connect_timeout=float(config["LOBSTR_CONNECT_TIMEOUT"]),
        read_timeout=float(config["LOBSTR_READ_TIMEOUT"]),
        max_attempts=int(config["LOBSTR_MAX_ATTEMPTS"]),
        retry_budget=float(config["LOBSTR_RETRY_BUDGET"]),
        max_retry_after=float(config["LOBSTR_MAX_RETRY_AFTER"]),
        backoff_base=float(config["LOBSTR_BACKOFF_BASE"]), limiter=limiter,
        session=session, observer=observers.upstream,
        max_body_bytes=int(config["LOBSTR_MAX_PAGE_BYTES"]),
        request_slots=int(config["LOBSTR_REQUEST_SLOTS"]))
    # STORE_MAX_PAGES (tests only): SQLite's max_page_count, so a full disk is real SQLITE_FULL.
    # DATABASE_URL: one PostgreSQL store for every replica; unset, a SQLite file in DATA_DIR.
    store = open_store(data_dir, clock=clock, max_pages=config.get("STORE_MAX_PAGES"),
                       database_url=config.get("DATABASE_URL"),
                       pool_size=int(config.get("DATABASE_POOL_SIZE") or 10))
    loader = Loader(client, store, concurrency=int(config["LOBSTR_CONCURRENCY"]),
                    page_size=int(config["LOBSTR_PAGE_SIZE"]),
                    lease_seconds=float(config["LOAD_LEASE_SECONDS"]),
                    track_load=observers.track_load, max_pages=int(config["LOBSTR_MAX_PAGES"]),
                    max_loads=int(config["LOADS_MAX"]),
                    loads_per_client=int(config["LOADS_PER_CLIENT"]))
    if store.spans_hosts:
        # Replicas on other hosts see a dead loader through its process's heartbeat.
        loader.heartbeat = Heartbeat(store)
    info = RunInfoFetcher(client, store, refresh_seconds=float(config["LIVE_REFRESH_SECONDS"]),
                          retry_seconds=RUN_INFO_RETRY_SECONDS, clock=clock)
    runs = RunService(store, loader, info,
                      live_refresh_seconds=float(config["LIVE_REFRESH_SECONDS"]), clock=clock,
                      retry_seconds=float(config["LOAD_RETRY_SECONDS"]),
                      finished_recheck_seconds=float(config["FINISHED_RECHECK_SECONDS"]),
                      **retention_limits(config))
    lists = Lists(client)
    alerting = build_alerting(config, client, store, runs, lists)
    return Services(client=client, store=store, loader=loader, runs=runs, lists=lists,
                    actions=Actions(client, store, on_action=observers.action),
                    demo_runs=demo_runs, alerting=alerting, demo_fake=fake,
                    demo_webhook_squids=demo_webhook_squids)
