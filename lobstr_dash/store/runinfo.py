"""The `run_info` table: what lobstr said about a run itself (its object and its stats), kept as JSON.

Each part is stored as lobstr sent it, with the load generation it belongs to, when it was fetched,
and the last error; loading/runinfo.py decides when to fetch it again.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .db import Database


@dataclass(frozen=True)
class RunInfoRecord:
    """One stored row: the raw parts (None when never fetched) and the last fetch's outcome."""

    run: Any
    stats: Any
    generation: int | None
    fetched_at: float | None
    error_kind: str | None
    error_message: str | None
    failed_at: float | None


def _loads(text: str | None) -> Any:
    if text is None:
        return None
    try:
        return json.loads(text)
    except ValueError:
        return None


class RunInfoRecords:
    """Reads and writes of `run_info`; mixed into `Store`, which provides `db`."""

    db: Database

    def run_info(self, run_id: str) -> RunInfoRecord | None:
        """The stored run info of a run, or None when it was never fetched."""
        row = self.db.connection().execute(
            "SELECT * FROM run_info WHERE run_id = ?", (run_id,)).fetchone()
        if row is None:
            return None
        return RunInfoRecord(_loads(row["run_json"]), _loads(row["stats_json"]), row["generation"],
                             row["fetched_at"], row["error_kind"], row["error_message"],
                             row["failed_at"])

    def run_statuses(self, run_ids: list[str]) -> dict[str, str]:
        """lobstr's status of each run whose own object is stored (the home page's lists)."""
        ids = list(dict.fromkeys(run_ids))
        if not ids:
            return {}
        rows = self.db.connection().execute(
            "SELECT run_id, json_extract(run_json, '$.status') FROM run_info"
            f" WHERE run_id IN ({','.join('?' * len(ids))}) AND json_valid(run_json)", ids)
        return {r[0]: str(r[1]) for r in rows if isinstance(r[1], str) and r[1]}

    def save_run_info(self, run_id: str, generation: int | None, parts: dict[str, Any],
                      errors: list[tuple[str, str]], now: float) -> None:
        """Keep the parts that arrived ("run", "stats") and record the errors of those that did not."""
        kind = errors[0][0] if errors else None
        message = "; ".join(text for _kind, text in errors) or None
        with self.db.transaction(immediate=True) as conn:
            conn.execute("INSERT OR IGNORE INTO run_info (run_id) VALUES (?)", (run_id,))
            if "run" in parts:
                conn.execute("UPDATE run_info SET run_json = ? WHERE run_id = ?",
                             (json.dumps(parts["run"], ensure_ascii=False), run_id))
            if "stats" in parts:
                conn.execute("UPDATE run_info SET stats_json = ? WHERE run_id = ?",
                             (json.dumps(parts["stats"], ensure_ascii=False), run_id))
            if parts:
                conn.execute("UPDATE run_info SET generation = ?, fetched_at = ? WHERE run_id = ?",
                             (generation, now, run_id))
            conn.execute(
                "UPDATE run_info SET error_kind = ?, error_message = ?, failed_at = ?"
                " WHERE run_id = ?", (kind, message, now if errors else None, run_id))
