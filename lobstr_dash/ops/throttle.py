"""Password guessing, slowed down: wrong passwords are counted per address and per user name.

Past `limit` failures for a key (an address, or a name tried from anywhere), sign-in attempts on
that key are refused with a 429 for a time that doubles with each further failure, up to
`ceiling`; no password hash is computed for a refused attempt, so guessing costs no CPU either.
Counts are forgotten `window` seconds after the last failure. Other users are never slowed, and
a browser that already signed in keeps working (its verified credentials are remembered).
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass


@dataclass
class _Count:
    failures: int
    last: float


class GuessThrottle:
    """Failure counts by key, in a bounded LRU table (an attacker cannot grow it without end)."""

    def __init__(self, limit: int = 10, *, base: float = 1.0, ceiling: float = 900.0,
                 window: float = 900.0, size: int = 10_000,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self.base = base
        self.ceiling = ceiling
        self.window = window
        self.size = size
        self._clock = clock
        self._counts: OrderedDict[str, _Count] = OrderedDict()
        self._lock = threading.Lock()

    def wait(self, *keys: str) -> float:
        """Seconds before an attempt on any of `keys` may be checked (0: now)."""
        now = self._clock()
        with self._lock:
            return max((self._wait(self._counts.get(key), now) for key in keys), default=0.0)

    def _wait(self, count: _Count | None, now: float) -> float:
        if count is None or count.failures < self.limit or now - count.last >= self.window:
            return 0.0
        pause = min(self.ceiling, self.base * 2 ** min(count.failures - self.limit, 20))
        return max(0.0, count.last + pause - now)

    def failed(self, *keys: str) -> None:
        """Count one wrong password against each key."""
        now = self._clock()
        with self._lock:
            for key in keys:
                count = self._counts.pop(key, None)
                if count is None or now - count.last >= self.window:
                    count = _Count(0, now)
                count.failures += 1
                count.last = now
                self._counts[key] = count
            while len(self._counts) > self.size:
                self._counts.popitem(last=False)

    def succeeded(self, *keys: str) -> None:
        """A right password: forget the failures of these keys."""
        with self._lock:
            for key in keys:
                self._counts.pop(key, None)
