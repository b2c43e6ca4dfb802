"""Acting on runs (resurrect, retry) and rechecking finished ones, against the fake over real HTTP.

lobstr must hear an action exactly once per confirmed click, and never when the actions are off,
the CSRF token is missing or wrong, or the form came from another site; every outcome lands in
the audit log with lobstr's answer in words.
"""

from __future__ import annotations

import base64
import re
from typing import Any

import pytest
from flask import Flask
from werkzeug.security import generate_password_hash

from helpers import soup
from lobstr_dash import create_app
from lobstr_dash.config import ConfigError
from lobstr_dash.fake import DEMO_RUN_IDS
from support import TOKEN
from support import dashboard_config

ABORTED, CLEAN, MIXED = DEMO_RUN_IDS["aborted"], DEMO_RUN_IDS["clean"], DEMO_RUN_IDS["mixed"]
PASSWORD = "correct horse battery"
USERS = f"alice:{generate_password_hash(PASSWORD, method='scrypt:1024:8:1')}"
ALICE = {"Authorization": "Basic " + base64.b64encode(f"alice:{PASSWORD}".encode()).decode()}


@pytest.fixture
def lobstr(served_fake: Any, fake_clock: Any) -> tuple[Any, str]:
    """The fake lobstr on a loopback port, on a clock the test moves (its live run has ended)."""
    fake_clock.now = 1_800_000_000.0  # after the demo runs' own dates, as a real clock would be
    fake, base_url = served_fake(tokens={TOKEN}, clock=fake_clock)
    fake_clock.advance(3600)  # the demo's live run (same squid as the aborted one) is over
    return fake, base_url


def dashboard(base_url: str, tmp_path: Any, **overrides: Any) -> Flask:
    config = dashboard_config(None, str(tmp_path / "data"), base_url=base_url,
                              LOBSTR_ACTIONS=True, AUTH_USERS=USERS)
    config.update(overrides)
    return create_app(config)


def token_of(page: Any) -> str:
    field = soup(page).select_one("input[name=csrf_token]")
    assert field is not None and field["value"]
    return str(field["value"])


def test_actions_are_off_by_default_and_lobstr_hears_nothing(lobstr: Any, tmp_path: Any) -> None:
    fake, base_url = lobstr
    client = dashboard(base_url, tmp_path, LOBSTR_ACTIONS=False).test_client()
    assert client.get(f"/runs/{ABORTED}/resurrect", headers=ALICE).status_code == 404
    assert client.post(f"/runs/{ABORTED}/resurrect", headers=ALICE).status_code == 404
    task = "0" * 32
    assert client.post(f"/runs/{MIXED}/tasks/{task}/retry", headers=ALICE).status_code == 404
    assert fake.requests("resurrect") == fake.requests("retry") == 0
    assert "Set-Cookie" not in client.get("/", headers=ALICE).headers  # no session without actions


def test_actions_need_sign_in_unless_told_otherwise(lobstr: Any, tmp_path: Any) -> None:
    _fake, base_url = lobstr
    with pytest.raises(ConfigError, match="sign-in"):
        dashboard(base_url, tmp_path, AUTH_USERS="")
    app = dashboard(base_url, tmp_path, AUTH_USERS="", LOBSTR_ACTIONS_WITHOUT_SIGNIN=True)
    assert app.test_client().get(f"/runs/{ABORTED}/resurrect").status_code == 200


