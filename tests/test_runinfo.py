"""Run context: parsing GET /v1/runs/{id} and /stats (both duration forms, missing fields, zones),
and the service that fetches them once, in the background, and keeps them with the run."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import pytest

from lobstr_dash.loading.runinfo import RunInfoFetcher
from lobstr_dash.upstream.errors import LobstrUnavailable
from lobstr_dash.domain.values import parse_timestamp
from lobstr_dash.domain.runinfo import RunInfo
from lobstr_dash.domain.runinfo import RunDetails
from lobstr_dash.domain.runinfo import RunStats
from lobstr_dash.domain.values import parse_duration
from lobstr_dash.store import Store
from taskrows import save_run
from taskrows import task_row

RUN = "381cfbb47e474782857ddc035298b6f3"

#: GET /v1/runs/{id} as lobstr's docs show it: duration as timedelta text, created_at without Z.
RUN_OBJECT = {
    "id": RUN, "object": "run", "squid": "9a1f0c6e2d8b4a7f8c3e5d1b2a4c6e8f", "is_done": True,
    "started_at": "2025-02-04T10:26:50Z", "ended_at": "2025-02-04T10:27:40Z",
    "created_at": "2025-02-04T10:26:50.847633", "total_results": 40, "total_unique_results": 38,
    "next_launch_at": None, "duration": "0:00:50.183300", "credit_used": 50.1833,
    "origin": "user", "force_launch": False, "status": "done", "export_done": True,
    "export_count": 1, "export_time": "2025-02-04T10:27:44Z", "email_done": None,
    "done_reason": "tasks_done", "done_reason_desc": None, "email_verification": None,
}
#: A row of GET /v1/runs: the same run, duration as float seconds.
RUN_ROW = {**RUN_OBJECT, "duration": 50.1833}
#: GET /v1/runs/{id}/stats: no status, naive timestamps, percent as text.
STATS = {
    "id": RUN, "object": "run", "duration": "0:00:15.175532", "started_at": "2025-02-10T14:30:55",
    "ended_at": None, "is_done": False, "percent_done": "60%", "eta": "∞", "total_tasks": 10,
    "total_tasks_done": 6, "total_tasks_left": 4, "total_results": 6, "results_total": 138,
    "results_done": 6, "current_task": "", "updated_at": "2025-02-10T14:31:10",
    "total_requests": None,
}


@pytest.mark.parametrize(("value", "seconds"), [
    (8.0415, 8.0415), (50, 50.0), (0, 0.0), ("50.5", 50.5),
    ("0:00:50.183300", 50.1833), ("0:00:15.175532", 15.175532), ("12:00:00", 43200.0),
    ("25:01:02", 90062.0), ("1 day, 2:03:04.5", 93784.5), ("2 days, 0:00:00", 172800.0),
    (" 0:01:00 ", 60.0),
])
def test_both_duration_forms_give_seconds(value: Any, seconds: float) -> None:
    assert parse_duration(value) == pytest.approx(seconds)


@pytest.mark.parametrize("value", [None, "", "abc", True, -1, -0.5, math.nan, math.inf, "1:2",
                                   "-1 day, 23:59:59", "0:61:00", [], {"s": 1}])
def test_unreadable_durations_are_unknown(value: Any) -> None:
    assert parse_duration(value) is None


def test_the_run_object_and_its_list_row_agree_whatever_the_duration_form() -> None:
    detail, row = RunDetails.from_api(RUN_OBJECT), RunDetails.from_api(RUN_ROW)
    assert detail.duration == pytest.approx(50.1833) and row.duration == pytest.approx(50.1833)
    assert detail.duration_raw == "0:00:50.183300" and row.duration_raw == "50.1833"
    assert detail.status == "done" and detail.is_terminal and detail.done_reason == "tasks_done"
    assert detail.credit_used == pytest.approx(50.1833) and detail.origin == "user"
    assert (detail.total_results, detail.total_unique_results) == (40, 38)
    assert detail.squid == RUN_OBJECT["squid"] and detail.export_done is True
    # A timestamp without Z is UTC, like one with it.
    assert detail.created_at == pytest.approx(parse_timestamp("2025-02-04T10:26:50.847633Z"))
    assert detail.started_at == parse_timestamp("2025-02-04T10:26:50+00:00")


def test_missing_and_odd_fields_become_unknown_not_errors() -> None:
    empty = RunDetails.from_api({})
    assert empty == RunDetails() and not empty.is_terminal
    odd = RunDetails.from_api({"status": "RUNNING", "duration": "soon", "credit_used": "12.5",
                               "total_results": -3, "is_done": "yes", "started_at": "yesterday",
                               "squid": {"id": "x"}})
    assert odd.status == "RUNNING" and not odd.is_terminal and odd.duration is None
    assert odd.credit_used == 12.5 and odd.total_results is None and odd.is_done is None
    assert odd.started_at is None and odd.squid is None
    assert RunDetails.from_api(["not", "an", "object"]) == RunDetails()
    assert RunStats.from_api(None) == RunStats()


def test_stats_parse_percent_eta_and_counters() -> None:
    stats = RunStats.from_api(STATS)
    assert stats.duration == pytest.approx(15.175532) and stats.is_done is False
    assert stats.percent_done == 60.0 and stats.eta == "∞" and stats.ended_at is None
    assert (stats.total_tasks, stats.total_tasks_done, stats.total_tasks_left) == (10, 6, 4)
    assert (stats.results_total, stats.results_done) == (138, 6)
    assert stats.started_at == parse_timestamp("2025-02-10T14:30:55Z")
    assert stats.current_task is None  # "" means no current task


def test_the_context_takes_each_figure_from_the_run_first_then_the_stats() -> None:
    both = RunInfo.from_api(RUN_OBJECT, STATS)
    assert both.duration == pytest.approx(50.1833) and both.is_terminal and both.is_done is True
    assert both.squid == RUN_OBJECT["squid"]
    stats_only = RunInfo.from_api(None, STATS)
    assert stats_only.run is None and stats_only.duration == pytest.approx(15.175532)
    assert stats_only.started_at == parse_timestamp("2025-02-10T14:30:55Z")
    assert not stats_only.is_terminal and stats_only.squid is None and not stats_only.is_empty
    assert RunInfo.from_api(None, None).is_empty


class StubClient:
    """A LobstrClient stand-in: answers from dicts, fails on demand, counts calls."""

    def __init__(self) -> None:
        self.answers: dict[str, Any] = {f"runs/{RUN}": dict(RUN_OBJECT),
                                        f"runs/{RUN}/stats": dict(STATS)}
        self.failing: set[str] = set()
        self.calls: list[str] = []

    def get_json(self, path: str, params: Any = None) -> Any:
        self.calls.append(path)
        if path in self.failing:
            raise LobstrUnavailable("lobstr answered 503", status=503)
        return self.answers[path]


@pytest.fixture
def service(tmp_path: Path) -> tuple[RunInfoFetcher, StubClient, Store, list[float]]:
    store = Store(tmp_path / "s.sqlite3")
    save_run(store, RUN, [task_row(RUN, 0)])
    client = StubClient()
    now = [1_000_000.0]
    svc = RunInfoFetcher(client, store, refresh_seconds=15, retry_seconds=30,  # type: ignore[arg-type]
                            clock=lambda: now[0])
    return svc, client, store, now


def test_a_finished_run_context_is_fetched_once(service: Any) -> None:
    svc, client, _store, now = service
    first = svc.get(RUN, wait=5)
    assert first.available and first.error is None and not first.pending
    assert first.info.run.status == "done" and first.info.stats.results_total == 138
    now[0] += 3600
    again = svc.get(RUN, wait=5)
    assert again.info == first.info
    assert client.calls == [f"runs/{RUN}", f"runs/{RUN}/stats"]


def test_a_new_load_of_the_tasks_refetches_the_context(service: Any) -> None:
    svc, client, store, _now = service
    svc.get(RUN, wait=5)
    save_run(store, RUN, [task_row(RUN, 0)])  # "Refresh now": a new generation of the tasks
    client.answers[f"runs/{RUN}"]["credit_used"] = 60.0
    assert svc.get(RUN, wait=5).info.run.credit_used == 60.0
    assert len(client.calls) == 4


def test_an_unfinished_run_context_is_refreshed_after_the_interval(service: Any) -> None:
    svc, client, _store, now = service
    client.answers[f"runs/{RUN}"].update(status="running", is_done=False, ended_at=None)
    svc.get(RUN, wait=5)
    now[0] += 5
    svc.get(RUN, wait=5)
    assert len(client.calls) == 2  # within the interval: from the store
    now[0] += 11
    client.answers[f"runs/{RUN}"].update(status="done")
    assert svc.get(RUN, wait=5).info.run.status == "done"
    assert len(client.calls) == 4


def test_a_failure_keeps_what_was_known_and_waits_before_retrying(service: Any) -> None:
    svc, client, store, now = service
    client.failing.add(f"runs/{RUN}/stats")
    first = svc.get(RUN, wait=5)
    assert first.info.run.status == "done" and first.info.stats is None
    assert "stats" in first.error and "503" in first.error
    now[0] += 10
    svc.get(RUN, wait=5)
    assert len(client.calls) == 2  # no retry within 30 s
    now[0] += 25
    client.failing.clear()
    healed = svc.get(RUN, wait=5)
    assert healed.error is None and healed.info.stats.results_total == 138
    # Both calls failing: the last good context stays, with the error alongside.
    save_run(store, RUN, [task_row(RUN, 0)])
    client.failing.update({f"runs/{RUN}", f"runs/{RUN}/stats"})
    broken = svc.get(RUN, wait=5)
    assert broken.error and broken.info.run.status == "done"


def test_waiting_zero_never_blocks_and_reports_the_fetch_in_flight(service: Any) -> None:
    svc, client, _store, _now = service
    import threading
    gate = threading.Event()
    original = client.get_json

    def slow(path: str, params: Any = None) -> Any:
        gate.wait(5)
        return original(path, params)

    client.get_json = slow  # type: ignore[method-assign]
    answer = svc.get(RUN, wait=0)
    assert answer.pending and not answer.available
    gate.set()
    svc.join(RUN, 5)
    assert svc.get(RUN, wait=0).available
