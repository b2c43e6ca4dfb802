"""Settings of one fake lobstr API instance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lobstr_dash.fake.faults import FaultRule

DEFAULT_TOKEN = "demo-token"


@dataclass
class FakeConfig:
    """Knobs of the fake: auth, latency, rate limit, faults, clock, seed and extra runs."""

    # Accepted tokens; None accepts any non-empty token.
    tokens: set[str] | None = field(default_factory=lambda: {DEFAULT_TOKEN})
    latency_ms: int = 0
    latency_jitter_ms: int = 0
    # Requests per window and token; 0 turns rate limiting off.
    rate_limit_per_minute: int = 0
    rate_limit_window_seconds: float = 60.0
    # FaultRule objects, CLI specs ("runtasks:page=3:status=500:times=2") or FaultRule dicts.
    faults: list[FaultRule | str | dict[str, Any]] = field(default_factory=list)
    clock: Callable[[], float] = time.time
    seed: int = 0
    # Synthetic runs (run id → task count) added to the demo catalogue.
    extra_runs: dict[str, int] = field(default_factory=dict)
    # Demo mode's alert loop: a short run of the Maps squid that starts with the fake and ends
    # in error about 90 s later (its id changes with each start, so each start alerts anew).
    demo_alert_run: bool = False
