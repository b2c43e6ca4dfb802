"""One process-wide limiter for upstream calls: a sliding window plus the server's own hints."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


class RateLimitWaitTooLong(Exception):
    """Waiting for a slot would overrun the caller's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"next upstream slot in {wait:.1f}s")
        self.wait = wait


class SlidingWindowLimiter:
    """Allow `limit` calls in any `window` seconds, burst first, and obey 429/X-RateLimit hints.

    lobstr counts requests per minute, so a burst may spend the whole minute's budget at once:
    a run of up to `limit` pages is never slowed; beyond it each call waits for the oldest call
    of the window to age out.
    """

    def __init__(self, limit: int, window: float = 60.0, *, margin: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = limit
        self.window = window
        # Requests reach the server a little after we send them; the margin keeps the server's
        # window, which counts arrivals, from ever seeing one more than the limit.
        self.margin = margin
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._sent: deque[float] = deque()
        self._blocked_until = 0.0
        self._lock = threading.Lock()
        self.waits = 0
        self.waited_seconds = 0.0

    def _take(self) -> float:
        """Record a send and return 0, or return the seconds until one may go."""
        with self._lock:
            now = self._clock()
            while self._sent and self._sent[0] <= now - self.window - self.margin:
                self._sent.popleft()
            wait = max(0.0, self._blocked_until - now)
            if self.limit and len(self._sent) >= self.limit:
                wait = max(wait, self._sent[0] + self.window + self.margin - now)
            if wait <= 0:
                self._sent.append(now)
            return wait

    def acquire(self, deadline: float | None = None) -> float:
        """Block until a call may be sent and record it; return the seconds waited.

        `deadline` is a `clock()` value; raises RateLimitWaitTooLong rather than overrun it.
        """
        started = self._clock()
        while True:
            wait = self._take()
            now = self._clock()
            if wait <= 0:
                waited = now - started
                if waited > 0.001:
                    with self._lock:
                        self.waits += 1
                        self.waited_seconds += waited
                return waited
            if deadline is not None and now + wait > deadline:
                raise RateLimitWaitTooLong(wait)
            self._sleep(min(wait, 1.0))

    def pause(self, seconds: float) -> None:
        """Send nothing for `seconds` (the server said Retry-After)."""
        with self._lock:
            self._blocked_until = max(self._blocked_until, self._clock() + max(0.0, seconds))

    def observe(self, remaining: str | None, reset: str | None) -> None:
        """Read X-RateLimit-Remaining/Reset: with nothing remaining, wait for the reset."""
        try:
            left = int(remaining) if remaining is not None else None
            reset_at = float(reset) if reset is not None else None
        except ValueError:
            return
        if left is None or left > 0 or reset_at is None:
            return
        seconds = reset_at - self._wall_clock()
        # A reset far in the future is a clock problem, not a budget; never block past one window.
        self.pause(min(max(seconds, 0.0), self.window))


class SharedWindowLimiter(SlidingWindowLimiter):
    """The same sliding window, kept in a SQLite file so every worker process shares one budget.

    lobstr counts requests per account, not per process: two gunicorn workers each allowed 90
    a minute would send 180. Each slot is taken in one IMMEDIATE transaction on a small file of
    its own, so it never waits behind the store's page writes.
    """

    def __init__(self, limit: int, window: float = 60.0, *, path: str | Path,
                 margin: float = 0.5, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(limit, window, margin=margin, clock=clock, wall_clock=wall_clock,
                         sleep=sleep)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS sends (at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS sends_at ON sends (at)")
            conn.execute("CREATE TABLE IF NOT EXISTS blocked (id INTEGER PRIMARY KEY CHECK (id = 1),"
                         " until REAL NOT NULL)")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=30.0, isolation_level=None)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _take(self) -> float:
        """Record a send and return 0, or return the seconds until one may go."""
        now = self._wall_clock()
        with self._transaction() as conn:
            conn.execute("DELETE FROM sends WHERE at <= ?", (now - self.window - self.margin,))
            row = conn.execute("SELECT until FROM blocked WHERE id = 1").fetchone()
            wait = max(0.0, row[0] - now) if row else 0.0
            if self.limit:
                count, oldest = conn.execute("SELECT count(*), min(at) FROM sends").fetchone()
                if count >= self.limit:
                    wait = max(wait, oldest + self.window + self.margin - now)
            if wait <= 0:
                conn.execute("INSERT INTO sends (at) VALUES (?)", (now,))
        return wait

    def pause(self, seconds: float) -> None:
        """Make every process send nothing for `seconds` (the server said Retry-After)."""
        until = self._wall_clock() + max(0.0, seconds)
        with self._transaction() as conn:
            conn.execute("INSERT INTO blocked (id, until) VALUES (1, ?) ON CONFLICT (id)"
                         " DO UPDATE SET until = max(until, excluded.until)", (until,))
