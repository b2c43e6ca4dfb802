"""Bounded under hostile input (issue 10), in-process: the store's own failures, back-off and
negative caching, loads and request slots per client, and the smaller hardening (405 Allow,
no-store, password guessing, digest code spans, requeue.txt)."""

from __future__ import annotations

import base64
import threading
from pathlib import Path
from typing import Any

import pytest
from markdown_it import MarkdownIt

from helpers import soup
from lobstr_dash.render import digest
from lobstr_dash.render import requeue
from support import RUN
from support import make_rows

OTHER = "b" * 32
THIRD = "c" * 32


def test_a_page_nested_too_deeply_fails_alone_and_the_run_keeps_every_good_page(
        client: Any, upstream: Any) -> None:
    rows = make_rows(RUN, 300)
    upstream.add_run(RUN, rows)
    deep: Any = "bottom"
    for _ in range(100):
        deep = {"next": deep}
    page_two = [dict(row, params={"url": "x", "deep": deep}) for row in rows[100:200]]
    upstream.rule(run=RUN, page=2, times=None, payload={
        "total_results": 300, "total_pages": 3, "limit": 100, "page": 2, "data": page_two})
    body = client.get(f"/runs/{RUN}/tasks.json").json
    assert body["complete"] is False and body["missing_positions"] == [[101, 200]]
    assert {t["id"] for t in body["tasks"]} == {r["id"] for r in rows[:100] + rows[200:]}
    assert upstream.count(RUN, 2) == 1  # too deep will not change: not asked again
    error = soup(client.get(f"/runs/{RUN}")).select_one("#run-status .banner-error").get_text()
    assert "lobstr kept failing for" in error and "rows 101–200" in error


# -- the store's own failures ---------------------------------------------------------------------


@pytest.mark.sqlite_only
def test_a_full_disk_is_named_as_the_dashboards_not_lobstrs(make_app: Any, upstream: Any) -> None:
    upstream.add_run(RUN, make_rows(RUN, 2000))
    # SQLite's page limit makes the disk full for real, after the schema and a few pages.
    app = make_app(STORE_MAX_PAGES=90)  # the empty schema takes 61 pages (task_keys: 26)
    client = app.test_client()
    page = client.get(f"/runs/{RUN}")
    app.extensions["lobstr_dash"].loader.join(RUN, 30)
    page = client.get(f"/runs/{RUN}")
    text = page.get_data(as_text=True)
    assert page.status_code in (200, 503)
    assert "lobstr could not be read" not in text
    if page.status_code == 200:  # some pages fit: the rest are named as the dashboard's fault
        error = soup(page).select_one("#run-status .banner-error").get_text(" ", strip=True)
        assert "the dashboard could not store" in error
        assert "lobstr kept failing" not in error
    else:
        assert "disk is full" in text
    health = client.get("/healthz")
    assert health.status_code == 503 and health.json["store"] == "full"


@pytest.mark.sqlite_only
def test_a_corrupt_store_is_dropped_and_rebuilt_from_lobstr(make_app: Any, upstream: Any,
                                                           tmp_path: Path) -> None:
    upstream.add_run(RUN, make_rows(RUN, 150))
    app = make_app()
    client = app.test_client()
    assert client.get(f"/runs/{RUN}/tasks.json").json["complete"] is True
    store = app.extensions["lobstr_dash"].store
    store.close()
    store.path.write_bytes(b"this is not a database at all" * 1000)
    for suffix in ("-wal", "-shm"):
        Path(str(store.path) + suffix).unlink(missing_ok=True)
    store.db.epoch += 1  # this process's other connections notice within a second anyway
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json["store"] == "rebuilt"
    again = client.get(f"/runs/{RUN}/tasks.json")
    assert again.status_code == 200 and len(again.json["tasks"]) == 150
    assert upstream.count(RUN) == 4  # two pages, then both again after the rebuild


