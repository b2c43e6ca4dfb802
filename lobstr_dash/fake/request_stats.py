"""Read-only counts of the requests the fake answered (`GET /_fake/stats`, for benchmarks)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import Response

from lobstr_dash.fake import errors
from lobstr_dash.fake.hooks import fake_state
from lobstr_dash.fake.state import RequestRecord


def summarize(records: Iterable[RequestRecord]) -> dict[str, Any]:
    """Totals, 429s, answers by endpoint and status, and per-run request and page counts."""
    total = throttled = 0
    by_endpoint: dict[str, dict[str, int]] = {}
    runs: dict[str, dict[str, Any]] = {}
    pages_ok: dict[str, set[int]] = {}
    for record in records:
        total += 1
        throttled += record.status == 429
        statuses = by_endpoint.setdefault(record.endpoint or "unmatched", {})
        statuses[str(record.status)] = statuses.get(str(record.status), 0) + 1
        if record.run is None:
            continue
        run = runs.setdefault(record.run, {"requests": 0, "page_requests": 0, "throttled": 0,
                                           "pages_ok": 0})
        run["requests"] += 1
        run["page_requests"] += record.endpoint == "runtasks"
        run["throttled"] += record.status == 429
        if record.status == 200 and record.page is not None:
            pages_ok.setdefault(record.run, set()).add(record.page)
    for run_id, pages in pages_ok.items():
        runs[run_id]["pages_ok"] = len(pages)
    return {"requests": total, "throttled": throttled, "by_endpoint": by_endpoint, "runs": runs}


def stats_view() -> Response:
    """GET /_fake/stats: the request log summarized as JSON (never changes any state)."""
    return errors.json_response(summarize(fake_state().requests))
