"""One process-wide limiter for upstream calls: a sliding window plus the server's own hints."""

from __future__ import annotations

import threading
import time
from collections import deque
from collections.abc import Callable


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

    def _wait_needed(self, now: float) -> float:
        """Seconds until a call may go out; 0 when one may go now."""
        while self._sent and self._sent[0] <= now - self.window - self.margin:
            self._sent.popleft()
        wait = max(0.0, self._blocked_until - now)
        if self.limit and len(self._sent) >= self.limit:
            wait = max(wait, self._sent[0] + self.window + self.margin - now)
        return wait

    def acquire(self, deadline: float | None = None) -> float:
        """Block until a call may be sent and record it; return the seconds waited.

        `deadline` is a `clock()` value; raises RateLimitWaitTooLong rather than overrun it.
        """
        started = self._clock()
        while True:
            with self._lock:
                now = self._clock()
                wait = self._wait_needed(now)
                if wait <= 0:
                    self._sent.append(now)
                    waited = now - started
                    if waited > 0.001:
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
