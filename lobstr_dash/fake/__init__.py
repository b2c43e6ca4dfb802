"""A local fake of the lobstr.io REST API (demo mode, tests, benchmarks)."""

from __future__ import annotations

from lobstr_dash.fake.app import create_fake_app
from lobstr_dash.fake.config import DEFAULT_TOKEN, FakeConfig
from lobstr_dash.fake.catalog import RunCatalog
from lobstr_dash.fake.data import (
    DEMO_RUN_IDS,
    DEMO_RUNS,
    HISTORY_RUN_IDS,
    DemoRun,
    synthetic_run_id,
)
from lobstr_dash.fake.faults import FaultRule, parse_fault
from lobstr_dash.fake.server import serve_in_thread

__all__ = [
    "DEFAULT_TOKEN",
    "DEMO_RUNS",
    "DEMO_RUN_IDS",
    "HISTORY_RUN_IDS",
    "DemoRun",
    "FakeConfig",
    "FaultRule",
    "RunCatalog",
    "create_fake_app",
    "parse_fault",
    "serve_in_thread",
    "synthetic_run_id",
]
