"""The figures behind a run's charts: completeness buckets and a timeline of its tasks. Pure Python.

The store computes them with SQL aggregates; render/charts.py draws them.
"""

from __future__ import annotations

from dataclasses import dataclass

#: Completeness buckets: 0 = 0–10 %, …, 9 = 90–<100 %, 10 = exactly complete, 11 = over,
#: 12 = still running (whatever it has collected so far: not a shortfall), -1 = unknown.
BUCKET_UNKNOWN = -1
BUCKET_COMPLETE = 10
BUCKET_OVER = 11
BUCKET_RUNNING = 12

#: Completeness buckets in display order, with their axis label and long label.
BUCKETS: list[tuple[int, str, str]] = (
    [(i, f"{i * 10}", f"{i * 10}–{i * 10 + 10 if i < 9 else 99}% collected") for i in range(10)]
    + [(BUCKET_COMPLETE, "100", "exactly 100% collected"),
       (BUCKET_OVER, ">100", "more than expected"),
       (BUCKET_RUNNING, "run", "still running"),
       (BUCKET_UNKNOWN, "?", "expected or collected unknown")])


@dataclass(frozen=True)
class TimelineBar:
    """One sampled task on the timeline."""

    position: int
    started_at: float
    ended_at: float | None
    gap_class: str | None
    label: str


@dataclass(frozen=True)
class Timeline:
    """Task starts and ends over time: exact concurrency per time bucket, and a sample of bars."""

    start: float
    end: float
    bucket_seconds: float
    #: Tasks running during each bucket (every matching task with a start counts).
    active: list[int]
    starts: list[int]
    ends: list[int]
    bars: list[TimelineBar]
    tasks_timed: int
    tasks_untimed: int
    tasks_open: int

    @property
    def sampled(self) -> bool:
        """True when the bars show only part of the timed tasks."""
        return len(self.bars) < self.tasks_timed

    @property
    def peak(self) -> int:
        """Most tasks running at once (per bucket)."""
        return max(self.active, default=0)

    def idle_stretches(self) -> list[tuple[float, float]]:
        """Stretches between the first start and the last end when no task was running: stalls."""
        stretches: list[tuple[float, float]] = []
        begin: int | None = None
        for index, count in enumerate([*self.active, 1]):
            if count == 0 and begin is None:
                begin = index
            elif count and begin is not None:
                stretches.append((self.start + begin * self.bucket_seconds,
                                  self.start + index * self.bucket_seconds))
                begin = None
        return stretches
