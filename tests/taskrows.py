"""Run task rows for the insight tests (reasons, gap classes, charts, compare, re-queue)."""

from __future__ import annotations

from typing import Any

from lobstr_dash.store import Store


def task_row(run_id: str, index: int, **fields: Any) -> dict[str, Any]:
    """One /v1/runtasks row: a completed task that collected 100 of 100, with `fields` changed."""
    row: dict[str, Any] = {
        "object": "runtask", "id": f"{index + 1:032x}", "task": f"{index + 1000:032x}",
        "run": run_id, "status": "completed", "done_reason": "completed", "done_reason_desc": None,
        "params": {"url": f"https://www.google.com/maps/search/place-{index}/@43.29,5.36,14z"},
        "started_at": "2025-02-10T14:30:58Z", "ended_at": "2025-02-10T14:31:10Z",
        "total_results": 100, "last_result": 100, "total_pages": 1, "last_page": 0,
        "last_collection_at": "2025-02-10T14:31:10Z",
    }
    row.update(fields)
    return row


def save_run(store: Store, run_id: str, rows: list[dict[str, Any]], page_size: int = 100) -> None:
    """Store a run's rows as a finished load would, page by page."""
    owner = "test-" + run_id[:6]
    store.claim(run_id, owner, 60, fresh=True)
    pages = max(1, -(-len(rows) // page_size))
    store.set_totals(run_id, len(rows), pages, page_size)
    generation = store.run_state(run_id).generation  # type: ignore[union-attr]
    for page in range(1, pages + 1):
        store.save_page(run_id, generation, page, page_size,
                        rows[(page - 1) * page_size: page * page_size], owner, 60)
    store.finish(run_id, owner)
