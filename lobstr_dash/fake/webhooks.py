"""Webhook delivery as lobstr does it: settings per squid, and a POST when a run's status changes.

`POST /v1/delivery?squid=` stores a squid's `webhook_fields`; from then on `tick()` compares each
of the squid's runs with the status it had at the last tick and POSTs the event (run.running,
run.paused, run.done, run.error) when the squid subscribed to it: `{"id", "object": "run",
"event", "squid": {"id", "name"}, "timestamp": "YYYY/MM/DD HH:MM:SS"}`, unsigned. An answer other
than 200/201/202 (or none within 30 s) is tried again up to 3 times, 15 minutes apart, when
`retry` is on. `start()` ticks in a thread (demo mode, the command line); tests call `tick()`.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests

from lobstr_dash.fake.catalog import RunCatalog
from lobstr_dash.fake.summary import run_status

EVENTS = ("run.running", "run.paused", "run.done", "run.error")
OK_STATUSES = (200, 201, 202)
TIMEOUT_SECONDS = 30.0
RETRY_SECONDS = 15 * 60.0
RETRIES = 3


@dataclass
class Delivery:
    """One squid's webhook settings."""

    squid_id: str
    url: str
    is_active: bool
    retry: bool
    events: dict[str, bool]

    def fields(self) -> dict[str, Any]:
        """The settings as lobstr echoes them."""
        return {"url": self.url, "is_active": self.is_active, "retry": self.retry,
                "events": {name: bool(self.events.get(name)) for name in EVENTS}}


@dataclass
class Sent:
    """One POST the fake made: where, what, and the answer (a status, or an error name)."""

    url: str
    payload: dict[str, Any]
    outcome: int | str
    at: float
    attempt: int = 1


@dataclass(order=True)
class _Retry:
    due: float
    attempt: int
    url: str = field(compare=False)
    payload: dict[str, Any] = field(compare=False)


def event_for(before: str | None, after: str) -> str | None:
    """The event lobstr emits when a run goes from `before` to `after` (None: none)."""
    if after == before:
        return None
    if after == "running":
        return "run.running"
    if after == "paused":
        return "run.paused"
    if after in ("done", "aborted"):
        return "run.done"
    if after == "error":
        return "run.error"
    return None


class WebhookEmitter:
    """The fake's webhook deliveries (its state lives in the fake app's FakeState)."""

    def __init__(self, catalog: RunCatalog, clock: Callable[[], float]) -> None:
        self.catalog = catalog
        self.clock = clock
        self.deliveries: dict[str, Delivery] = {}
        #: The session POSTs go through (demo mode mounts the dashboard on it, in-process).
        self.session = requests.Session()
        self._known: dict[str, str] = {}
        self._retries: list[_Retry] = []
        self._sent: list[Sent] = []
        self._lock = threading.RLock()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()

    # -- settings ----------------------------------------------------------------------------

    def configure(self, squid_id: str, delivery: Delivery) -> Delivery:
        """Store a squid's settings; runs already in some status emit nothing until it changes."""
        with self._lock:
            self.deliveries[squid_id] = delivery
            for info in self.catalog.runs_of(squid_id):
                self._known.setdefault(info.run_id, run_status(self.catalog, info))
        return delivery

    # -- emitting ----------------------------------------------------------------------------

    def tick(self) -> list[Sent]:
        """Emit the events of every status change since the last tick, and the retries due."""
        sent = []
        with self._lock:
            for squid_id, delivery in list(self.deliveries.items()):
                for info in self.catalog.runs_of(squid_id):
                    status = run_status(self.catalog, info)
                    event = event_for(self._known.get(info.run_id), status)
                    self._known[info.run_id] = status
                    if event and delivery.is_active and delivery.events.get(event):
                        sent.append(self._post(delivery, self.payload(info.run_id, event), 1))
            now = self.clock()
            due = [r for r in self._retries if r.due <= now]
            self._retries = [r for r in self._retries if r.due > now]
        for retry in sorted(due):
            delivery = self.deliveries.get(retry.payload["squid"]["id"])
            if delivery is not None:
                sent.append(self._post(delivery, retry.payload, retry.attempt, url=retry.url))
        return sent

    def emit(self, run_id: str, event: str) -> Sent:
        """POST one event for a run now, to its squid's URL (whatever the subscriptions say)."""
        info = self.catalog.run(run_id)
        if info is None or info.squid_id not in self.deliveries:
            raise KeyError(f"no webhook is configured for the squid of run {run_id}")
        return self._post(self.deliveries[info.squid_id], self.payload(run_id, event), 1)

    def payload(self, run_id: str, event: str) -> dict[str, Any]:
        """The body lobstr POSTs for a run's event."""
        info = self.catalog.run(run_id)
        squid = self.catalog.squid(info.squid_id) if info else None
        return {"id": run_id, "object": "run", "event": event,
                "squid": {"id": squid.squid_id if squid else None,
                          "name": squid.name if squid else None},
                "timestamp": time.strftime("%Y/%m/%d %H:%M:%S", time.gmtime(self.clock()))}

    def _post(self, delivery: Delivery, payload: dict[str, Any], attempt: int,
              url: str | None = None) -> Sent:
        target = url or delivery.url
        try:
            response = self.session.post(target, json=payload, timeout=TIMEOUT_SECONDS)
            outcome: int | str = response.status_code
        except requests.RequestException as exc:
            outcome = type(exc).__name__
        record = Sent(target, payload, outcome, self.clock(), attempt)
        with self._lock:
            self._sent.append(record)
            if outcome not in OK_STATUSES and delivery.retry and attempt <= RETRIES:
                self._retries.append(_Retry(self.clock() + RETRY_SECONDS, attempt + 1, target,
                                            payload))
        return record

    @property
    def sent(self) -> list[Sent]:
        """Every POST made, oldest first."""
        with self._lock:
            return list(self._sent)

    # -- in the background -------------------------------------------------------------------

    def start(self, interval: float = 2.0) -> None:
        """Tick every `interval` seconds in a daemon thread (once)."""
        if self._thread is not None:
            return

        def loop() -> None:
            while not self._stop.wait(interval):
                try:
                    self.tick()
                except Exception:  # a demo helper must keep ticking; say why it missed one
                    logging.getLogger(__name__).exception("fake webhooks: a tick failed")

        self._thread = threading.Thread(target=loop, name="fake-webhooks", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop ticking."""
        self._stop.set()
