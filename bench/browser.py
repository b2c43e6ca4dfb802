"""What a browser does against the dashboard: open a run page, poll its status partial."""

from __future__ import annotations

import threading
import time
from types import TracebackType

import requests

#: Headers htmx sends when the progress bar polls (`hx-get … hx-target="this"` on #run-status).
STATUS_POLL = {"HX-Request": "true", "HX-Target": "run-status"}
TASKS_PARTIAL = {"HX-Request": "true", "HX-Target": "tasks"}


def timed_get(url: str, headers: dict[str, str] | None = None,
              timeout: float = 120.0) -> tuple[float, int, int]:
    """GET on a fresh connection; (seconds, status, body bytes)."""
    started = time.perf_counter()
    answer = requests.get(url, headers=headers, timeout=timeout)
    body = answer.content
    return time.perf_counter() - started, answer.status_code, len(body)


class StatusPoller:
    """A watcher's browser tab: polls the run's status partial every `every` s, like the page."""

    def __init__(self, run_url: str, every: float = 1.0) -> None:
        self.run_url = run_url
        self.every = every
        self.polls = 0
        self.errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="status-poller", daemon=True)

    def _loop(self) -> None:
        while not self._stop.wait(self.every):
            try:
                answer = requests.get(self.run_url, headers=STATUS_POLL, timeout=30)
                self.polls += 1
                self.errors += answer.status_code != 200
            except requests.RequestException:
                self.errors += 1

    def __enter__(self) -> StatusPoller:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 trace: TracebackType | None) -> None:
        self._stop.set()
        self._thread.join(timeout=35)