def test_resurrect_reaches_lobstr_once_per_confirmed_click(lobstr: Any, tmp_path: Any) -> None:
    fake, base_url = lobstr
    client = dashboard(base_url, tmp_path).test_client()
    assert client.get(f"/runs/{ABORTED}/tasks.json", headers=ALICE).json["complete"] is True
    confirm = client.get(f"/runs/{ABORTED}/resurrect", headers=ALICE)
    assert confirm.status_code == 200
    text = soup(confirm).get_text(" ", strip=True)
    assert "interrupted go back to pending" in text and "costs credits" in text
    token = token_of(confirm)
    # No token, a wrong one, or a form from another site: refused, and lobstr hears nothing.
    assert client.post(f"/runs/{ABORTED}/resurrect", headers=ALICE).status_code == 400
    assert client.post(f"/runs/{ABORTED}/resurrect", headers=ALICE,
                       data={"csrf_token": token[:-4] + "AAAA"}).status_code == 400
    assert client.post(f"/runs/{ABORTED}/resurrect", data={"csrf_token": token},
                       headers={**ALICE, "Sec-Fetch-Site": "cross-site"}).status_code == 403
    assert fake.requests("resurrect") == 0
    done = client.post(f"/runs/{ABORTED}/resurrect", headers=ALICE, data={"csrf_token": token})
    assert done.status_code == 303 and re.search(r"/actions/\d+$", done.headers["Location"])
    assert fake.requests("resurrect") == 1
    outcome = client.get(done.headers["Location"], headers=ALICE)
    assert outcome.status_code == 200 and "lobstr reopened the run" in outcome.get_data(as_text=True)
    # The run is live again: the next look reads it anew and sees its reopened tasks pending.
    tasks = client.get(f"/runs/{ABORTED}/tasks.json", headers=ALICE).json["tasks"]
    assert any(t["status"] == "pending" for t in tasks)
    log = client.get("/actions.json", headers=ALICE).json["actions"]
    assert [(a["action"], a["user"], a["outcome"], a["run_id"]) for a in log] == [
        ("resurrect", "alice", "accepted", ABORTED)]
    metrics = client.get("/metrics", headers=ALICE).get_data(as_text=True)
    assert 'lobstr_dash_actions_total{action="resurrect",outcome="accepted"} 1.0' in metrics


def test_lobstrs_refusals_are_shown_in_words(lobstr: Any, tmp_path: Any, fake_clock: Any) -> None:
    fake, base_url = lobstr
    client = dashboard(base_url, tmp_path).test_client()
    token = token_of(client.get(f"/runs/{CLEAN}/resurrect", headers=ALICE))
    refused = client.post(f"/runs/{CLEAN}/resurrect", headers=ALICE, data={"csrf_token": token},
                          follow_redirects=True)
    assert refused.status_code == 409
    body = refused.get_data(as_text=True)
    assert "resurrects only runs that were aborted" in body and "RunNotAborted" in body
    # Retry a failed task of the mixed run: accepted once, then refused while its run is active.
    tasks = client.get(f"/runs/{MIXED}/tasks.json?status=error", headers=ALICE).json["tasks"]
    task = tasks[0]["id"]
    page = client.get(f"/runs/{MIXED}/tasks/{task}/retry", headers=ALICE)
    assert page.status_code == 200 and "sets this task back to pending" in page.get_data(as_text=True)
    token = token_of(page)
    first = client.post(f"/runs/{MIXED}/tasks/{task}/retry", headers=ALICE, data={"csrf_token": token},
                        follow_redirects=True)
    assert first.status_code == 200
    again = client.post(f"/runs/{MIXED}/tasks/{task}/retry", headers=ALICE, data={"csrf_token": token},
                        follow_redirects=True)
    assert again.status_code == 409 and "still active" in again.get_data(as_text=True)
    fake_clock.advance(120)  # the retried task ran; its run ended again
    cooldown = client.post(f"/runs/{MIXED}/tasks/{task}/retry", headers=ALICE,
                           data={"csrf_token": token}, follow_redirects=True)
    assert cooldown.status_code == 409 and "every 5 minutes" in cooldown.get_data(as_text=True)
    assert fake.requests("retry") == 3 and fake.requests("resurrect") == 1
    outcomes = [(a["action"], a["outcome"], a["code"])
                for a in client.get("/actions.json", headers=ALICE).json["actions"]]
    assert outcomes == [("retry", "refused", "RetryCooldown"), ("retry", "refused", "RunInProgress"),
                        ("retry", "accepted", None), ("resurrect", "refused", "RunNotAborted")]
    csv_text = client.get("/actions.csv", headers=ALICE).get_data(as_text=True)
    assert csv_text.splitlines()[0] == "id,at,user,action,run_id,runtask_id,outcome,status,code,message"
    assert csv_text.count("\r\n") == 5


