"""Events to act on once each (webhooks and polls), named leases, and what the poller has seen.

A hook is a (run, event) row: inserting one that exists does nothing, which is what makes a webhook
lobstr retries act once. A worker claims a due row with a lease before it works on it, so one
process handles it; a lease left by a killed process runs out and another takes the row over.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .db import Database

#: Hook states that need no more work.
FINAL_HOOK_STATES = ("done", "ignored", "failed")


@dataclass(frozen=True)
class HookRecord:
    """One event received for a run and where its handling stands."""

    run_id: str
    event: str
    source: str
    squid_hint: str | None
    received_at: float
    state: str
    attempts: int
    next_at: float
    note: str | None
    finished_at: float | None


def _hook(row: object) -> HookRecord:
    r = row  # sqlite3.Row
    return HookRecord(r["run_id"], r["event"], r["source"], r["squid_hint"],  # type: ignore[index]
                      r["received_at"], r["state"], r["attempts"], r["next_at"],  # type: ignore[index]
                      r["note"], r["finished_at"])  # type: ignore[index]


class HookRecords:
    """Hooks, leases and the poller's memory; mixed into `Store`, which provides `db` and `clock`."""

    db: Database
    clock: Callable[[], float]

    # -- hooks -------------------------------------------------------------------------------

    def accept_hook(self, run_id: str, event: str, source: str, squid_hint: str | None) -> bool:
        """Record an event to act on; False when the same (run, event) was recorded before."""
        now = self.clock()
        cursor = self.db.connection().execute(
            "INSERT OR IGNORE INTO hooks (run_id, event, source, squid_hint, received_at, state,"
            " next_at) VALUES (?, ?, ?, ?, ?, 'pending', ?)",
            (run_id, event, source, squid_hint, now, now))
        return cursor.rowcount == 1

    def pending_hooks(self) -> int:
        """How many events wait to be handled."""
        return int(self.db.connection().execute(
            "SELECT count(*) FROM hooks WHERE state = 'pending'").fetchone()[0])

    def hook(self, run_id: str, event: str) -> HookRecord | None:
        """One hook row, or None."""
        row = self.db.connection().execute(
            "SELECT * FROM hooks WHERE run_id = ? AND event = ?", (run_id, event)).fetchone()
        return None if row is None else _hook(row)

    def recent_hooks(self, limit: int = 20) -> list[HookRecord]:
        """The latest events received, newest first."""
        rows = self.db.connection().execute(
            "SELECT * FROM hooks ORDER BY received_at DESC LIMIT ?", (limit,)).fetchall()
        return [_hook(r) for r in rows]

    def claim_hook(self, owner: str, lease_seconds: float,
                   owner_is_dead: Callable[[str], bool] | None = None) -> HookRecord | None:
        """Take the oldest due event that no live worker holds; None when there is none.

        A lease still running is taken over when `owner_is_dead` says its holder stopped (a
        killed process on this host): a restart picks the event up at once, not after the lease.
        """
        now = self.clock()
        with self.db.transaction(immediate=True) as conn:
            row = conn.execute(
                "SELECT * FROM hooks WHERE state = 'pending' AND next_at <= ?"
                " AND (lease_until IS NULL OR lease_until <= ?) ORDER BY next_at LIMIT 1",
                (now, now)).fetchone()
            if row is None and owner_is_dead is not None:
                held = conn.execute(
                    "SELECT * FROM hooks WHERE state = 'pending' AND next_at <= ?"
                    " AND lease_until > ? ORDER BY next_at LIMIT 20", (now, now)).fetchall()
                row = next((r for r in held if owner_is_dead(r["owner"] or "")), None)
            if row is None:
                return None
            conn.execute(
                "UPDATE hooks SET owner = ?, lease_until = ?, attempts = attempts + 1"
                " WHERE run_id = ? AND event = ?",
                (owner, now + lease_seconds, row["run_id"], row["event"]))
        return self.hook(row["run_id"], row["event"])

    def renew_hook(self, run_id: str, event: str, owner: str, lease_seconds: float) -> None:
        """Keep a claim on an event while its run loads."""
        self.db.connection().execute(
            "UPDATE hooks SET lease_until = ? WHERE run_id = ? AND event = ? AND owner = ?",
            (self.clock() + lease_seconds, run_id, event, owner))

    def finish_hook(self, run_id: str, event: str, owner: str, state: str, note: str) -> None:
        """Close an event: done, ignored (nothing to act on) or failed (gave up)."""
        self.db.connection().execute(
            "UPDATE hooks SET state = ?, note = ?, finished_at = ?, owner = NULL,"
            " lease_until = NULL WHERE run_id = ? AND event = ? AND owner = ?",
            (state, note[:300], self.clock(), run_id, event, owner))

    def retry_hook(self, run_id: str, event: str, owner: str, delay: float, note: str) -> None:
        """Put an event back to be tried again in `delay` seconds."""
        self.db.connection().execute(
            "UPDATE hooks SET next_at = ?, note = ?, owner = NULL, lease_until = NULL"
            " WHERE run_id = ? AND event = ? AND owner = ?",
            (self.clock() + delay, note[:300], run_id, event, owner))

    def next_hook_due(self) -> float | None:
        """When the next pending event is due (None when none waits)."""
        row = self.db.connection().execute(
            "SELECT min(max(next_at, coalesce(lease_until, 0))) FROM hooks"
            " WHERE state = 'pending'").fetchone()
        return None if row[0] is None else float(row[0])

    def prune_hooks(self, older_than: float) -> int:
        """Forget handled events received before a time (lobstr stops retrying within an hour)."""
        marks = ",".join("?" * len(FINAL_HOOK_STATES))
        cursor = self.db.connection().execute(
            f"DELETE FROM hooks WHERE state IN ({marks}) AND received_at < ?",
            (*FINAL_HOOK_STATES, older_than))
        return cursor.rowcount

    # -- leases ------------------------------------------------------------------------------

    def take_lease(self, name: str, owner: str, seconds: float) -> bool:
        """Hold a named lease (or renew one's own); False while another owner's is current."""
        now = self.clock()
        with self.db.transaction(immediate=True) as conn:
            row = conn.execute("SELECT owner, until FROM leases WHERE name = ?", (name,)).fetchone()
            if row is not None and row["owner"] not in (owner, None) and (row["until"] or 0) > now:
                return False
            conn.execute("INSERT INTO leases (name, owner, until) VALUES (?, ?, ?) ON CONFLICT (name)"
                         " DO UPDATE SET owner = excluded.owner, until = excluded.until",
                         (name, owner, now + seconds))
        return True

    def lease_lapsed(self, name: str) -> bool:
        """True when a lease was held and has run out (False when it is current or never was)."""
        row = self.db.connection().execute("SELECT until FROM leases WHERE name = ?",
                                           (name,)).fetchone()
        return row is not None and row[0] is not None and row[0] <= self.clock()

    def release_lease(self, name: str, owner: str) -> None:
        """Give a lease up (only its owner can)."""
        self.db.connection().execute(
            "UPDATE leases SET owner = NULL, until = NULL WHERE name = ? AND owner = ?", (name, owner))

    def lease_mark(self, name: str) -> float | None:
        """The time a lease's holder last marked (the poller: its last poll)."""
        row = self.db.connection().execute("SELECT mark FROM leases WHERE name = ?",
                                           (name,)).fetchone()
        return None if row is None or row[0] is None else float(row[0])

    def set_lease_mark(self, name: str, mark: float) -> None:
        """Record a time on a lease's row."""
        self.db.connection().execute(
            "INSERT INTO leases (name, mark) VALUES (?, ?) ON CONFLICT (name)"
            " DO UPDATE SET mark = excluded.mark", (name, mark))

    # -- what the poller saw -----------------------------------------------------------------

    def watched_squid(self, squid_id: str) -> tuple[float, str | None] | None:
        """Since when a squid is watched and the key of its last run then; None if never."""
        row = self.db.connection().execute(
            "SELECT since, last_key FROM watched_squids WHERE squid_id = ?", (squid_id,)).fetchone()
        return None if row is None else (float(row[0]), row[1])

    def watch_squid(self, squid_id: str, last_key: str | None) -> None:
        """Record that a squid is watched (keeping when it started) and its last run's key."""
        self.db.connection().execute(
            "INSERT INTO watched_squids (squid_id, since, last_key) VALUES (?, ?, ?)"
            " ON CONFLICT (squid_id) DO UPDATE SET last_key = excluded.last_key",
            (squid_id, self.clock(), last_key))

    def seen_runs(self, run_ids: Iterable[str]) -> dict[str, str | None]:
        """The status each run had when the poller last saw it (unseen runs are absent)."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.connection().execute(
            f"SELECT run_id, status FROM watched_runs WHERE run_id IN ({marks})", ids).fetchall()
        return {r[0]: r[1] for r in rows}

    def see_runs(self, seen: Iterable[tuple[str, str, str | None]]) -> None:
        """Remember (run, squid, status) as the poller saw them."""
        now = self.clock()
        with self.db.transaction(immediate=True) as conn:
            conn.executemany(
                "INSERT INTO watched_runs (run_id, squid_id, status, seen_at) VALUES (?, ?, ?, ?)"
                " ON CONFLICT (run_id) DO UPDATE SET status = excluded.status,"
                " seen_at = excluded.seen_at",
                [(run_id, squid_id, status, now) for run_id, squid_id, status in seen])

    # -- runs said to be live ----------------------------------------------------------------

    def mark_live(self, run_id: str) -> bool:
        """Flag a stored run as live, so its next view fetches it again; False when not stored."""
        cursor = self.db.connection().execute(
            "UPDATE runs SET is_live = 1 WHERE run_id = ? AND state != 'loading'", (run_id,))
        return cursor.rowcount == 1
