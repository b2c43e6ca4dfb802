"""Runs that lobstr reopened: a resurrected run's interrupted tasks, or one retried task.

lobstr sets such tasks back to `pending` and relaunches the run; here each reopened task then
waits its turn, runs for a few seconds and completes, on the fake's clock, so a dashboard that
looks again sees the run live, then done.
"""

from __future__ import annotations

from dataclasses import dataclass

from lobstr_dash.fake.scenarios import Facts, row_rng

#: Tasks of one reopening that run at once (lobstr's default squid concurrency is about this).
CONCURRENCY = 4
#: From the reopening to the first task's start: lobstr queues the relaunched run.
QUEUE_SECONDS = 2.0
#: A retry may not be repeated on the same task within this long (lobstr's RetryCooldown).
RETRY_COOLDOWN_SECONDS = 300.0


@dataclass(frozen=True)
class Reopening:
    """Tasks of a run set back to pending at `at` (in the order they will run)."""

    at: float
    indexes: tuple[int, ...]
    seed: int
    run_id: str

    def facts(self, index: int, before: Facts, now: float) -> Facts:
        """What task `index` looks like at `now`, given what it was before the reopening."""
        if now < self.at or index not in self.indexes:
            return before
        rng = row_rng(self.seed + 1, self.run_id, index)
        slot = self.indexes.index(index) // CONCURRENCY
        start = self.at + QUEUE_SECONDS + slot * 8.0 + rng.uniform(0.0, 1.0)
        duration = 3.0 + rng.uniform(0.0, 4.0)
        expected = before.expected if before.expected is not None else rng.randint(8, 180)
        style = before.ts_style
        if now < start:
            return Facts("pending", None, None, None, 0, None, None, None, style)
        if now < start + duration:
            collected = int(expected * (now - start) / duration)
            return Facts("running", None, None, expected, collected, start, None,
                         start + 0.5 if collected else None, style)
        end = start + duration
        return Facts("completed", "completed", None, expected, expected, start, end,
                     end - 0.4 if expected else None, style)

    @property
    def last_end(self) -> float:
        """A time by which every task of the reopening has ended."""
        slots = -(-len(self.indexes) // CONCURRENCY)
        return self.at + QUEUE_SECONDS + slots * 8.0 + 8.0
