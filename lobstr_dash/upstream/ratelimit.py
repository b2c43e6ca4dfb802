"""The upstream rate limiter: sliding windows per endpoint family, plus the server's own hints.

The limiter decides when a call may go; a *window book* remembers the calls sent. The book here
keeps them in this process's memory; `store/windows.py` keeps them in a small SQLite file so every
worker process shares one budget (lobstr counts per account, not per process).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable, Mapping
from typing import Protocol


class RateLimitWaitTooLong(Exception):
    """Waiting for a slot would overrun the caller's deadline."""

    def __init__(self, wait: float) -> None:
        super().__init__(f"next upstream slot in {wait:.1f}s")
        self.wait = wait


class WindowBook(Protocol):
    """Where the calls of each endpoint family's window are written down."""

    #: The clock the book's times are read on (a shared book needs the wall clock).
    clock: Callable[[], float]

    def take(self, key: str, limit: int, window: float) -> float:
        """Record a call now and return 0, or return the seconds until one may go."""

    def pause(self, key: str, seconds: float) -> None:
        """Let no call of this family go for `seconds` from now."""

    def paused_for(self, key: str) -> float:
        """Seconds until a call of this family may go again after a pause (0 when none)."""


class MemoryWindows:
    """A window book in this process's memory."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.clock = clock
        self._sent: dict[str, deque[float]] = {}
        self._blocked_until: dict[str, float] = {}
        self._lock = threading.Lock()

    def take(self, key: str, limit: int, window: float) -> float:
        """Record a call now and return 0, or return the seconds until one may go."""
        with self._lock:
            now = self.clock()
            sent = self._sent.setdefault(key, deque())
            while sent and sent[0] <= now - window:
                sent.popleft()
            wait = max(0.0, self._blocked_until.get(key, 0.0) - now)
            if limit and len(sent) >= limit:
                wait = max(wait, sent[0] + window - now)
            if wait <= 0:
                sent.append(now)
            return wait

    def pause(self, key: str, seconds: float) -> None:
        """Let no call of this family go for `seconds` from now."""
        with self._lock:
            until = self.clock() + max(0.0, seconds)
            self._blocked_until[key] = max(self._blocked_until.get(key, 0.0), until)

    def paused_for(self, key: str) -> float:
        """Seconds until a call of this family may go again after a pause (0 when none)."""
        with self._lock:
            return max(0.0, self._blocked_until.get(key, 0.0) - self.clock())


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
                 sleep: Callable[[float], None] = time.sleep, book: WindowBook | None = None,
                 on_wait: Callable[[float], None] | None = None) -> None:
        self.limit = limit
        self.limits = dict(limits or {})
        self.window = window
        # Requests reach the server a little after we send them; the margin keeps the server's
        # window, which counts arrivals, from ever seeing one more than the limit.
        self.margin = margin
        self.book: WindowBook = book or MemoryWindows(clock)
        self._clock = clock
        self._wall_clock = wall_clock
        self._sleep = sleep
        #: Hears of every call that had to wait, with the seconds waited (the metrics).
        self.on_wait = on_wait
        self._lock = threading.Lock()
        self.waits = 0
        self.waited_seconds = 0.0

    def limit_for(self, key: str) -> int:
        """The calls allowed per window for one endpoint family (0: no pacing)."""
        return self.limits.get(key, self.limit)

    def acquire(self, deadline: float | None = None, key: str = "") -> float:
        """Block until a call may be sent and record it; return the seconds waited.

        `deadline` is a `clock()` value; raises RateLimitWaitTooLong rather than overrun it.
        """
        started = self._clock()
        while True:
            wait = self.book.take(key, self.limit_for(key), self.window + self.margin)
            now = self._clock()
            if wait <= 0:
                waited = now - started
                if waited > 0.001:
                    with self._lock:
                        self.waits += 1
                        self.waited_seconds += waited
                    if self.on_wait is not None:
                        self.on_wait(waited)
                return waited
            if deadline is not None and now + wait > deadline:
                raise RateLimitWaitTooLong(wait)
            self._sleep(min(wait, 1.0))

    def pause(self, seconds: float, key: str = "") -> None:
        """Send nothing to this endpoint family for `seconds` (the server said Retry-After)."""
        self.book.pause(key, seconds)

    def pause_left(self, key: str = "") -> float:
        """Seconds lobstr asked this endpoint family to wait that are still to run (0 when none)."""
        return self.book.paused_for(key)

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
