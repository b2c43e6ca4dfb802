"""The store's schema as numbered migrations; `PRAGMA user_version` records which have run.

Each migration is a sequence of statements, run one by one in one transaction: no statement is
ever split out of a longer text, so a `;` inside a string or a comment cannot cut one in two.
"""

from __future__ import annotations

import sqlite3

from . import figurestore
from . import retention
from . import sortkeys
from . import textsearch

#: MIGRATIONS[i] takes the schema from version i to i + 1.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: runs (the load ledger), their pages, and their tasks with the columns filters sort on.
    (
        """CREATE TABLE runs (
            run_id TEXT PRIMARY KEY,
            state TEXT NOT NULL,            -- loading | done | partial | failed
            generation INTEGER NOT NULL DEFAULT 1,
            total_results INTEGER,
            total_pages INTEGER,
            page_size INTEGER,
            started_at REAL,
            finished_at REAL,
            fetched_at REAL,
            is_live INTEGER NOT NULL DEFAULT 0,
            owner TEXT,
            lease_until REAL,
            error_kind TEXT,
            error_message TEXT,
            error_status INTEGER
        )""",
        """CREATE TABLE pages (
            run_id TEXT NOT NULL,
            page INTEGER NOT NULL,
            generation INTEGER NOT NULL,
            state TEXT NOT NULL,            -- done | failed
            rows INTEGER NOT NULL DEFAULT 0,
            error TEXT,
            fetched_at REAL,
            PRIMARY KEY (run_id, page)
        ) WITHOUT ROWID""",
        """CREATE TABLE tasks (
            run_id TEXT NOT NULL,
            id TEXT NOT NULL,
            position INTEGER NOT NULL,
            task TEXT,
            status TEXT,
            done_reason TEXT,
            done_reason_desc TEXT,
            url TEXT,
            params_json TEXT NOT NULL,
            search_text TEXT NOT NULL,
            started_at REAL,
            ended_at REAL,
            duration REAL,
            expected INTEGER,
            collected INTEGER,
            gap INTEGER,
            missing_share REAL,
            raw_json TEXT NOT NULL,
            PRIMARY KEY (run_id, id)
        ) WITHOUT ROWID""",
        "CREATE INDEX tasks_gap ON tasks (run_id, gap)",
        "CREATE INDEX tasks_position ON tasks (run_id, position)",
        "CREATE INDEX tasks_status ON tasks (run_id, status)",
        "CREATE INDEX tasks_reason ON tasks (run_id, done_reason)",
    ),
    # 2: each task's gap class (a facet and filter), a key of its params (to pair the tasks of two
    # runs), and the cached run context (GET /v1/runs/{id} and its /stats). Existing rows get
    # their class and key from the same Python code that computes them on save.
    (
        "ALTER TABLE tasks ADD COLUMN gap_class TEXT",
        "ALTER TABLE tasks ADD COLUMN params_key TEXT",
        "UPDATE tasks SET gap_class = lobstr_gap_class(status, done_reason, expected, collected),"
        " params_key = lobstr_params_key(params_json)",
        "CREATE INDEX tasks_class ON tasks (run_id, gap_class)",
        "CREATE INDEX tasks_task ON tasks (run_id, task)",
        "CREATE INDEX tasks_params_key ON tasks (run_id, params_key)",
        """CREATE TABLE run_context (
            run_id TEXT PRIMARY KEY,
            run_json TEXT,
            stats_json TEXT,
            generation INTEGER,
            fetched_at REAL,
            error_kind TEXT,
            error_message TEXT,
            failed_at REAL
        )""",
    ),
    # 3: covering indexes for the aggregates (reason cards, charts, gap-class counts), so they read
    # narrow index entries instead of the wide task rows: about 5x faster at 100,000 tasks.
    (
        "CREATE INDEX tasks_reason_figures ON tasks"
        " (run_id, done_reason, gap, status, expected, collected, gap_class)",
        "CREATE INDEX tasks_time_figures ON tasks"
        " (run_id, started_at, position, ended_at, expected, collected, gap, status, done_reason,"
        " gap_class)",
        "CREATE INDEX tasks_reason_desc ON tasks (run_id, done_reason, done_reason_desc)"
        " WHERE done_reason_desc IS NOT NULL",
    ),
    # 4: drop the copy of each upstream row. Nothing read it, and at ~1.2 KB a row it made every
    # scan of a 100,000-task run read ~200 MB (text filter: 162 ms -> ~60 ms without it).
    (
        "ALTER TABLE tasks DROP COLUMN raw_json",
    ),
    # 5: the table of what lobstr says about a run itself is named for what it holds.
    (
        "ALTER TABLE run_context RENAME TO run_info",
    ),
    # 6: bounded under hostile input (issue 10). Counts past 10^12 are clamped, their original kept
    # in `implausible`, so no sum of a run can overflow SQLite's 64-bit integers; each failed page
    # says whose fault it was; a run remembers the page count lobstr claimed and how many loads in
    # a row failed (to back off); `health` is the row /healthz writes to prove the file writable.
    (
        "ALTER TABLE tasks ADD COLUMN implausible TEXT",
        "UPDATE tasks SET implausible = json_object('total_results', CAST(expected AS TEXT),"
        " 'last_result', CAST(collected AS TEXT)) WHERE expected > 1000000000000"
        " OR collected > 1000000000000",
        "UPDATE tasks SET expected = min(expected, 1000000000000),"
        " collected = min(collected, 1000000000000) WHERE implausible IS NOT NULL",
        "UPDATE tasks SET gap = expected - collected,"
        " missing_share = CASE WHEN expected IS NULL OR collected IS NULL THEN NULL"
        " WHEN expected = 0 OR expected <= collected THEN 0.0"
        " ELSE CAST(expected - collected AS REAL) / expected END,"
        " gap_class = lobstr_gap_class(status, done_reason, min(expected, 1000000000000),"
        " min(collected, 1000000000000)) WHERE implausible IS NOT NULL",
        "UPDATE runs SET total_results = 1000000000000 WHERE total_results > 1000000000000",
        "ALTER TABLE pages ADD COLUMN fault TEXT",
        "ALTER TABLE runs ADD COLUMN claimed_pages INTEGER",
        "ALTER TABLE runs ADD COLUMN failures INTEGER NOT NULL DEFAULT 0",
        "CREATE TABLE health (id INTEGER PRIMARY KEY, checked_at REAL)",
    ),
    # 7: one meaning of short (issue 11): a task still running is "still running" whatever it has
    # collected, and a cancelled one is "short — aborted". Rows stored before are classified
    # again, so no stored figure keeps the old classes until its run happens to be re-read.
    (
        "UPDATE tasks SET gap_class = lobstr_gap_class(status, done_reason, expected, collected)"
        " WHERE gap_class IS NOT lobstr_gap_class(status, done_reason, expected, collected)",
    ),
    # 8: the audit log of actions taken in lobstr from the dashboard (resurrect, retry), and when a
    # finished run was last checked with lobstr (and found reopened).
    (
        "ALTER TABLE runs ADD COLUMN checked_at REAL",
        "ALTER TABLE runs ADD COLUMN reopened_at REAL",
        """CREATE TABLE actions (
            id INTEGER PRIMARY KEY,
            at REAL NOT NULL,
            user TEXT,                      -- the signed-in (or proxy) user; NULL without sign-in
            action TEXT NOT NULL,           -- resurrect | retry
            run_id TEXT NOT NULL,
            runtask_id TEXT,
            outcome TEXT NOT NULL,          -- accepted | refused | failed
            status INTEGER,                 -- lobstr's HTTP status, when it answered
            code TEXT,                      -- lobstr's error type (RunNotAborted, RetryCooldown…)
            message TEXT                    -- lobstr's answer in words
        )""",
        "CREATE INDEX actions_run ON actions (run_id, at)",
    ),
    # 9 (alerts): webhook and poll events to act on once each (hooks), the alert outbox, each
    # evaluated run's figures (verdicts, the squid history), named leases (the poller's
    # leader), and what the poller has seen.
    (
        """CREATE TABLE hooks (
            run_id TEXT NOT NULL,
            event TEXT NOT NULL,
            source TEXT NOT NULL,           -- webhook | poll
            squid_hint TEXT,
            received_at REAL NOT NULL,
            state TEXT NOT NULL,            -- pending | done | ignored | failed
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at REAL NOT NULL,
            owner TEXT,
            lease_until REAL,
            note TEXT,
            finished_at REAL,
            PRIMARY KEY (run_id, event)
        ) WITHOUT ROWID""",
        "CREATE INDEX hooks_due ON hooks (state, next_at)",
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            run_id TEXT NOT NULL,
            rule TEXT NOT NULL,
            channel TEXT NOT NULL,          -- a hash of the Apprise URL, never the URL
            channel_label TEXT NOT NULL,    -- the URL with its secrets masked
            squid_id TEXT,
            severity TEXT NOT NULL,
            summary TEXT NOT NULL,
            facts_json TEXT NOT NULL,
            created_at REAL NOT NULL,
            state TEXT NOT NULL,            -- pending | sending | sent | failed | unsent | dropped
            attempts INTEGER NOT NULL DEFAULT 0,
            next_at REAL,
            owner TEXT,
            lease_until REAL,
            last_error TEXT,
            sent_at REAL,
            UNIQUE (run_id, rule, channel)
        )""",
        "CREATE INDEX alerts_due ON alerts (state, next_at)",
        "CREATE INDEX alerts_created ON alerts (created_at)",
        """CREATE TABLE verdicts (
            run_id TEXT PRIMARY KEY,
            squid_id TEXT,
            started_at REAL,
            percent REAL,
            missing INTEGER,
            expected INTEGER,
            source TEXT NOT NULL,           -- tasks | stats
            evaluated_at REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE INDEX verdicts_squid ON verdicts (squid_id, started_at)",
        "CREATE TABLE leases (name TEXT PRIMARY KEY, owner TEXT, until REAL, mark REAL)",
        """CREATE TABLE watched_runs (
            run_id TEXT PRIMARY KEY,
            squid_id TEXT NOT NULL,
            status TEXT,
            seen_at REAL NOT NULL
        ) WITHOUT ROWID""",
        "CREATE TABLE watched_squids (squid_id TEXT PRIMARY KEY, since REAL NOT NULL, last_key TEXT)",
    ),
    # 10: lobstr's `warning` on a run's list (a free plan's export cap), kept with the load: the
    # tasks past it are "not returned by lobstr (plan limit)", not failed pages.
    (
        "ALTER TABLE runs ADD COLUMN plan_warning TEXT",
    ),
    # 11 (issue 15): a narrow copy of the sort and filter columns under small run keys, written once
    # per finished load, with one index per sort column and direction in page order
    # (store/sortkeys.py): deep pages walk small index entries instead of sorting wide rows.
    sortkeys.MIGRATION,
    # 12 (issue 15): text search through an FTS5 trigram index over the params, written with the
    # keys (store/textsearch.py; left out where SQLite lacks trigram: the search then scans),
    # retention's records (when each run was last opened, the evictions made), and the figures
    # of finished loads, computed once per load (store/figurestore.py).
    (*textsearch.migration(), *retention.MIGRATION, *figurestore.MIGRATION),
)


def migrate(conn: sqlite3.Connection, begin: str = "BEGIN IMMEDIATE") -> int:
    """Bring a connection's schema up to the newest version, one step per transaction.

    Safe when several processes open a new file at once: each step re-reads the version under
    the write lock and skips what another process already did. Returns the version reached.
    """
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version == 0:  # a new file (or a rebuilt one): free pages can go back (retention.py).
        conn.execute("PRAGMA auto_vacuum = INCREMENTAL")  # WAL mode already wrote the header,
        conn.execute("VACUUM")  # so the setting takes effect by a rewrite (of nothing)
    for target in range(version + 1, len(MIGRATIONS) + 1):
        conn.execute(begin)
        try:
            current = int(conn.execute("PRAGMA user_version").fetchone()[0])
            if current < target:
                for statement in MIGRATIONS[target - 1]:
                    conn.execute(statement)
                conn.execute(f"PRAGMA user_version = {target}")
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")
    return len(MIGRATIONS)
