"""End to end over real HTTP: the dashboard's client against the fake lobstr on a loopback port."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
from flask import Flask

from helpers import soup
from helpers import table_rows
from lobstr_dash import create_app
from lobstr_dash.fake import DEMO_RUN_IDS
from lobstr_dash.fake import FaultRule
from lobstr_dash.fake import synthetic_run_id

TOKEN = "integration-token-7d2f"
BIG = synthetic_run_id("integration-2500")


@pytest.fixture
def fake(served_fake: Any) -> tuple[Flask, str]:
    """The fake lobstr API with a 2,500-task run, served on a loopback port."""
    fake, base_url = served_fake(tokens={TOKEN}, extra_runs={BIG: 2500})
    return fake.app, base_url


def dashboard(base_url: str, tmp_path: Any, **overrides: Any) -> Flask:
    """The dashboard pointed at `base_url` with the test token, as LOBSTR_API_BASE would."""
    config = {"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": base_url, "DATA_DIR": str(tmp_path),
              "LOAD_WAIT_SECONDS": 30.0, "EXPORT_WAIT_SECONDS": 30.0,
              "LOBSTR_BACKOFF_BASE": 0.01, "LOBSTR_MAX_RETRY_AFTER": 3.0}
    config.update(overrides)
    return create_app(config)


def upstream_rows(fake_app: Flask, run_id: str) -> dict[str, dict[str, Any]]:
    """Every row the fake holds for a run, by id."""
    return {row["id"]: row for row in fake_app.extensions["fake"].catalog.iter_rows(run_id)}


def csv_rows(client: Any, run_id: str, qs: str = "") -> list[dict[str, str]]:
    response = client.get(f"/runs/{run_id}/tasks.csv{qs}")
    assert response.status_code == 200, response.get_data(as_text=True)[:300]
    return list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))


def assert_matches_upstream(rows: list[dict[str, str]], truth: dict[str, dict[str, Any]]) -> None:
    """Every upstream task exactly once, with the upstream's numbers."""
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(truth)
    for row in rows:
        source = truth[row["id"]]
        for ours, theirs in (("expected", "total_results"), ("collected", "last_result")):
            value = source[theirs]
            assert row[ours] == ("" if value is None else str(value))
        assert row["status"] == (source["status"] or "")


def test_every_task_of_a_2500_task_run_once_with_upstream_numbers(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    client = dashboard(base_url, tmp_path).test_client()
    page = client.get(f"/runs/{BIG}")
    assert page.status_code == 200
    assert len(table_rows(page)) == 100
    assert_matches_upstream(csv_rows(client, BIG), upstream_rows(fake_app, BIG))
    assert fake_app.extensions["fake"].count("runtasks", run=BIG) == 25  # 100 rows a page


def test_transient_500_and_429_cost_no_row(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    faults = fake_app.extensions["fake"].faults
    faults.append(FaultRule(endpoint="runtasks", page=3, status=500, times=1))
    faults.append(FaultRule(endpoint="runtasks", page=7, status=429, retry_after=1, times=1))
    client = dashboard(base_url, tmp_path).test_client()
    rows = csv_rows(client, BIG)
    assert_matches_upstream(rows, upstream_rows(fake_app, BIG))
    state = fake_app.extensions["fake"]
    assert state.count("runtasks", run=BIG, page=3) == 2
    assert state.count("runtasks", run=BIG, page=7) == 2


def test_a_page_that_keeps_failing_costs_only_its_rows(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    fake_app.extensions["fake"].faults.append(
        FaultRule(endpoint="runtasks", page=12, status=503, times=None))
    client = dashboard(base_url, tmp_path, LOBSTR_MAX_ATTEMPTS=2).test_client()
    assert client.get(f"/runs/{BIG}/tasks.json").json["complete"] is False  # waits for the load
    page = client.get(f"/runs/{BIG}")
    banner = soup(page).select_one("#run-status .banner-error").get_text(" ", strip=True)
    assert "100 of 2,500 tasks are missing" in banner and "rows 1,101–1,200" in banner
    rows = csv_rows(client, BIG)
    truth = upstream_rows(fake_app, BIG)
    assert len(rows) == 2400
    missing = set(truth) - {r["id"] for r in rows}
    positions = {i + 1 for i, row_id in enumerate(truth) if row_id in missing}
    assert positions == set(range(1101, 1201))
    # Once lobstr recovers, a retry of the missing rows completes the run.
    fake_app.extensions["fake"].faults.clear()
    client.post(f"/runs/{BIG}/refresh", data={"only_failed": "1"})
    assert_matches_upstream(csv_rows(client, BIG), truth)


def test_garbage_and_wrong_shapes_are_retried(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    faults = fake_app.extensions["fake"].faults
    for page, body in ((2, "garbage"), (4, "truncated"), (6, "wrong_shape")):
        faults.append(FaultRule(endpoint="runtasks", page=page, body=body, times=1))
    client = dashboard(base_url, tmp_path).test_client()
    assert_matches_upstream(csv_rows(client, BIG), upstream_rows(fake_app, BIG))


def test_rejected_token_over_http(fake: Any, tmp_path: Any) -> None:
    _fake_app, base_url = fake
    client = dashboard(base_url, tmp_path, LOBSTR_TOKEN="wrong-token-1234").test_client()
    response = client.get(f"/runs/{BIG}")
    assert response.status_code == 502
    assert "wrong-token-1234" not in response.get_data(as_text=True)


def test_proxy_passes_the_upstream_page_through_unchanged(fake: Any, tmp_path: Any) -> None:
    fake_app, base_url = fake
    client = dashboard(base_url, tmp_path).test_client()
    ours = client.get(f"/api/v1/runtasks?run={BIG}&page=3&limit=40")
    assert ours.status_code == 200
    assert ours.json["page"] == 3 and ours.json["limit"] == 40 and len(ours.json["data"]) == 40
    assert ours.json["total_results"] == 2500
    assert ours.json["data"][0]["id"] == list(upstream_rows(fake_app, BIG))[80]
    for qs in ("run=abc", f"run={BIG}&page=0", f"run={BIG}&limit=101", f"run={BIG}&page=x", ""):
        bad = client.get(f"/api/v1/runtasks?{qs}")
        assert bad.status_code == 400 and bad.json["ok"] is False
    assert fake_app.extensions["fake"].count("runtasks") == 1


def test_demo_mode_serves_the_demo_runs_in_process(tmp_path: Any) -> None:
    app = create_app({"LOBSTR_TOKEN": None, "DATA_DIR": str(tmp_path), "LOAD_WAIT_SECONDS": 30.0,
                      "DEMO_LATENCY_MS": 0})
    client = app.test_client()
    home = soup(client.get("/"))
    titles = [a.get_text(strip=True) for a in home.select(".demo-runs .card a")]
    assert len(titles) >= 6 and "demo data" in home.get_text()
    aborted = client.get(f"/runs/{DEMO_RUN_IDS['aborted']}")
    rows = table_rows(aborted)
    assert aborted.status_code == 200 and rows
    gaps = [int(r["Gap"].replace(",", "").split()[0]) for r in rows if r["Gap"][0].isdigit()]
    assert gaps[0] > 0 and gaps == sorted(gaps, reverse=True)
    assert "gap-0" not in rows[0]["_class"]
    empty = client.get(f"/runs/{DEMO_RUN_IDS['empty']}")
    assert empty.status_code == 200 and "This run has no tasks" in empty.get_data(as_text=True)
    assert soup(empty).select_one("form#filters") is None  # nothing to filter
