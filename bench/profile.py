"""Sizes and knobs of one bench run: the full figures of issue 3, or a quick smoke test."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Profile:
    """What to measure and how big; the defaults are the full bench."""

    name: str = "full"
    cold_tasks: int = 9_000
    cold_latency_ms: int = 200
    cold_repeats: int = 5
    concurrencies: tuple[int, ...] = (4, 8)
    sdk_limits: tuple[int, ...] = (50, 100)
    limited_tasks: int = 20_000
    limited_latency_ms: int = 50
    rate_limit: int = 90
    rate_window: float = 60.0
    warm_sizes: tuple[int, ...] = (10_000, 100_000)
    warm_requests: int = 40
    warm_warmup: int = 5
    stampede_clients: int = 50
    stampede_tasks: int = 9_000

    @property
    def default_window(self) -> bool:
        """True when the rate window is the dashboard's default (no config override needed)."""
        return self.rate_window == 60.0


FULL = Profile()
# A smoke test of every phase in about a minute: smaller runs and a 6 s rate window.
QUICK = Profile(name="quick", cold_tasks=900, cold_repeats=1, limited_tasks=2_000, rate_limit=9,
                rate_window=6.0, warm_sizes=(1_000, 10_000), warm_requests=10, warm_warmup=2,
                stampede_tasks=900)
