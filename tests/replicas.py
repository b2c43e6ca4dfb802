"""Dashboard replicas as real processes: gunicorn (as in the image) with its own DATA_DIR, sharing
a DATABASE_URL, against a fake lobstr on a loopback port."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from alertkit import free_port

ROOT = Path(__file__).resolve().parent.parent
TOKEN = "replica-token-7c1d"
#: Settings of the tests' machine that must not leak into a replica.
_SCRUB = ("PROMETHEUS_MULTIPROC_DIR", "LOBSTR_TOKEN", "LOBSTR_API_KEY", "URL_PREFIX", "AUTH_USERS",
          "AUTH_USERS_FILE", "AUTH_PROXY_HEADER", "DATABASE_URL", "TEST_ENGINE")


def http_get(url: str, timeout: float = 60.0) -> bytes:
    """GET over a new connection."""
    with urllib.request.urlopen(url, timeout=timeout) as response:  # noqa: S310 (loopback URL)
        return response.read()  # type: ignore[no-any-return]


def tasks_json(base: str, run_id: str) -> dict[str, Any]:
    """A run's tasks.json (it waits for the load, up to EXPORT_WAIT_SECONDS)."""
    return json.loads(http_get(f"{base}/runs/{run_id}/tasks.json"))  # type: ignore[no-any-return]


class Replica:
    """One dashboard: a gunicorn master and its workers in a process group of their own."""

    def __init__(self, name: str, data_dir: Path, database_url: str, api_base: str,
                 **settings: str) -> None:
        self.name, self.data_dir = name, data_dir
        self.env = {k: v for k, v in os.environ.items() if k not in _SCRUB}
        self.env.update(DATA_DIR=str(data_dir), DATABASE_URL=database_url, LOBSTR_TOKEN=TOKEN,
                        LOBSTR_API_BASE=api_base, WEB_CONCURRENCY="1", GUNICORN_THREADS="16",
                        EXPORT_WAIT_SECONDS="60", LOG_LEVEL="warning", **settings)
        self.process: subprocess.Popen[bytes] | None = None
        self.base = ""

    def start(self) -> Replica:
        """Start it and wait until /healthz answers."""
        port = free_port()
        self.base = f"http://127.0.0.1:{port}"
        self.data_dir.mkdir(parents=True, exist_ok=True)
        log = (self.data_dir / f"{self.name}.log").open("ab")
        self.process = subprocess.Popen(
            [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "--bind",
             f"127.0.0.1:{port}", "app:app"], cwd=ROOT, env=self.env, stdout=log,
            stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.monotonic() + 60
        while True:
            try:
                http_get(self.base + "/healthz", timeout=5)
                return self
            except OSError:
                if time.monotonic() > deadline or self.process.poll() is not None:
                    raise AssertionError(self.log()) from None
                time.sleep(0.1)

    def log(self) -> str:
        """What it wrote so far."""
        return (self.data_dir / f"{self.name}.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop it gracefully (SIGTERM), as a rolling deploy does."""
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(30)

    def kill(self) -> None:
        """Kill the master and every worker at once (SIGKILL), as a lost node does."""
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait(30)
