"""The alert outbox and the verdicts of evaluated runs.

Every alert is a row, (run, rule, channel) unique, before anything is sent. A sender claims the due
rows of one (run, channel) with a lease, marks them `sending` (attempts + 1) in the same
transaction, sends one message for them, then marks them `sent` or puts them back with a later
`next_at`. A row whose sender died while `sending` is taken over when its lease runs out.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .db import Database

#: The channel of an alert raised while no channel is configured: kept and listed, never sent.
NO_CHANNEL = "-"
#: Alert states, in the order the alerts page explains them.
ALERT_STATES = ("pending", "sending", "sent", "failed", "unsent", "dropped")
_DUE = ("(state = 'pending' AND next_at <= :now)"
        " OR (state = 'sending' AND coalesce(lease_until, 0) <= :now)")


@dataclass(frozen=True)
class AlertRecord:
    """One alert: a rule a run broke, for one channel, and its delivery."""

    id: int
    run_id: str
    rule: str
    channel: str
    channel_label: str
    squid_id: str | None
    severity: str
    summary: str
    facts_json: str
    created_at: float
    state: str
    attempts: int
    next_at: float | None
    last_error: str | None
    sent_at: float | None


@dataclass(frozen=True)
class VerdictRecord:
    """An evaluated run's completeness, as the squid history reads it."""

    run_id: str
    squid_id: str | None
    started_at: float | None
    percent: float | None
    missing: int | None
    expected: int | None
    source: str


@dataclass(frozen=True)
class AlertFilter:
    """Which alerts a list shows."""

    state: str | None = None
    run_id: str | None = None
    squid_id: str | None = None


def _alert(row: Any) -> AlertRecord:
    return AlertRecord(*(row[name] for name in AlertRecord.__dataclass_fields__))


def _where(flt: AlertFilter) -> tuple[str, list[Any]]:
    parts, args = ["1 = 1"], []
    for column, value in (("state", flt.state), ("run_id", flt.run_id), ("squid_id", flt.squid_id)):
        if value:
            parts.append(f"{column} = ?")
            args.append(value)
    return " AND ".join(parts), args


