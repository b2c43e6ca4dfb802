"""Shared fixtures: every test's lobstr is the real fake (lobstr_dash.fake), from one factory.

`upstream` is that fake, answering in-process; `make_app` builds dashboards against it; `fake_lobstr`
builds more fakes (other tokens, latency, faults, a fake clock); `served_fake` puts one on a
loopback port for the tests that need real HTTP. requests_mock is kept for the client tests about
one exact HTTP answer.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
import os
from typing import Any

import pytest
from flask import Flask

from lobstr_dash import create_app
from alertkit import JsonSink
from support import FakeLobstr
from support import dashboard_config
from pgcluster import Cluster
from pgcluster import bin_dir


class FakeClock:
    """A wall clock tests move by hand: `clock()` reads it, `clock.advance(s)` moves it."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds

    def sleep(self, seconds: float) -> None:
        """What a sleeper on this clock does: the time passes at once."""
        self.now += max(0.0, seconds)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock to hand to a dashboard (`CLOCK`) or a fake (`clock=`)."""
    return FakeClock()


@pytest.fixture
def fake_lobstr() -> Callable[..., FakeLobstr]:
    """Build fake lobstr APIs: fake_lobstr(tokens=…, latency_ms=…, extra_runs=…, faults=…)."""
    return FakeLobstr


@pytest.fixture
def served_fake() -> Iterator[Callable[..., tuple[FakeLobstr, str]]]:
    """Serve fakes on loopback ports: served_fake(**FakeConfig fields) → (fake, base URL)."""
    stops: list[Any] = []

    def serve(**config: Any) -> tuple[FakeLobstr, str]:
        fake = FakeLobstr(**config)
        served = fake.serve()
        base_url = served.__enter__()
        stops.append(served)
        return fake, base_url

    yield serve
    for served in reversed(stops):
        served.__exit__(None, None, None)


@pytest.fixture
def upstream() -> FakeLobstr:
    """The fake lobstr API the test's dashboards talk to, in-process."""
    return FakeLobstr()


@pytest.fixture
def make_app(tmp_path: Any, upstream: FakeLobstr) -> Iterator[Callable[..., Flask]]:
    """Build dashboards against `upstream`; every app of a test shares one data directory."""
    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        app = create_app(dashboard_config(upstream, str(tmp_path / "data"), **overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        loader = app.extensions["lobstr_dash"].loader
        for run_id in list(loader._threads):
            loader.join(run_id, 10)
    for app in apps:  # PostgreSQL: give the pools' connections back to the cluster
        services = app.extensions["lobstr_dash"]
        if services.store.engine == "postgresql":
            services.store.shutdown()
            services.client.limiter.book.db.shutdown()


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """One app against the fake lobstr."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    """A test client of that app."""
    return app.test_client()


@pytest.fixture
def sink() -> Iterator[JsonSink]:
    """A local HTTP server that receives Apprise's json:// notifications."""
    server = JsonSink()
    yield server
    server.close()


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[Cluster]:
    """A throwaway PostgreSQL cluster for this test process (skipped without the binaries)."""
    bindir = bin_dir()
    if bindir is None:
        pytest.skip("PostgreSQL is not installed (apt-get install postgresql): the PostgreSQL "
                    "variants of the store tests are SKIPPED")
    cluster = Cluster(bindir)
    yield cluster
    cluster.stop()


@pytest.fixture
def pg_url(pg_cluster: Cluster) -> str:
    """The URL of a new empty PostgreSQL database, for one test."""
    return pg_cluster.database()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str | None:
    """Run a test on each engine: None (SQLite under DATA_DIR) or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        return None
    return request.getfixturevalue("pg_url")


#: Modules whose tests run on both engines in `make test` (a representative subset: loading,
#: leases and single flight, run info, the alert outbox); `make test-pg` runs every module on
#: PostgreSQL (the audit log and webhooks too), within make test's time budget it would not fit.
BOTH_ENGINES = {"test_loading", "test_runinfo", "test_alert_outbox"}


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """Run the tests of BOTH_ENGINES once per engine."""
    if ("engine" in metafunc.fixturenames and metafunc.module.__name__ in BOTH_ENGINES
            and os.environ.get("TEST_ENGINE") != "postgresql"):
        metafunc.parametrize("engine", ["sqlite", "postgresql"], indirect=True)


@pytest.fixture
def engine(request: pytest.FixtureRequest) -> str:
    """The store engine of this test: a BOTH_ENGINES parameter, or TEST_ENGINE, or sqlite."""
    return getattr(request, "param", None) or os.environ.get("TEST_ENGINE") or "sqlite"


@pytest.fixture(autouse=True)
def _engine_of_the_test(request: pytest.FixtureRequest, engine: str) -> Iterator[None]:
    """On PostgreSQL, every dashboard (and outbox) the test builds uses a fresh database."""
    import support

    if engine != "postgresql":
        yield
        return
    if request.node.get_closest_marker("sqlite_only"):
        pytest.skip("about the SQLite file itself")
    support.ENGINE_DATABASE_URL = request.getfixturevalue("pg_url")
    try:
        yield
    finally:
        support.ENGINE_DATABASE_URL = None


@pytest.fixture(autouse=True)
def _no_pool_outlives_its_test() -> Iterator[None]:
    """Close the PostgreSQL pools a test opened (their connections go back to the cluster)."""
    yield
    import sys

    pg = sys.modules.get("lobstr_dash.store.pg")
    if pg is not None:
        pg.shutdown_all()
