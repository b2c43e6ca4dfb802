"""Fill a store file with big synthetic runs without an upstream: the store figures of the bench.

Rows come from the fake lobstr's own generator (the realistic scenario) and are saved through the
store's own load path (claim, save_page, finish), so the file is exactly what a load would write.
Copies of a run (the 5M-row store) are made in SQL: the same rows under another run id.
"""

from __future__ import annotations

import time
from pathlib import Path

from lobstr_dash.fake import synthetic_run_id
from lobstr_dash.fake.catalog import RunCatalog
from lobstr_dash.store import Store
from lobstr_dash.store import keyload

PAGE_SIZE = 100


def fill_run(store: Store, catalog: RunCatalog, run_id: str) -> None:
    """Load one catalogue run into the store page by page, as the loader would."""
    total = catalog.total(run_id)
    pages = -(-total // PAGE_SIZE)
    generation = store.claim(run_id, "bench", 3600.0, fresh=True)
    assert generation is not None
    store.set_totals(run_id, total, pages, PAGE_SIZE)
    for page in range(1, pages + 1):
        store.save_page(run_id, generation, page, PAGE_SIZE,
                        catalog.rows(run_id, page, PAGE_SIZE), "bench", 3600.0)
    store.finish(run_id, "bench")


def fill(path: Path, sizes: dict[str, int]) -> dict[str, str]:
    """A store at `path` holding one synthetic run per label → task count; returns label → run id."""
    runs = {label: synthetic_run_id(f"store-{label}") for label in sizes}
    catalog = RunCatalog(extra_runs={runs[label]: count for label, count in sizes.items()})
    store = Store(path)
    try:
        for label in sizes:
            fill_run(store, catalog, runs[label])
    finally:
        store.close()
    return runs


def copy_run(store: Store, source: str, target: str) -> None:
    """Store run `source` again under the id `target` (its tasks, pages and ledger row)."""
    with store.db.transaction(immediate=True) as conn:
        for table in ("runs", "pages", "tasks"):
            columns = [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
            picked = ", ".join("?" if c == "run_id" else c for c in columns)
            conn.execute(f"INSERT INTO {table} ({', '.join(columns)})"
                         f" SELECT {picked} FROM {table} WHERE run_id = ?", (target, source))
        keyload.rebuild(conn, target)  # as a finished load writes them


if __name__ == "__main__":  # python -m bench.fill PATH COUNT: a quick store to look at
    import sys

    began = time.monotonic()
    made = fill(Path(sys.argv[1]), {"run": int(sys.argv[2])})
    print(made, f"{time.monotonic() - began:.1f} s")
