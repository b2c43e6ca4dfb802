"""Finished loads' figures kept in the store file, so each is computed once per load, not once
per process: a restarted worker, or the other worker, reads it instead of re-aggregating 100,000
tasks (summary, facets, cards, verdict rows, charts, counts).

Values are written as JSON through a closed codec: only the dataclasses named in `KINDS` can come
back out, so the file never decides what code runs. A figure is written by a background thread,
so a page never waits for the write lock a loader may hold.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import threading
from collections.abc import Hashable
from typing import Any

from ..domain.figures import Timeline
from ..domain.figures import TimelineBar
from ..domain.query import TaskFilter
from ..domain.reasons import Reason
from ..domain.reasons import ReasonCard
from ..domain.tasks import RunSummary
from ..domain.verdict import ShortfallRow
from .db import Database

log = logging.getLogger(__name__)

#: The only classes a stored figure can be made of.
KINDS: dict[str, type] = {cls.__name__: cls for cls in (
    RunSummary, ReasonCard, Reason, ShortfallRow, Timeline, TimelineBar, TaskFilter)}

#: Migration 12's part for stored figures.
MIGRATION: tuple[str, ...] = (
    """CREATE TABLE run_figures (
        run_id TEXT NOT NULL,
        name TEXT NOT NULL,
        key TEXT NOT NULL,
        stamp TEXT NOT NULL,            -- the load it was computed for (figures.load_stamp)
        value TEXT NOT NULL,
        PRIMARY KEY (run_id, name, key)
    ) WITHOUT ROWID""",
)


def encode(value: Any) -> Any:
    """A JSON-able form of a figure: tuples, dicts with any keys and known dataclasses tagged."""
    if value is None or isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, tuple):
        return {"t": [encode(v) for v in value]}
    if isinstance(value, dict):
        return {"d": [[encode(k), encode(v)] for k, v in value.items()]}
    name = type(value).__name__
    if dataclasses.is_dataclass(value) and KINDS.get(name) is type(value):
        return {"c": name, "f": {f.name: encode(getattr(value, f.name))
                                 for f in dataclasses.fields(value) if f.init}}
    raise TypeError(f"a figure cannot hold a {name}")


def decode(value: Any) -> Any:
    """The figure `encode` was given."""
    if isinstance(value, list):
        return [decode(v) for v in value]
    if not isinstance(value, dict):
        return value
    if "t" in value:
        return tuple(decode(v) for v in value["t"])
    if "d" in value:
        return {decode(k): decode(v) for k, v in value["d"]}
    return KINDS[value["c"]](**{k: decode(v) for k, v in value["f"].items()})


def _text(value: Any) -> str:
    return json.dumps(encode(value), sort_keys=True, separators=(",", ":"))


class FigureStore:
    """Read and write figures of finished loads in the `run_figures` table."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def load(self, run_id: str, name: str, key: Hashable, stamp: Any) -> tuple[bool, Any]:
        """(True, the figure) when one was stored for this load, else (False, None)."""
        try:
            row = self.db.connection().execute(
                "SELECT value FROM run_figures WHERE run_id = ? AND name = ? AND key = ?"
                " AND stamp = ?", (run_id, name, _text(key), _text(stamp))).fetchone()
            return (False, None) if row is None else (True, decode(json.loads(row[0])))
        except Exception:  # an unreadable figure is computed again, never an error page
            log.warning("stored figure %s of run %s unreadable; computing it", name, run_id,
                        exc_info=True)
            return False, None

    def save(self, run_id: str, name: str, key: Hashable, stamp: Any, value: Any) -> None:
        """Keep a figure for this load, in the background (the caller never waits for a lock)."""
        try:
            row = (run_id, name, _text(key), _text(stamp), _text(value))
        except TypeError:
            return  # not a storable figure: it stays in memory only
        threading.Thread(target=self._write, args=(row,), name="figure-write", daemon=True).start()

    def _write(self, row: tuple[str, ...]) -> None:
        try:
            self.db.connection().execute(
                "INSERT INTO run_figures (run_id, name, key, stamp, value) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (run_id, name, key) DO UPDATE SET stamp = excluded.stamp,"
                " value = excluded.value", row)  # both engines' upsert
        except Exception:  # a full disk: the figure is recomputed next time, nothing is lost
            log.warning("could not store a figure of run %s", row[0], exc_info=True)
        finally:
            self.db.close()  # this thread's connection ends with it
