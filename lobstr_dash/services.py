"""The app's collaborators (client, store, loader, runs service), built once per app."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from flask import current_app

from .client import LobstrClient
from .config import DEMO_TOKEN
from .loader import Loader
from .params import RUN_ID_HELP
from .params import InvalidInput
from .params import is_run_id
from .ratelimit import SharedWindowLimiter
from .runs import RunService
from .store import Store

#: The fake lobstr API answers demo mode's requests in-process under this never-resolvable host.
DEMO_API_BASE = "http://lobstr-demo.invalid/v1"


@dataclass
class Services:
    """What the views use; the app keeps one in `app.extensions`."""

    client: LobstrClient
    store: Store
    loader: Loader
    runs: RunService
    demo_runs: list[Any]


def build_services(config: dict[str, Any],
                   observer: Callable[[str, int | str, float], None] | None = None) -> Services:
    """Build the client (real, or against the built-in fake in demo mode), store and loader.

    `observer(endpoint, outcome, seconds)` hears of every upstream request (the metrics).
    """
    # One budget for all worker processes sharing DATA_DIR: lobstr counts per account.
    runtasks_limit = int(config["LOBSTR_RATE_LIMIT"])
    limiter = SharedWindowLimiter(int(config["LOBSTR_RATE_LIMIT_OTHER"]),
                                  float(config["LOBSTR_RATE_WINDOW"]),
                                  limits={"runtasks": runtasks_limit, "tasks": runtasks_limit},
                                  path=Path(config["DATA_DIR"]) / "ratelimit.sqlite3")
    demo_runs: list[Any] = []
    if config["DEMO_MODE"]:
        import requests

        from .fake import DEMO_RUNS
        from .fake import FakeConfig
        from .fake import create_fake_app
        from .wsgi_transport import WSGIAdapter

        fake = create_fake_app(FakeConfig(latency_ms=int(config["DEMO_LATENCY_MS"]),
                                          tokens={DEMO_TOKEN}))
        session = requests.Session()
        session.mount(DEMO_API_BASE.rsplit("/", 1)[0] + "/", WSGIAdapter(fake))
        base_url, token, demo_runs = DEMO_API_BASE, DEMO_TOKEN, list(DEMO_RUNS)
    else:
        session = None
        base_url, token = config["LOBSTR_API_BASE"], config["LOBSTR_TOKEN"]
    client = LobstrClient(
        base_url, token, connect_timeout=float(config["LOBSTR_CONNECT_TIMEOUT"]),
        read_timeout=float(config["LOBSTR_READ_TIMEOUT"]),
        max_attempts=int(config["LOBSTR_MAX_ATTEMPTS"]),
        retry_budget=float(config["LOBSTR_RETRY_BUDGET"]),
        max_retry_after=float(config["LOBSTR_MAX_RETRY_AFTER"]),
        backoff_base=float(config["LOBSTR_BACKOFF_BASE"]), limiter=limiter,
        session=session, observer=observer)
    store = Store(Path(config["DATA_DIR"]) / "lobstr-dash.sqlite3")
    loader = Loader(client, store, concurrency=int(config["LOBSTR_CONCURRENCY"]),
                    page_size=int(config["LOBSTR_PAGE_SIZE"]),
                    lease_seconds=float(config["LOAD_LEASE_SECONDS"]))
    runs = RunService(store, loader, live_refresh_seconds=float(config["LIVE_REFRESH_SECONDS"]))
    return Services(client=client, store=store, loader=loader, runs=runs, demo_runs=demo_runs)


def services() -> Services:
    """Return the current app's services."""
    return current_app.extensions["lobstr_dash"]  # type: ignore[no-any-return]


def canonical_run_id(value: str) -> str:
    """Return a run id in canonical lower case; raises InvalidInput for anything else."""
    lowered = (value or "").strip().lower()
    if not is_run_id(lowered):
        raise InvalidInput("That is not a run id. " + RUN_ID_HELP)
    return lowered