class Outbox:
    """Alerts and verdicts; mixed into `Store`, which provides `db` and `clock`."""

    db: Database
    clock: Callable[[], float]

    # -- writing alerts ----------------------------------------------------------------------

    def record_alerts(self, run_id: str, squid_id: str | None,
                      findings: Sequence[tuple[str, str, str]],
                      channels: Sequence[tuple[str, str]], facts_json: str) -> int:
        """Add one row per (finding, channel) not recorded before; return how many are new.

        `findings` are (rule, severity, summary); `channels` (key, masked label). Without a
        channel each finding is kept as `unsent`, so the alerts page and the run's badge show it.
        """
        now = self.clock()
        targets = list(channels) or [(NO_CHANNEL, "no channel configured")]
        state = "pending" if channels else "unsent"
        added = 0
        with self.db.transaction(immediate=True) as conn:
            for rule, severity, summary in findings:
                for key, label in targets:
                    cursor = conn.execute(
                        "INSERT OR IGNORE INTO alerts (run_id, rule, channel, channel_label,"
                        " squid_id, severity, summary, facts_json, created_at, state, next_at)"
                        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (run_id, rule, key, label, squid_id, severity, summary, facts_json, now,
                         state, now))
                    added += cursor.rowcount
        return added

    # -- delivering --------------------------------------------------------------------------

    def claim_delivery(self, owner: str, lease_seconds: float,
                       owner_is_dead: Callable[[str], bool] | None = None) -> list[AlertRecord]:
        """Claim every due alert of the first (run, channel) that has one; [] when none is due.

        A row left `sending` by a sender `owner_is_dead` says stopped is due at once.
        """
        now = self.clock()
        with self.db.transaction(immediate=True) as conn:
            first = conn.execute(
                f"SELECT run_id, channel FROM alerts WHERE {_DUE} ORDER BY next_at, id LIMIT 1",
                {"now": now}).fetchone()
            orphans: list[int] = []
            if first is None and owner_is_dead is not None:
                held = conn.execute("SELECT id, run_id, channel, owner FROM alerts"
                                    " WHERE state = 'sending' AND lease_until > ? LIMIT 50",
                                    (now,)).fetchall()
                dead = [r for r in held if owner_is_dead(r["owner"] or "")]
                first = dead[0] if dead else None
                orphans = [r["id"] for r in dead if first is not None and
                           (r["run_id"], r["channel"]) == (first["run_id"], first["channel"])]
            if first is None:
                return []
            ids = orphans or [r[0] for r in conn.execute(
                f"SELECT id FROM alerts WHERE run_id = :run AND channel = :channel AND ({_DUE})"
                " ORDER BY id", {"now": now, "run": first["run_id"], "channel": first["channel"]})]
            marks = ",".join("?" * len(ids))
            conn.execute(
                f"UPDATE alerts SET state = 'sending', owner = ?, lease_until = ?,"
                f" attempts = attempts + 1 WHERE id IN ({marks})",
                (owner, now + lease_seconds, *ids))
            rows = conn.execute(f"SELECT * FROM alerts WHERE id IN ({marks}) ORDER BY id",
                                ids).fetchall()
        return [_alert(r) for r in rows]

    def _settle(self, ids: Sequence[int], owner: str, sets: str, args: Sequence[Any]) -> int:
        marks = ",".join("?" * len(ids))
        cursor = self.db.connection().execute(
            f"UPDATE alerts SET {sets}, owner = NULL, lease_until = NULL"
            f" WHERE id IN ({marks}) AND owner = ? AND state = 'sending'", (*args, *ids, owner))
        return cursor.rowcount

    def mark_sent(self, ids: Sequence[int], owner: str) -> int:
        """The message went out: never send these again."""
        return self._settle(ids, owner, "state = 'sent', sent_at = ?, last_error = NULL",
                            (self.clock(),))

    def mark_retry(self, ids: Sequence[int], owner: str, delay: float, error: str) -> int:
        """The channel failed: try again in `delay` seconds."""
        return self._settle(ids, owner, "state = 'pending', next_at = ?, last_error = ?",
                            (self.clock() + delay, error[:300]))

    def mark_failed(self, ids: Sequence[int], owner: str, state: str, error: str) -> int:
        """Give up on these alerts: `failed` (retries ran out) or `dropped` (channel removed)."""
        return self._settle(ids, owner, "state = ?, last_error = ?", (state, error[:300]))

    def next_delivery_due(self) -> float | None:
        """When the next alert is due to be sent (None when none waits)."""
        row = self.db.connection().execute(
            "SELECT min(CASE WHEN state = 'pending' THEN next_at ELSE lease_until END) FROM alerts"
            " WHERE state IN ('pending', 'sending')").fetchone()
        return None if row[0] is None else float(row[0])

    # -- reading alerts ----------------------------------------------------------------------

    def alerts_page(self, flt: AlertFilter, offset: int, limit: int) -> tuple[list[AlertRecord], int]:
        """A page of alerts, newest first, and how many match."""
        where, args = _where(flt)
        with self.db.snapshot() as conn:
            total = conn.execute(f"SELECT count(*) FROM alerts WHERE {where}", args).fetchone()[0]
            rows = conn.execute(f"SELECT * FROM alerts WHERE {where} ORDER BY created_at DESC, id DESC"
                                " LIMIT ? OFFSET ?", (*args, limit, offset)).fetchall()
        return [_alert(r) for r in rows], int(total)

    def all_alerts(self, flt: AlertFilter, limit: int = 100_000) -> list[AlertRecord]:
        """Every matching alert, newest first (exports), up to `limit`."""
        return self.alerts_page(flt, 0, limit)[0]

    def alert_counts(self) -> dict[str, int]:
        """Alerts per delivery state."""
        rows = self.db.connection().execute("SELECT state, count(*) FROM alerts GROUP BY state")
        return {r[0]: int(r[1]) for r in rows}

    def alerts_for_runs(self, run_ids: Iterable[str]) -> dict[str, list[AlertRecord]]:
        """The alerts of some runs, by run (runs without any are absent)."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        found: dict[str, list[AlertRecord]] = {}
        for row in self.db.connection().execute(
                f"SELECT * FROM alerts WHERE run_id IN ({marks}) ORDER BY id", ids):
            found.setdefault(row["run_id"], []).append(_alert(row))
        return found

    # -- verdicts ----------------------------------------------------------------------------

    def save_verdict(self, record: VerdictRecord) -> None:
        """Keep an evaluated run's completeness (a run's tasks beat lobstr's stats)."""
        self.db.connection().execute(
            "INSERT INTO verdicts (run_id, squid_id, started_at, percent, missing, expected, source,"
            " evaluated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET"
            " squid_id = excluded.squid_id, started_at = excluded.started_at,"
            " percent = excluded.percent, missing = excluded.missing,"
            " expected = excluded.expected, source = excluded.source,"
            " evaluated_at = excluded.evaluated_at"
            " WHERE excluded.source = 'tasks' OR verdicts.source = 'stats'",
            (record.run_id, record.squid_id, record.started_at, record.percent, record.missing,
             record.expected, record.source, self.clock()))

    def verdicts(self, run_ids: Iterable[str]) -> dict[str, VerdictRecord]:
        """The kept verdicts of some runs."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.connection().execute(
            f"SELECT run_id, squid_id, started_at, percent, missing, expected, source"
            f" FROM verdicts WHERE run_id IN ({marks})", ids).fetchall()
        return {r[0]: VerdictRecord(*r) for r in rows}
