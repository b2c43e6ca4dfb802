"""The alerts machinery of one process: events in, background workers, the test send.

`Alerting` is built once per app (wiring.py). `accept` records an event (a webhook) and wakes the
event worker; three daemon threads handle events, send the outbox and poll watched squids. Each
wakes when told, or when the store says its next piece of work is due, and at least every
`IDLE_SECONDS`, so work another process queued (or a restart left) is picked up too.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

from ..domain.rules import RuleSet
from ..store import Store
from .hooks import HookHandler
from .notify import Channels
from .notify import SendResult
from .outbox import Composed
from .outbox import Deliverer
from .watch import Watcher

log = logging.getLogger(__name__)

#: The longest a worker sleeps without looking at the store.
IDLE_SECONDS = 5.0
#: Handled events are forgotten after this long (lobstr stops retrying within the hour).
KEEP_HOOKS_SECONDS = 30 * 86400.0
#: At most this many events may wait: a flood is refused (429) instead of queued without end.
MAX_PENDING_HOOKS = 1000


class Worker:
    """A daemon thread that runs `step` until it reports no work, then sleeps until due."""

    def __init__(self, name: str, step: Callable[[], bool], next_due: Callable[[], float | None],
                 clock: Callable[[], float]) -> None:
        self.name = name
        self.step = step
        self.next_due = next_due
        self.clock = clock
        self.wake = threading.Event()
        self.stopping = threading.Event()
        self.thread: threading.Thread | None = None

    def start(self) -> None:
        """Start the thread (once)."""
        if self.thread is None:
            self.thread = threading.Thread(target=self._run, name=f"alerts-{self.name}", daemon=True)
            self.thread.start()

    def stop(self, timeout: float = 5.0) -> None:
        """Ask the thread to end and wait for it."""
        self.stopping.set()
        self.wake.set()
        if self.thread is not None:
            self.thread.join(timeout)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                while not self.stopping.is_set() and self.step():
                    pass
                due = self.next_due()
            except Exception:  # a worker must outlive a bad row or a locked database
                log.exception("alerts worker %s failed; it goes on", self.name)
                due = None
            sleep = IDLE_SECONDS if due is None else min(IDLE_SECONDS, due - self.clock())
            self.wake.wait(max(0.05, sleep))
            self.wake.clear()


@dataclass(frozen=True)
class TestResult:
    """How the test message went on one channel."""

    label: str
    result: SendResult


class Alerting:
    """Events, the outbox and the poller of this process."""

    def __init__(self, store: Store, channels: Channels, hooks: HookHandler, deliverer: Deliverer,
                 watcher: Watcher | None, sample: Callable[[], Composed], *, rules: RuleSet,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.rules = rules
        self.channels = channels
        self.hooks = hooks
        self.deliverer = deliverer
        self.watcher = watcher
        self.sample = sample
        self.clock = clock
        self.workers = [
            Worker("events", hooks.handle_one, store.next_hook_due, clock),
            Worker("outbox", deliverer.deliver_one, deliverer.next_due, clock),
        ]
        if watcher is not None:
            self.workers.append(Worker("watch", self._watch_step, watcher.next_due, clock))
        hooks.on_alert = self.workers[1].wake.set

    def start(self) -> None:
        """Start the background workers: whatever a previous process left is picked up now."""
        self.store.prune_hooks(self.clock() - KEEP_HOOKS_SECONDS)
        for worker in self.workers:
            worker.start()

    def stop(self) -> None:
        """Stop the workers (tests)."""
        for worker in self.workers:
            worker.stop()

    def accept(self, run_id: str, event: str, source: str, squid_hint: str | None) -> bool:
        """Record an event once; wake the event worker. False for a repeat of a known event."""
        added = self.store.accept_hook(run_id, event, source, squid_hint)
        if added:
            self.workers[0].wake.set()
        return added

    def full(self) -> bool:
        """True when too many events wait to take another."""
        return self.store.pending_hooks() >= MAX_PENDING_HOOKS

    def run_once(self) -> int:
        """Do every due piece of work now, in this thread (tests, with a fake clock)."""
        done = 0
        while self.hooks.handle_one():
            done += 1
        while self.deliverer.deliver_one():
            done += 1
        if self.watcher is not None and self.watcher.poll_if_due():
            done += 1
            while self.hooks.handle_one():
                done += 1
            while self.deliverer.deliver_one():
                done += 1
        return done

    def _watch_step(self) -> bool:
        assert self.watcher is not None
        self.watcher.poll_if_due()
        self.store.prune_hooks(self.clock() - KEEP_HOOKS_SECONDS)
        return False

    def send_test(self) -> list[TestResult]:
        """Send the sample message to every channel now; how it went on each."""
        message = self.sample()
        return [TestResult(c.label, self.channels.send(c, message.title, message.text,
                                                       message.markdown, message.severity))
                for c in self.channels.channels]
