"""Sliding-window request limiter with lobstr's rate-limit headers."""

from __future__ import annotations

import math
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Decision:
    """Outcome of one request against the limiter."""

    allowed: bool
    limit: int
    remaining: int
    reset_at: int
    retry_after: int

    def headers(self) -> dict[str, str]:
        """The X-RateLimit-* headers (plus Retry-After when refused)."""
        headers = {
            "X-RateLimit-Limit": str(self.limit),
            "X-RateLimit-Remaining": str(self.remaining),
            "X-RateLimit-Reset": str(self.reset_at),
        }
        if not self.allowed:
            headers["Retry-After"] = str(self.retry_after)
        return headers


class SlidingWindowLimiter:
    """At most `limit` accepted requests per key in any `window` seconds."""

    def __init__(self, limit: int, window: float, clock: Callable[[], float]) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._lock = threading.Lock()
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> Decision:
        """Count one request for `key` unless the window is full."""
        now = self._clock()
        with self._lock:
            hits = self._hits.setdefault(key, deque())
            while hits and hits[0] <= now - self.window:
                hits.popleft()
            allowed = len(hits) < self.limit
            if allowed:
                # Refused requests are not recorded, so a client that keeps retrying recovers.
                hits.append(now)
            oldest = hits[0] if hits else now
            wait = max(1, math.ceil(oldest + self.window - now))
            return Decision(allowed, self.limit, self.limit - len(hits),
                            math.ceil(oldest + self.window), wait)

    def reset(self) -> None:
        """Forget every recorded request."""
        with self._lock:
            self._hits.clear()
