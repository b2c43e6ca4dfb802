"""Small statistics over timings: median and nearest-rank percentiles."""

from __future__ import annotations

import math
from collections.abc import Sequence


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile (`share` in 0..1) of a non-empty sequence."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, math.ceil(share * len(ordered)))
    return ordered[rank - 1]


def median(values: Sequence[float]) -> float:
    """The median (mean of the two middle values for an even count)."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    middle = len(ordered) // 2
    if len(ordered) % 2:
        return ordered[middle]
    return (ordered[middle - 1] + ordered[middle]) / 2


def paged_bound(pages: int, concurrency: int, latency: float) -> float:
    """Lower bound of fetching `pages` at `concurrency` when each request takes `latency` s."""
    return math.ceil(pages / concurrency) * latency


def window_bound(pages: int, limit: int, window: float, latency: float) -> float:
    """Earliest end of `pages` requests under `limit` per sliding `window` s, plus one latency."""
    return ((pages - 1) // limit) * window + latency
