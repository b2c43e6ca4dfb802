"""Mutable per-app state of the fake: catalogue, faults, limiter and request log."""

from __future__ import annotations

import copy
import threading
from collections.abc import Callable
from dataclasses import dataclass

from lobstr_dash.fake.config import FakeConfig
from lobstr_dash.fake.catalog import RunCatalog
from lobstr_dash.fake.faults import FaultSet, as_rule
from lobstr_dash.fake.ratelimit import SlidingWindowLimiter
from lobstr_dash.fake.webhooks import WebhookEmitter


@dataclass(frozen=True)
class RequestRecord:
    """One request the fake answered."""

    method: str
    path: str
    endpoint: str | None
    args: dict[str, str]
    status: int
    run: str | None
    page: int | None
    #: The Authorization header as received.
    token: str = ""
    #: When it was answered, on the fake's clock.
    at: float = 0.0


class FakeState:
    """Lives in `app.extensions["fake"]`; tests read the log and edit `faults` through it."""

    def __init__(self, config: FakeConfig) -> None:
        self.config = config
        self.catalog = RunCatalog(seed=config.seed, clock=config.clock,
                                  extra_runs=config.extra_runs,
                                  demo_alert_run=config.demo_alert_run)
        #: Webhook settings per squid and the POSTs made (POST /v1/delivery).
        self.webhooks = WebhookEmitter(self.catalog, config.clock)
        self._initial_faults = [as_rule(r) for r in config.faults]
        self.faults = FaultSet(copy.deepcopy(self._initial_faults))
        self.limiter: SlidingWindowLimiter | None = None
        if config.rate_limit_per_minute > 0:
            self.limiter = SlidingWindowLimiter(config.rate_limit_per_minute,
                                                config.rate_limit_window_seconds, config.clock)
        self._lock = threading.Lock()
        self._requests: list[RequestRecord] = []
        #: While set to an unset Event, runtasks answers wait for it (up to 10 s): a load in flight.
        self.hold: threading.Event | None = None
        #: runtasks requests that reached `hold` (answered or still waiting).
        self.held = 0
        #: Called with (run, page) before each runtasks answer: lets a test change the run meanwhile.
        self.before_page: Callable[[str | None, int | None], None] | None = None

    def record(self, record: RequestRecord) -> None:
        """Append one answered request to the log."""
        with self._lock:
            self._requests.append(record)

    @property
    def requests(self) -> list[RequestRecord]:
        """A snapshot of the request log, oldest first."""
        with self._lock:
            return list(self._requests)

    def note_held(self) -> None:
        """A runtasks request reached the test's hold."""
        with self._lock:
            self.held += 1

    def count(self, endpoint: str | None = None, run: str | None = None,
              page: int | None = None, status: int | None = None) -> int:
        """How many logged requests match the endpoint name (None = any), run, page and status."""
        return sum(
            1 for r in self.requests
            if (endpoint is None or r.endpoint == endpoint)
            and (run is None or r.run == run)
            and (page is None or r.page == page)
            and (status is None or r.status == status)
        )

    def reset(self) -> None:
        """Clear the log and rate-limit windows and restore the configured fault rules."""
        with self._lock:
            self._requests.clear()
        if self.limiter is not None:
            self.limiter.reset()
        self.faults.clear()
        self.faults.extend(copy.deepcopy(self._initial_faults))
