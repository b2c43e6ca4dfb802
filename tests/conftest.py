"""Shared fixtures: an app against a mocked lobstr (see support.py for the mock itself)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests_mock as requests_mock_module
from flask import Flask

from lobstr_dash import create_app
from support import API
from support import TOKEN
from support import MockUpstream


@pytest.fixture
def upstream(requests_mock: requests_mock_module.Mocker) -> MockUpstream:
    """The mocked lobstr API."""
    return MockUpstream(requests_mock)


@pytest.fixture
def make_app(tmp_path: Any) -> Iterator[Callable[..., Flask]]:
    """Build apps against the mocked lobstr; every app of a test shares one data directory."""
    apps: list[Flask] = []

    def make(**overrides: Any) -> Flask:
        config = {
            "LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": API, "DATA_DIR": str(tmp_path / "data"),
            "LOAD_WAIT_SECONDS": 10.0, "EXPORT_WAIT_SECONDS": 10.0, "LOBSTR_BACKOFF_BASE": 0.001,
            "LOBSTR_RETRY_BUDGET": 5.0, "LOBSTR_MAX_RETRY_AFTER": 2.0,
        }
        config.update(overrides)
        app = create_app(config)
        apps.append(app)
        return app

    yield make
    for app in apps:
        loader = app.extensions["lobstr_dash"].loader
        for run_id in list(loader._threads):
            loader.join(run_id, 10)


@pytest.fixture
def app(make_app: Callable[..., Flask]) -> Flask:
    """One app against the mocked lobstr."""
    return make_app()


@pytest.fixture
def client(app: Flask) -> Any:
    """A test client of that app."""
    return app.test_client()
