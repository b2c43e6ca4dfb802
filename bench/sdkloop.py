"""The baseline: the official lobstrio-sdk reading every runtask page after page."""

from __future__ import annotations

import time
from dataclasses import dataclass

from lobstrio import LobstrClient

from bench.procs import TOKEN


@dataclass(frozen=True)
class SdkRead:
    """One full read of a run by the SDK's public loop."""

    limit: int
    seconds: float
    requests: int
    rows: int


def sdk_read(api_base: str, run_id: str, limit: int) -> SdkRead:
    """`client.runs.tasks(run, limit=, page=)` until a short page (lobstr-api.md section 5)."""
    client = LobstrClient(token=TOKEN, base_url=api_base)
    rows = requests = 0
    page = 1
    try:
        started = time.perf_counter()
        while True:
            batch = client.runs.tasks(run_id, limit=limit, page=page)
            requests += 1
            rows += len(batch)
            if len(batch) < limit:
                break
            page += 1
        seconds = time.perf_counter() - started
    finally:
        client.close()
    return SdkRead(limit, seconds, requests, rows)
