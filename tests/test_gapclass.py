"""Gap classes: the classification's edge cases, and the stored, indexed, migrated column."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from taskrows import save_run
from taskrows import task_row
from lobstr_dash.domain import gapclass as gc
from lobstr_dash.store import MIGRATIONS
from lobstr_dash.store import Store
from lobstr_dash.domain.query import TaskQuery

CASES = [
    # status, done_reason, expected, collected → class
    ("completed", "completed", 100, 100, gc.COMPLETE),
    ("completed", "completed", 100, 130, gc.OVER),
    ("error", "cookies_expired", 10, 25, gc.OVER),
    ("completed", "completed", 100, 40, gc.OTHER),  # a silent partial
    ("completed", None, 100, 40, gc.OTHER),
    ("completed", "proxy_timeout", 100, 40, gc.OTHER),  # undocumented reason
    ("aborted", "run_aborted", 100, 40, gc.ABORTED),
    ("aborted", None, 100, 40, gc.ABORTED),
    ("cancelled", "user_cancelled", 100, 40, gc.ABORTED),  # an undocumented reason, a clear status
    ("CANCELED", None, None, 0, gc.ABORTED),
    ("aborted", "run_aborted", None, 0, gc.ABORTED),  # never started: unknown expected, stopped
    ("error", "deactivated", 5, 0, gc.ABORTED),
    ("error", "cookies_expired", 100, 0, gc.ACCOUNT),
    ("error", "cookies_expired", None, 0, gc.ACCOUNT),
    ("error", "no_credits_left", 80, 3, gc.ACCOUNT),
    ("error", "last_invoice_not_paid", None, None, gc.ACCOUNT),
    ("error", "website_inaccessible", 50, 10, gc.SITE),
    ("error", "request_failed", None, 0, gc.SITE),
    ("error", None, None, 0, gc.OTHER),  # failed, nothing says why
    ("error", "proxy_timeout", None, 0, gc.OTHER),
    ("completed", "invalid_url", None, 0, gc.OTHER),  # an input the crawler cannot use: stopped
    # Nulls.
    ("completed", "completed", None, 12, gc.UNKNOWN),
    ("completed", "completed", 12, None, gc.UNKNOWN),
    (None, None, None, None, gc.UNKNOWN),
    ("completed", "proxy_timeout", None, 3, gc.UNKNOWN),
    # Zero expected.
    ("completed", "completed", 0, 0, gc.COMPLETE),
    ("completed", None, 0, 0, gc.COMPLETE),
    ("done", "tasks_done", 0, 0, gc.COMPLETE),
    ("completed", "completed", 0, 4, gc.OVER),
    ("error", "cookies_expired", 0, 0, gc.ACCOUNT),
    ("completed", "proxy_timeout", 0, 0, gc.UNKNOWN),
    ("error", None, 0, 0, gc.OTHER),
    # Running.
    ("running", None, 100, 30, gc.RUNNING),
    ("pending", None, None, 0, gc.RUNNING),
    ("RUNNING", None, None, None, gc.RUNNING),
    ("paused", "no_account_available", 100, 30, gc.RUNNING),
    # A task still running is its own class, whatever it has collected so far (issue 11).
    ("running", None, 100, 100, gc.RUNNING),
    ("running", None, 100, 120, gc.RUNNING),
    ("pending", None, 0, 0, gc.RUNNING),
    ("completed", "batch_wait", 100, 30, gc.RUNNING),
]


@pytest.mark.parametrize(("status", "reason", "expected", "collected", "klass"), CASES)
def test_classify(status: str | None, reason: str | None, expected: int | None,
                  collected: int | None, klass: str) -> None:
    assert gc.classify(status, reason, expected, collected) == klass


def test_classes_have_the_issue_labels_and_a_description_each() -> None:
    assert list(gc.CLASSES.values()) == [
        "complete", "still running", "short — aborted",
        "short — account, credits or billing", "short — site or platform error", "short — other",
        "expected unknown", "collected more than expected"]
    assert set(gc.DESCRIPTIONS) == set(gc.CLASSES)
    assert set(gc.ENDED_SHORT) <= set(gc.CLASSES) and gc.RUNNING not in gc.ENDED_SHORT
    assert gc.SHORT == gc.ENDED_SHORT and gc.UNKNOWN not in gc.SHORT
    assert set(gc.CAUSES) == set(gc.SHORT)


@pytest.mark.parametrize(("status", "reason", "expected", "collected", "klass"), CASES)
def test_short_is_one_test_of_the_class(status: str | None, reason: str | None,
                                        expected: int | None, collected: int | None,
                                        klass: str) -> None:
    assert gc.is_short(status, reason, expected, collected) == (klass in gc.SHORT)
    assert gc.label("site") == "short — site or platform error" and gc.label("zzz") == "zzz"


def crafted_rows(run_id: str) -> list[dict[str, Any]]:
    return [task_row(run_id, i, status=status, done_reason=reason, total_results=expected,
                     last_result=collected)
            for i, (status, reason, expected, collected, _klass) in enumerate(CASES)]


def test_saved_rows_carry_their_class_and_the_filter_is_a_query(tmp_path: Path) -> None:
    store = Store(tmp_path / "s.sqlite3")
    run = "a" * 32
    save_run(store, run, crafted_rows(run))
    expected = {}
    for case in CASES:
        expected[case[-1]] = expected.get(case[-1], 0) + 1
    counts = dict(store.db.connection().execute(
        "SELECT gap_class, count(*) FROM tasks WHERE run_id = ? GROUP BY gap_class", (run,)).fetchall())
    assert counts == expected
    page = store.query(run, TaskQuery(classes=("account", "site"), per_page=500))
    assert page.matching == expected["account"] + expected["site"]
    assert {r.gap_class for r in page.rows} == {"account", "site"}
    plan = " ".join(r[3] for r in store.db.connection().execute(
        "EXPLAIN QUERY PLAN SELECT count(*) FROM tasks WHERE run_id = ? AND gap_class IN (?)",
        (run, "site")))
    assert "tasks_class" in plan


def test_a_store_made_before_gap_classes_is_migrated_and_its_rows_classified(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    run = "b" * 32
    rows = crafted_rows(run)
    old = sqlite3.connect(path)
    old.executescript(";\n".join(MIGRATIONS[0]) + "; PRAGMA user_version = 1;")
    for position, row in enumerate(rows, start=1):
        old.execute(
            "INSERT INTO tasks (run_id, id, position, status, done_reason, params_json, search_text,"
            " expected, collected, raw_json) VALUES (?, ?, ?, ?, ?, ?, '', ?, ?, ?)",
            (run, row["id"], position, row["status"], row["done_reason"],
             json.dumps(row["params"]), row["total_results"], row["last_result"], json.dumps(row)))
    old.commit()
    old.close()

    store = Store(path)
    assert store.schema_version() == len(MIGRATIONS) >= 2
    stored = store.db.connection().execute(
        "SELECT gap_class, params_key FROM tasks WHERE run_id = ? ORDER BY position", (run,)).fetchall()
    assert [r["gap_class"] for r in stored] == [case[-1] for case in CASES]
    assert all(r["params_key"] and len(r["params_key"]) == 40 for r in stored)
    assert store.query(run, TaskQuery(classes=("over",))).matching == \
        sum(1 for case in CASES if case[-1] == gc.OVER)
    # Opening it again is a no-op.
    assert Store(path).schema_version() == len(MIGRATIONS)


def test_rows_classified_before_one_meaning_of_short_are_classified_again(tmp_path: Path) -> None:
    run = "c" * 32
    store = Store(tmp_path / "v6.sqlite3")
    save_run(store, run, crafted_rows(run))
    conn = store.db.connection()
    # What version 6 stored for a running task that had collected all it expected.
    conn.execute("UPDATE tasks SET gap_class = 'complete' WHERE status = 'running'"
                 " AND expected = collected")
    for statement in MIGRATIONS[6]:  # migration 7, one meaning of short
        conn.execute(statement)
    stored = conn.execute(
        "SELECT gap_class FROM tasks WHERE run_id = ? ORDER BY position", (run,)).fetchall()
    assert [r[0] for r in stored] == [case[-1] for case in CASES]
