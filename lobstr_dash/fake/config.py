"""Settings of one fake lobstr API instance."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lobstr_dash.fake.faults import FaultRule

DEFAULT_TOKEN = "demo-token"

#: The answers lobstr's docs show today (lobstrio/docs, Oct 2026): every error in one `errors`
#: envelope; get-run's duration in seconds, no `is_done`, `mail_*`; squids with `created_via`.
SHAPES_CURRENT = "current"
#: The answers of the docs before Aug 2026: `detail`, `error{}` and the flat 429 body; get-run's
#: duration as "H:MM:SS.ffffff", `is_done`, `email_*`.
SHAPES_LEGACY = "legacy"


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
    # Which documented answers to give: SHAPES_CURRENT or SHAPES_LEGACY.
    shapes: str = SHAPES_CURRENT
    # A free plan's export cap: list answers stop after this many rows and carry a `warning`.
    plan_cap: int | None = None

    def __post_init__(self) -> None:
        if self.shapes not in (SHAPES_CURRENT, SHAPES_LEGACY):
            raise ValueError(f"shapes must be {SHAPES_CURRENT!r} or {SHAPES_LEGACY!r}")
        if self.plan_cap is not None and self.plan_cap < 0:
            raise ValueError("plan_cap must be 0 or more")