def test_an_unchanged_finished_run_costs_one_run_request_per_recheck(lobstr: Any, tmp_path: Any,
                                                                     fake_clock: Any) -> None:
    fake, base_url = lobstr
    client = dashboard(base_url, tmp_path, CLOCK=fake_clock,
                       FINISHED_RECHECK_SECONDS=300).test_client()
    assert client.get(f"/runs/{CLEAN}", headers=ALICE).status_code == 200
    pages, runs = fake.count(CLEAN), fake.state.count(endpoint="run", run=CLEAN)
    fake_clock.advance(100)
    client.get(f"/runs/{CLEAN}", headers=ALICE)
    assert (fake.count(CLEAN), fake.state.count(endpoint="run", run=CLEAN)) == (pages, runs)
    fake_clock.advance(300)
    client.get(f"/runs/{CLEAN}", headers=ALICE)
    # Checked once with lobstr (one GET /v1/runs/{run}), and nothing changed: no page asked.
    assert fake.state.count(endpoint="run", run=CLEAN) == runs + 1
    assert fake.count(CLEAN) == pages


def test_a_recheck_interval_of_0_turns_rechecks_off(lobstr: Any, tmp_path: Any,
                                                   fake_clock: Any) -> None:
    fake, base_url = lobstr
    client = dashboard(base_url, tmp_path, CLOCK=fake_clock,
                       FINISHED_RECHECK_SECONDS=0).test_client()
    assert client.get(f"/runs/{CLEAN}", headers=ALICE).status_code == 200
    pages, runs = fake.count(CLEAN), fake.state.count(endpoint="run", run=CLEAN)
    for _ in range(3):
        fake_clock.advance(10_000)
        assert client.get(f"/runs/{CLEAN}", headers=ALICE).status_code == 200
    assert (fake.count(CLEAN), fake.state.count(endpoint="run", run=CLEAN)) == (pages, runs)


def test_a_run_reopened_in_lobstr_is_seen_on_the_next_visit(lobstr: Any, tmp_path: Any,
                                                           fake_clock: Any) -> None:
    fake, base_url = lobstr
    client = dashboard(base_url, tmp_path, CLOCK=fake_clock, FINISHED_RECHECK_SECONDS=300,
                       LOBSTR_ACTIONS=False).test_client()
    first = client.get(f"/runs/{ABORTED}/tasks.json", headers=ALICE).json
    assert first["complete"] and not any(t["status"] == "pending" for t in first["tasks"])
    # Someone resurrects the run in lobstr itself.
    assert fake.app.test_client().post(f"/v1/runs/{ABORTED}/resurrect",
                                       headers={"Authorization": f"Token {TOKEN}"}).status_code == 200
    fake_clock.advance(301)  # by now lobstr ran the reopened tasks to their end
    again = client.get(f"/runs/{ABORTED}/tasks.json", headers=ALICE).json
    assert {t["status"] for t in again["tasks"]} == {"completed"}
    assert sum(t["status"] != "completed" for t in first["tasks"]) > 100
    store = client.application.extensions["lobstr_dash"].store
    assert store.run_state(ABORTED).reopened_at is not None


def test_the_run_page_offers_actions_only_when_on_and_only_where_lobstr_allows(
        lobstr: Any, tmp_path: Any) -> None:
    _fake, base_url = lobstr
    on = dashboard(base_url, tmp_path).test_client()
    aborted = soup(on.get(f"/runs/{ABORTED}", headers=ALICE))
    assert aborted.select_one(f'a[href="/runs/{ABORTED}/resurrect"]') is not None
    retries = aborted.select('a[href*="/retry"]')
    assert retries and all(f"/runs/{ABORTED}/tasks/" in a["href"] for a in retries)
    clean = soup(on.get(f"/runs/{CLEAN}", headers=ALICE))
    assert clean.select_one('a[href$="/resurrect"]') is None  # only an aborted run
    off = dashboard(base_url, tmp_path / "off", LOBSTR_ACTIONS=False).test_client()
    page = soup(off.get(f"/runs/{ABORTED}", headers=ALICE))
    assert page.select_one('a[href$="/resurrect"]') is None and not page.select('a[href*="/retry"]')
