"""One cache for the figures of finished loads (summary, row count, cards, facets, charts).

In memory first; behind it, the store file itself (figurestore.py), so a figure is computed once
per load whichever process asks.

A finished load's figures never change until the run is loaded again, and recomputing them costs
tens of milliseconds at 100,000 tasks; a load in progress is never cached (its figures still move).
A load is identified by its *stamp*: (generation, state, fetched_at, finished_at) of its row.
"""

from __future__ import annotations

import sqlite3
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, TypeVar

T = TypeVar("T")

#: Figures kept, over every run and kind; the least recently used go first.
CACHE_SIZE = 1024

Stamp = tuple[Any, ...]


def load_stamp(conn: sqlite3.Connection, run_id: str) -> Stamp | None:
    """The stamp of a run's finished load, or None while it loads (or was never loaded)."""
    row = conn.execute("SELECT generation, state, fetched_at, finished_at FROM runs"
                       " WHERE run_id = ?", (run_id,)).fetchone()
    return stamp_of(row)


def stamp_of(row: Any) -> Stamp | None:
    """The stamp of a `runs` row holding generation, state, fetched_at and finished_at."""
    if row is None or row["state"] == "loading":
        return None
    return (row["generation"], row["state"], row["fetched_at"], row["finished_at"])


class FiguresCache:
    """Figures by (run, name, key), each valid for the load stamp it was computed under."""

    def __init__(self, size: int = CACHE_SIZE, persist: Any = None) -> None:
        self.size = size
        #: Where figures are also kept across processes and restarts (figurestore.FigureStore).
        self.persist = persist
        self._values: OrderedDict[tuple[str, str, Hashable], tuple[Stamp, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, run_id: str, name: str, key: Hashable, stamp: Stamp | None,
            compute: Callable[[], T]) -> T:
        """Return the cached figure for this load, computing (and keeping) it when missing."""
        if stamp is None:
            return compute()
        slot = (run_id, name, key)
        with self._lock:
            hit = self._values.get(slot)
            if hit is not None and hit[0] == stamp:
                self._values.move_to_end(slot)
                return hit[1]  # type: ignore[no-any-return]
        found, value = (False, None) if self.persist is None else self.persist.load(
            run_id, name, key, stamp)
        if not found:
            value = compute()
            if self.persist is not None:
                self.persist.save(run_id, name, key, stamp, value)
        with self._lock:
            self._values[slot] = (stamp, value)
            self._values.move_to_end(slot)
            while len(self._values) > self.size:
                self._values.popitem(last=False)
        return value

    def forget(self, run_id: str) -> None:
        """Drop every figure of a run."""
        with self._lock:
            for slot in [s for s in self._values if s[0] == run_id]:
                del self._values[slot]

    def clear(self) -> None:
        """Drop every figure (the store was rebuilt)."""
        with self._lock:
            self._values.clear()
