"""Test data shared by test modules: a mocked lobstr upstream and rows shaped like its answers."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Callable
from typing import Any

import requests_mock as requests_mock_module

TOKEN = "tok-SECRET-6f1c2e9a"
API = "https://lobstr.test/v1"
RUN = "300e9c5c127d421c90f431478d9a2cfb"


def make_rows(run_id: str, count: int, *, short_every: int = 3) -> list[dict[str, Any]]:
    """Rows shaped like /v1/runtasks data: every `short_every`-th task is aborted and short."""
    rows = []
    for i in range(count):
        short = short_every and i % short_every == 0
        rows.append({
            "object": "runtask", "id": f"{i + 1:032x}", "task": f"{i + 7:032x}", "run": run_id,
            "status": "aborted" if short else "completed",
            "done_reason": "run_aborted" if short else "completed",
            "done_reason_desc": "The run was aborted by the user" if short else None,
            "params": {"url": f"https://www.google.com/maps/search/place-{i}/@43.29,5.36,14z"},
            "started_at": "2025-02-10T14:30:58Z", "ended_at": "2025-02-10T14:31:10.250000Z",
            "total_results": 100, "last_result": (i % 50) if short else 100,
            "total_pages": 1, "last_page": 0, "last_collection_at": "2025-02-10T14:31:10Z",
        })
    return rows


class MockUpstream:
    """A lobstr /v1/runtasks served through requests_mock: runs, injected failures, call counts."""

    def __init__(self, mocker: requests_mock_module.Mocker, base: str = API) -> None:
        self.runs: dict[str, list[dict[str, Any]]] = {}
        self.failures: dict[tuple[str, int], list[tuple[int, Any, dict[str, str]]]] = {}
        self.calls: Counter[tuple[str, int]] = Counter()
        self.tokens_seen: list[str] = []
        self.delay = 0.0
        self.gate: threading.Event | None = None
        #: Called with (run, page) before each page is answered: lets a test change the run.
        self.before_page: Callable[[str, int], None] | None = None
        self._lock = threading.Lock()
        mocker.get(f"{base}/runtasks", text=self._runtasks)

    def add_run(self, run_id: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        """Serve these rows for a run."""
        self.runs[run_id] = rows
        return rows

    def fail(self, run_id: str, page: int, status: int, body: Any = None, *, times: int = 1,
             headers: dict[str, str] | None = None) -> None:
        """Answer `status` for the next `times` requests of a page (times=0: forever)."""
        entry = (status, body if body is not None else {"detail": f"boom {status}"}, headers or {})
        self.failures[(run_id, page)] = [entry] * (times or 10_000)

    def count(self, run_id: str | None = None, page: int | None = None) -> int:
        """Requests received for a run (and page)."""
        return sum(n for (r, p), n in self.calls.items()
                   if (run_id is None or r == run_id) and (page is None or p == page))

    def _runtasks(self, request: Any, context: Any) -> str:
        run_id = request.qs.get("run", [""])[0]
        page = int(request.qs.get("page", ["1"])[0])
        limit = int(request.qs.get("limit", ["50"])[0])
        with self._lock:
            self.calls[(run_id, page)] += 1
            self.tokens_seen.append(request.headers.get("Authorization", ""))
            pending = self.failures.get((run_id, page))
            failure = pending.pop(0) if pending else None
        if self.gate is not None:
            self.gate.wait(10)
        if self.before_page is not None:
            self.before_page(run_id, page)
        if failure:
            status, body, headers = failure
            context.status_code = status
            context.headers.update(headers)
            return body if isinstance(body, str) else json.dumps(body)
        if run_id not in self.runs:
            context.status_code = 404
            return json.dumps({"error": {"message": "Run not found", "type": "not_found_error",
                                         "param": "run"}})
        rows = self.runs[run_id]
        total_pages = max(1, -(-len(rows) // limit))
        data = rows[(page - 1) * limit: page * limit]
        return json.dumps({"total_results": len(rows), "limit": limit, "page": page,
                           "total_pages": total_pages, "result_from": (page - 1) * limit + 1,
                           "result_to": (page - 1) * limit + len(data), "data": data,
                           "next": None, "previous": None})
