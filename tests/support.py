"""The one fake lobstr the tests use: lobstr_dash.fake, in-process or on a loopback port.

`FakeLobstr` wraps the real fake API (the same one demo mode serves) with the handles tests need:
runs made of hand-written rows, failures with exact bodies and headers, a gate that holds pages
back, a hook between pages, and the log of what it was asked. A dashboard reaches it in-process
(`dashboard_config`) or over real HTTP (`FakeLobstr.serve`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from flask import Flask

from lobstr_dash.fake import FakeConfig
from lobstr_dash.fake import FaultRule
from lobstr_dash.fake import create_fake_app
from lobstr_dash.fake import serve_in_thread

TOKEN = "tok-SECRET-6f1c2e9a"
API = "https://lobstr.test/v1"
RUN = "300e9c5c127d421c90f431478d9a2cfb"


def make_rows(run_id: str, count: int, *, short_every: int = 3) -> list[dict[str, Any]]:
    """Rows shaped like /v1/runtasks data: every `short_every`-th task is aborted and short."""
    rows = []
    for i in range(count):
        short = short_every and i % short_every == 0
        rows.append({
            "object": "runtask", "id": f"{i + 1:032x}", "task": f"{i + 7:032x}", "run": run_id,
            "status": "aborted" if short else "completed",
            "done_reason": "run_aborted" if short else "completed",
            "done_reason_desc": "The run was aborted by the user" if short else None,
            "params": {"url": f"https://www.google.com/maps/search/place-{i}/@43.29,5.36,14z"},
            "started_at": "2025-02-10T14:30:58Z", "ended_at": "2025-02-10T14:31:10.250000Z",
            "total_results": 100, "last_result": (i % 50) if short else 100,
            "total_pages": 1, "last_page": 0, "last_collection_at": "2025-02-10T14:31:10Z",
        })
    return rows


class FakeLobstr:
    """The fake lobstr API of lobstr_dash.fake with the handles tests use."""

    def __init__(self, **config: Any) -> None:
        config.setdefault("tokens", {TOKEN})
        self.app: Flask = create_fake_app(FakeConfig(**config))
        self.state = self.app.extensions["fake"]

    # -- what it serves ------------------------------------------------------------------

    def add_run(self, run_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Serve these rows for a run (changing the list later changes what is served)."""
        return self.state.catalog.put_rows(run_id, rows)

    def fail(self, run_id: str, page: int, status: int, body: Any = None, *, times: int = 1,
             headers: dict[str, str] | None = None) -> FaultRule:
        """Answer `status` (with `body`, default `{"detail": "boom <status>"}`) to the next
        `times` requests for a run's page; times=0: for ever."""
        return self.state.faults.append(FaultRule(
            endpoint="runtasks", run=run_id, page=page, status=status, times=times or None,
            payload=body if body is not None else {"detail": f"boom {status}"}, headers=headers))

    def rule(self, **fields: Any) -> FaultRule:
        """Add any fault rule (see lobstr_dash.fake.faults.FaultRule)."""
        return self.state.faults.append(FaultRule(**fields))

    @property
    def gate(self) -> threading.Event | None:
        """While an unset Event, runtasks answers wait for it (a load in flight)."""
        return self.state.hold

    @gate.setter
    def gate(self, event: threading.Event | None) -> None:
        self.state.hold = event

    @property
    def before_page(self) -> Callable[[str | None, int | None], None] | None:
        """Called with (run, page) before each runtasks answer."""
        return self.state.before_page

    @before_page.setter
    def before_page(self, hook: Callable[[str | None, int | None], None] | None) -> None:
        self.state.before_page = hook

    # -- what it was asked ---------------------------------------------------------------

    def count(self, run_id: str | None = None, page: int | None = None) -> int:
        """runtasks requests received for a run (and page)."""
        return self.state.count(endpoint="runtasks", run=run_id, page=page)

    def requests(self, endpoint: str | None = None) -> int:
        """Requests received for an endpoint (None: any), answered or refused."""
        return self.state.count(endpoint=endpoint)

    @property
    def tokens_seen(self) -> list[str]:
        """The Authorization header of every request, in order."""
        return [record.token for record in self.state.requests]

    # -- where it is ---------------------------------------------------------------------

    @contextmanager
    def serve(self) -> Iterator[str]:
        """Serve it on a loopback port for the block; yields its /v1 base URL."""
        base_url, stop = serve_in_thread(self.app)
        try:
            yield base_url
        finally:
            stop()


#: Set per test by conftest when TEST_ENGINE=postgresql: every dashboard_config then uses it.
ENGINE_DATABASE_URL: str | None = None


def dashboard_config(fake: FakeLobstr | None, data_dir: str, *, base_url: str = API,
                     **overrides: Any) -> dict[str, Any]:
    """A dashboard config against a fake: in-process (`fake` given) or over HTTP at `base_url`."""
    config: dict[str, Any] = {
        "LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url, "DATA_DIR": data_dir,
        "LOAD_WAIT_SECONDS": 10.0, "EXPORT_WAIT_SECONDS": 10.0, "LOBSTR_BACKOFF_BASE": 0.001,
        "LOBSTR_RETRY_BUDGET": 5.0, "LOBSTR_MAX_RETRY_AFTER": 2.0,
    }
    if fake is not None:
        config["UPSTREAM_WSGI_APP"] = fake.app
    if ENGINE_DATABASE_URL:
        config["DATABASE_URL"] = ENGINE_DATABASE_URL
    config.update(overrides)
    return config


def store_of(data_dir: Any, **kwargs: Any) -> Any:
    """The store a dashboard with this DATA_DIR uses (PostgreSQL's when the test runs on it)."""
    from pathlib import Path

    from lobstr_dash.store import Store

    return Store(Path(data_dir) / "lobstr-dash.sqlite3", database_url=ENGINE_DATABASE_URL, **kwargs)