def test_a_store_corrupt_at_start_up_is_rebuilt(make_app: Any, upstream: Any,
                                               tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(parents=True, exist_ok=True)
    (data / "lobstr-dash.sqlite3").write_bytes(b"\x00garbage" * 4096)
    upstream.add_run(RUN, make_rows(RUN, 20))
    client = make_app().test_client()
    health = client.get("/healthz").json
    # Since issue 15 the health answer also carries the store's footprint (retention).
    assert {k: health[k] for k in ("ok", "demo", "store", "runs_held", "evictions")} == {
        "ok": True, "demo": False, "store": "ok", "runs_held": 0, "evictions": 0}
    assert len(client.get(f"/runs/{RUN}/tasks.json").json["tasks"]) == 20


# -- back-off, negative cache, pruning ------------------------------------------------------------


def test_an_unknown_run_is_asked_once_then_cached_for_minutes_then_pruned(
        make_app: Any, upstream: Any, fake_clock: Any) -> None:
    app = make_app(CLOCK=fake_clock)
    client = app.test_client()
    for _ in range(5):
        assert client.get(f"/runs/{RUN}").status_code == 404
        assert client.get(f"/runs/{RUN}/tasks.csv").status_code == 404
    assert upstream.count(RUN) == 1
    assert upstream.requests("run") + upstream.requests("stats") <= 2
    fake_clock.advance(301)
    assert client.get(f"/runs/{RUN}").status_code == 404
    assert upstream.count(RUN) == 2
    store = app.extensions["lobstr_dash"].store
    fake_clock.advance(301)
    upstream.add_run(OTHER, make_rows(OTHER, 3))
    assert client.get(f"/runs/{OTHER}").status_code == 200  # a new run's visit prunes
    assert store.run_state(RUN) is None and store.run_state(OTHER) is not None


def test_a_failed_load_backs_off_doubling_and_the_retry_button_skips_the_wait(
        make_app: Any, upstream: Any, fake_clock: Any) -> None:
    upstream.add_run(RUN, make_rows(RUN, 5))
    upstream.fail(RUN, 1, 500, times=0)
    client = make_app(CLOCK=fake_clock, LOBSTR_MAX_ATTEMPTS=1).test_client()
    refused = client.get(f"/runs/{RUN}")
    assert refused.status_code == 503
    for _ in range(3):
        assert client.get(f"/runs/{RUN}").status_code == 503
    assert upstream.count(RUN, 1) == 1
    fake_clock.advance(31)
    client.get(f"/runs/{RUN}")
    assert upstream.count(RUN, 1) == 2
    fake_clock.advance(31)  # the second failure waits 60 s
    client.get(f"/runs/{RUN}")
    assert upstream.count(RUN, 1) == 2
    answer = client.get(f"/runs/{RUN}/tasks.json")
    assert answer.status_code == 503 and int(answer.headers["Retry-After"]) >= 25
    upstream.state.faults.clear()
    assert client.post(f"/runs/{RUN}/refresh").status_code == 303
    assert len(client.get(f"/runs/{RUN}/tasks.json").json["tasks"]) == 5


# -- loads in flight and request slots ------------------------------------------------------------


def test_one_client_gets_only_its_share_of_loads_and_others_are_not_slowed(
        make_app: Any, upstream: Any) -> None:
    for run in (RUN, OTHER, THIRD):
        upstream.add_run(run, make_rows(run, 5))
    app = make_app(LOADS_PER_CLIENT=1, LOAD_WAIT_SECONDS=0.1)
    upstream.gate = threading.Event()
    try:
        first = app.test_client().get(f"/runs/{RUN}", environ_base={"REMOTE_ADDR": "10.0.0.1"})
        second = app.test_client().get(f"/runs/{OTHER}", environ_base={"REMOTE_ADDR": "10.0.0.1"})
        teammate = app.test_client().get(f"/runs/{THIRD}",
                                         environ_base={"REMOTE_ADDR": "10.0.0.2"})
    finally:
        upstream.gate.set()
    assert first.status_code == 200 and teammate.status_code == 200
    assert second.status_code == 503 and second.headers["Retry-After"] == "5"
    assert "the most one visitor may load at once" in second.get_data(as_text=True)
    assert upstream.count(OTHER) == 0


def test_past_the_request_slots_a_visitor_call_fails_fast(make_app: Any, upstream: Any) -> None:
    upstream.add_run(RUN, make_rows(RUN, 5))
    app = make_app(LOBSTR_REQUEST_SLOTS=1)
    arrived, release = threading.Event(), threading.Event()

    def hold(run: str | None, page: int | None) -> None:
        arrived.set()
        release.wait(10)

    upstream.before_page = hold
    results: list[int] = []
    holder = threading.Thread(target=lambda: results.append(app.test_client().get(
        f"/api/v1/runtasks?run={RUN}&page=1&limit=10").status_code))
    holder.start()
    try:
        assert arrived.wait(10)
        refused = app.test_client().get(f"/api/v1/runtasks?run={RUN}&page=1&limit=10")
    finally:
        release.set()
        holder.join(10)
    assert refused.status_code == 503 and refused.json["kind"] == "busy"
    assert refused.headers["Retry-After"] == "5"
    assert results == [200]
    assert upstream.count(RUN) == 1  # the refused call never reached lobstr


# -- smaller hardening ----------------------------------------------------------------------------


def test_a_405_says_which_methods_are_allowed(client: Any) -> None:
    answer = client.delete(f"/runs/{RUN}/tasks.csv")
    assert answer.status_code == 405
    assert set(answer.headers["Allow"].split(", ")) == {"GET", "HEAD", "OPTIONS"}


ALICE_PASSWORD = "correct horse battery"


@pytest.fixture
def team(make_app: Any, upstream: Any) -> Any:
    from werkzeug.security import generate_password_hash

    alice = generate_password_hash(ALICE_PASSWORD, method="pbkdf2:sha256:1000")
    bob = generate_password_hash("bob's password!", method="pbkdf2:sha256:1000")
    upstream.add_run(RUN, make_rows(RUN, 3))
    return make_app(AUTH_USERS=f"alice:{alice},bob:{bob}")


def basic(name: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{name}:{password}".encode()).decode()}


def test_signed_in_answers_are_never_cached_but_static_files_may_be(team: Any) -> None:
    client = team.test_client()
    for path in ("/", f"/runs/{RUN}", f"/runs/{RUN}/tasks.csv", "/no/such/page"):
        answer = client.get(path, headers=basic("alice", ALICE_PASSWORD))
        assert answer.headers["Cache-Control"] == "no-store", path
    static = client.get("/static/app.css", headers=basic("alice", ALICE_PASSWORD))
    assert static.headers.get("Cache-Control") != "no-store"


def test_password_guesses_are_throttled_per_address_and_per_name(team: Any) -> None:
    client = team.test_client()
    mallory = {"REMOTE_ADDR": "198.51.100.66"}
    codes = [client.get("/", headers=basic("alice", f"guess {i}"), environ_base=mallory).status_code
             for i in range(12)]
    assert codes[:10] == [401] * 10 and codes[10:] == [429, 429]
    refused = client.get("/", headers=basic("bob", "another guess"), environ_base=mallory)
    assert refused.status_code == 429 and int(refused.headers["Retry-After"]) >= 1
    # Bob, elsewhere, is not slowed; Alice's name is locked for new sign-ins from anywhere.
    assert client.get("/", headers=basic("bob", "bob's password!"),
                      environ_base={"REMOTE_ADDR": "203.0.113.5"}).status_code == 200
    assert client.get("/", headers=basic("alice", ALICE_PASSWORD),
                      environ_base={"REMOTE_ADDR": "203.0.113.7"}).status_code == 429


def test_a_browser_already_signed_in_keeps_working_while_its_name_is_locked(team: Any) -> None:
    client = team.test_client()
    home = {"REMOTE_ADDR": "203.0.113.7"}
    assert client.get("/", headers=basic("alice", ALICE_PASSWORD), environ_base=home).status_code == 200
    for i in range(12):
        client.get("/", headers=basic("alice", f"guess {i}"),
                   environ_base={"REMOTE_ADDR": f"198.51.100.{i}"})
    assert client.get("/", headers=basic("alice", ALICE_PASSWORD), environ_base=home).status_code == 200


@pytest.mark.parametrize("text", ["a``b", "```", "x ` y `` z ```` w", "`[evil](https://evil.test)`",
                                  "``[x](https://evil.test)``", "a\nb`"])
def test_a_code_span_cannot_be_broken_out_of(text: str) -> None:
    rendered = MarkdownIt("commonmark").render(digest.md_code(text))
    assert "<a " not in rendered
    assert rendered.count("<code>") == 1 and rendered.strip().startswith("<p><code>")


def test_requeue_txt_lines_are_neutralised_like_csv_cells() -> None:
    lines = list(requeue.url_lines(["=HYPERLINK(\"https://evil.test\")", "+1", "https://ok.test/",
                                    "@SUM(A1)", "'quoted"]))
    assert lines == ["'=HYPERLINK(\"https://evil.test\")\n", "'+1\n", "https://ok.test/\n",
                     "'@SUM(A1)\n", "''quoted\n"]
