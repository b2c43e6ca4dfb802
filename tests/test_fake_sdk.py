"""Fidelity: the official lobstrio SDK reads the fake exactly as in lobstr-api.md section 5."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lobstrio import LobstrClient
from lobstrio.exceptions import APIError, AuthError, NotFoundError, RateLimitError
from lobstrio.pagination import PageIterator

from lobstr_dash.fake import DEMO_RUN_IDS, FakeConfig, create_fake_app, serve_in_thread
from lobstr_dash.fake.__main__ import main as cli_main

ABORTED, MIXED = DEMO_RUN_IDS["aborted"], DEMO_RUN_IDS["mixed"]


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[object, str]]:
    app = create_fake_app(FakeConfig(rate_limit_per_minute=10_000))
    base_url, stop = serve_in_thread(app)
    yield app, base_url
    stop()


@pytest.fixture()
def client(served: tuple[object, str]) -> Iterator[LobstrClient]:
    app, base_url = served
    app.extensions["fake"].reset()
    sdk = LobstrClient(token="demo-token", base_url=base_url)
    yield sdk
    sdk.close()


def expected_ids(app: object, run_id: str) -> list[str]:
    return [row["id"] for row in app.extensions["fake"].catalog.iter_rows(run_id)]


def test_page_iterator_reads_every_runtask(served: tuple[object, str],
                                           client: LobstrClient) -> None:
    app, _ = served
    for run_id in (ABORTED, MIXED):
        rows = list(PageIterator(lambda **p: client._http.get("/runtasks", params=p),
                                 dict, run=run_id, limit=100))
        assert [r["id"] for r in rows] == expected_ids(app, run_id)
        assert all(r["status"] for r in rows)
    assert app.extensions["fake"].count("runtasks", run=MIXED) == 4


def test_runs_tasks_public_method(served: tuple[object, str], client: LobstrClient) -> None:
    app, _ = served
    tasks = client.runs.tasks(ABORTED, limit=100, page=1)
    assert [t.id for t in tasks] == expected_ids(app, ABORTED)[:100]
    last = client.runs.tasks(ABORTED, limit=100, page=3)
    assert [t.id for t in last] == expected_ids(app, ABORTED)[200:]


def test_run_stats_and_lists_parse(client: LobstrClient) -> None:
    run = client.runs.get(ABORTED)
    assert (run.id, run.status, run.done_reason) == (ABORTED, "aborted", "aborted")
    stats = client.runs.stats(ABORTED)
    assert stats.total_tasks == 300 and stats.is_done
    listed = client.runs.list(squid=run.raw["squid"], limit=100)
    assert ABORTED in [r.id for r in listed]
    assert len(client.squids.list()) == 3


def test_sdk_error_classes(served: tuple[object, str], client: LobstrClient) -> None:
    app, base_url = served
    with LobstrClient(token="wrong", base_url=base_url) as bad, pytest.raises(AuthError):
        bad.runs.tasks(ABORTED)
    with pytest.raises(NotFoundError):
        client.runs.tasks("0" * 32)
    with pytest.raises(NotFoundError):
        client.runs.get("0" * 32)
    app.extensions["fake"].faults.append("runtasks:status=429:retry_after=45:times=1")
    with pytest.raises(RateLimitError) as caught:
        client.runs.tasks(ABORTED)
    assert caught.value.retry_after == "45"
    app.extensions["fake"].faults.append("runtasks:status=500:times=1")
    with pytest.raises(APIError) as failed:
        client.runs.tasks(ABORTED)
    assert failed.value.status_code == 500 and failed.value.message == "Something went wrong"


def test_real_rate_limiter_raises_rate_limit_error() -> None:
    base_url, stop = serve_in_thread(create_fake_app(FakeConfig(rate_limit_per_minute=2)))
    try:
        with LobstrClient(token="demo-token", base_url=base_url) as sdk:
            sdk.runs.tasks(ABORTED)
            sdk.runs.tasks(ABORTED)
            with pytest.raises(RateLimitError) as caught:
                sdk.runs.tasks(ABORTED)
        assert int(caught.value.retry_after) >= 1
        assert caught.value.message.startswith("Request was throttled.")
    finally:
        stop()


def test_cli_refuses_non_loopback_host() -> None:
    assert cli_main(["--host", "0.0.0.0"]) == 2
