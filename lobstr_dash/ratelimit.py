"""The upstream rate limiter: sliding windows per endpoint family, plus the server's own hints."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path


class RateLimitWaitTooLong(Exception):
    """Waiting for a slot would overrun the caller's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"next upstream slot in {wait:.1f}s")
        self.wait = wait


class SlidingWindowLimiter:
    """Allow `limit` calls in any `window` seconds, burst first, and obey 429/X-RateLimit hints.

    lobstr counts requests per minute and per endpoint (runtasks 90, runs 120…), so each `key`
    (an endpoint family) has a window of its own, `limits[key]` calls long (else `limit`). A
    burst may spend the whole minute's budget at once: a run of up to `limit` pages is never
    slowed; beyond it each call waits for the oldest call of the window to age out.
    """

    def __init__(self, limit: int, window: float = 60.0, *, limits: Mapping[str, int] | None = None,
                 margin: float = 0.5, clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        self.limit = limit
        self.limits = dict(limits or {})
        self.window = window
        # Requests reach the server a little after we send them; the margin keeps the server's
        # window, which counts arrivals, from ever seeing one more than the limit.
        self.margin = margin
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        self._sent: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()
        self.waits = 0
        self.waited_seconds = 0.0

    def limit_for(self, key: str) -> int:
        """The calls allowed per window for one endpoint family (0: no pacing)."""
        return self.limits.get(key, self.limit)

    def _take(self, key: str) -> float:
        """Record a send and return 0, or return the seconds until one may go."""
        with self._lock:
            now = self._clock()
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - self.window - self.margin:
                sent.popleft()
            wait = max(0.0, self._blocked_until.get(key, 0.0) - now)
            limit = self.limit_for(key)
            if limit and len(sent) >= limit:
                wait = max(wait, sent[0] + self.window + self.margin - now)
            if wait <= 0:
                sent.append(now)
            return wait

    def acquire(self, deadline: float | None = None, key: str = "") -> float:
        """Block until a call may be sent and record it; return the seconds waited.

        `deadline` is a `clock()` value; raises RateLimitWaitTooLong rather than overrun it.
        """
        started = self._clock()
        while True:
            wait = self._take(key)
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

    def pause(self, seconds: float, key: str = "") -> None:
        """Send nothing to this endpoint family for `seconds` (the server said Retry-After)."""
        with self._lock:
            until = self._clock() + max(0.0, seconds)
            self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), until)

    def observe(self, remaining: str | None, reset: str | None, key: str = "") -> None:
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
        self.pause(min(max(seconds, 0.0), self.window), key)


class SharedWindowLimiter(SlidingWindowLimiter):
    """The same windows, kept in a SQLite file so every worker process shares one budget.

    lobstr counts requests per account, not per process: two gunicorn workers each allowed 90
    a minute would send 180. Each slot is taken in one IMMEDIATE transaction on a small file of
    its own, so it never waits behind the store's page writes.
    """

    def __init__(self, limit: int, window: float = 60.0, *, path: str | Path,
                 limits: Mapping[str, int] | None = None, margin: float = 0.5,
                 clock: Callable[[], float] = time.monotonic,
                 wall_clock: Callable[[], float] = time.time,
                 sleep: Callable[[float], None] = time.sleep) -> None:
        super().__init__(limit, window, limits=limits, margin=margin, clock=clock,
                         wall_clock=wall_clock, sleep=sleep)
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._transaction() as conn:
            conn.execute("CREATE TABLE IF NOT EXISTS slots (key TEXT NOT NULL, at REAL NOT NULL)")
            conn.execute("CREATE INDEX IF NOT EXISTS slots_key_at ON slots (key, at)")
            conn.execute("CREATE TABLE IF NOT EXISTS pauses (key TEXT PRIMARY KEY,"
                         " until REAL NOT NULL)")

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = connect_wal(self.path)
            self._local.conn = conn
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    def _take(self, key: str) -> float:
        """Record a send and return 0, or return the seconds until one may go."""
        now = self._wall_clock()
        with self._transaction() as conn:
            conn.execute("DELETE FROM slots WHERE key = ? AND at <= ?",
                         (key, now - self.window - self.margin))
            row = conn.execute("SELECT until FROM pauses WHERE key = ?", (key,)).fetchone()
            wait = max(0.0, row[0] - now) if row else 0.0
            limit = self.limit_for(key)
            if limit:
                count, oldest = conn.execute(
                    "SELECT count(*), min(at) FROM slots WHERE key = ?", (key,)).fetchone()
                if count >= limit:
                    wait = max(wait, oldest + self.window + self.margin - now)
            if wait <= 0:
                conn.execute("INSERT INTO slots (key, at) VALUES (?, ?)", (key, now))
        return wait

    def pause(self, seconds: float, key: str = "") -> None:
        """Make every process send nothing to this endpoint family for `seconds`."""
        until = self._wall_clock() + max(0.0, seconds)
        with self._transaction() as conn:
            conn.execute("INSERT INTO pauses (key, until) VALUES (?, ?) ON CONFLICT (key)"
                         " DO UPDATE SET until = max(until, excluded.until)", (key, until))


def connect_wal(path: str | Path) -> sqlite3.Connection:
    """Open a SQLite file in WAL mode, waiting out the lock other processes hold while they open it.

    Switching to WAL needs a moment of exclusive access, and SQLite reports "database is locked"
    at once instead of waiting when two processes open a new file together (two workers starting).
    """
    conn = sqlite3.connect(path, timeout=30.0, isolation_level=None, check_same_thread=False)
    deadline = time.monotonic() + 30.0
    while True:
        try:
            conn.execute("PRAGMA journal_mode=WAL")
            break
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() > deadline:
                raise
            time.sleep(0.05)
    # NORMAL is durable across application crashes in WAL mode; only power loss can undo the
    # last commits, and everything here can be fetched again.
    conn.execute("PRAGMA synchronous=NORMAL")
    return conn
