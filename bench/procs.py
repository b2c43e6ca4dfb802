"""Start and stop the fake lobstr API and the dashboard (gunicorn) as real subprocesses."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests

# The environment filter drops everything that configures a dashboard (auth, prefix…), so a
# developer's own settings never reach the server under test.
from loadtest.servers import _DROPPED
from loadtest.servers import BIN
from loadtest.servers import REPO
from loadtest.servers import free_port
from loadtest.servers import has_file_open
from loadtest.servers import worker_pids

TOKEN = "bench-token"
#: gunicorn's access log format of the repository, plus the worker's pid.
ACCESS_LOG_FORMAT = '%(p)s "%(m)s %(U)s" %(s)s %(B)s %(M)sms'
#: A request line in gunicorn's access log (`<pid> "GET /path" 200`) or in a logging line
#: (`[pid] [INFO] lobstr_dash.request: GET /path 200`): the pid, then method, path and status.
_PID = re.compile(r"[<\[](\d+)[>\]]")
_REQUEST = re.compile(r'"?\b(GET|POST|HEAD) (/[^\s"?]*)\S*"? (\d{3})\b')
def wait_http(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    """Poll `url` until it answers 200; raise if the process dies or time runs out."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"process exited with {proc.returncode} before {url} answered")
        try:
            if requests.get(url, timeout=1.0).status_code == 200:
                return
        except requests.RequestException:
            pass
        time.sleep(0.05)
    raise TimeoutError(f"{url} did not answer within {timeout:.0f}s")


def _stop(proc: subprocess.Popen[bytes], sig: int) -> None:
    """Send `sig` to a process we started, then kill it if it lingers."""
    if proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=15)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=5)


@dataclass
class FakeServer:
    """`python -m lobstr_dash.fake` on a free loopback port."""

    proc: subprocess.Popen[bytes]
    port: int

    @property
    def api_base(self) -> str:
        """The `/v1` base URL a client is pointed at."""
        return f"http://127.0.0.1:{self.port}/v1"

    def stats(self) -> dict[str, Any]:
        """The fake's request counts (GET /_fake/stats)."""
        answer = requests.get(f"http://127.0.0.1:{self.port}/_fake/stats", timeout=10)
        answer.raise_for_status()
        return dict(answer.json())

    def run_requests(self, run_id: str) -> dict[str, int]:
        """Requests, 429s and distinct pages answered so far for one run."""
        empty = {"requests": 0, "page_requests": 0, "throttled": 0, "pages_ok": 0}
        return dict(self.stats()["runs"].get(run_id, empty))

    def stop(self) -> None:
        """Interrupt the fake (it shuts down cleanly on SIGINT)."""
        _stop(self.proc, signal.SIGINT)


def start_fake(workdir: Path, runs: Mapping[str, int], *, latency_ms: int = 0,
               rate_limit: int = 0, rate_window: float = 60.0) -> FakeServer:
    """Start the fake with synthetic `runs` (id → task count); any token is accepted."""
    port = free_port()
    args = [sys.executable, "-m", "lobstr_dash.fake", "--port", str(port), "--any-token",
            "--latency-ms", str(latency_ms), "--rate-limit", str(rate_limit),
            "--rate-window", str(rate_window)]
    for run_id, count in runs.items():
        args += ["--run", f"{run_id}={count}"]
    log = (workdir / f"fake-{port}.log").open("wb")
    proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    server = FakeServer(proc, port)
    try:
        wait_http(f"http://127.0.0.1:{port}/_fake/stats", proc)
    except BaseException:
        server.stop()
        raise
    return server


@dataclass
class Dashboard:
    """The dashboard under gunicorn with the repository's gunicorn.conf.py, on a free port."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path
    workers: list[int] = field(default_factory=list)
    #: Set when the dashboard's store is PostgreSQL (DATABASE_URL): no SQLite file to watch.
    database_url: str | None = None

    @property
    def url(self) -> str:
        """Base URL of the dashboard."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_path(self) -> Path:
        """The SQLite file the dashboard writes."""
        return self.data_dir / "lobstr-dash.sqlite3"

    def children(self) -> list[int]:
        """Pids of the gunicorn workers (children of the master)."""
        return worker_pids(self.proc.pid)

    def memory_kib(self) -> dict[int, dict[str, int]]:
        """VmHWM (peak) and VmRSS of the master and each worker, in KiB."""
        found: dict[int, dict[str, int]] = {}
        for pid in [self.proc.pid, *self.workers]:
            try:
                text = Path(f"/proc/{pid}/status").read_text()
            except OSError:
                continue
            values = dict(line.split(":", 1) for line in text.splitlines() if ":" in line)
            found[pid] = {key: int(values[key].split()[0]) for key in ("VmHWM", "VmRSS")}
        return found

    def access_log(self) -> list[tuple[int, str, str, int]]:
        """(worker pid, method, path, status) of every request line logged so far."""
        entries = []
        workers = set(self.workers)
        for line in self.log_path.read_text(errors="replace").splitlines():
            pids = [int(pid) for pid in _PID.findall(line) if int(pid) in workers]
            request = _REQUEST.search(line)
            if pids and request:
                entries.append((pids[0], request[1], request[2], int(request[3])))
        return entries

    def has_store_open(self, pid: int) -> bool:
        """True once a worker has built its app (create_app opens the SQLite store); with
        PostgreSQL, as soon as the worker exists."""
        return self.database_url is not None or has_file_open(pid, self.store_path)

    def stop(self) -> None:
        """Quick shutdown of the master and its workers (SIGINT)."""
        _stop(self.proc, signal.SIGINT)


def _dashboard_env(api_base: str, data_dir: Path, port: int,
                   overrides: Mapping[str, str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not _DROPPED.match(k)}
    env.update({"BIND": f"127.0.0.1:{port}", "LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": api_base,
                "DATA_DIR": str(data_dir)})
    env.update(overrides)
    return env


def _until_workers_ready(dashboard: Dashboard, timeout: float = 30.0) -> None:
    """Wait until both workers exist and each has built its app (its store is open)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        dashboard.workers = dashboard.children()
        if len(dashboard.workers) >= 2 and all(map(dashboard.has_store_open, dashboard.workers)):
            return
        time.sleep(0.05)
    raise TimeoutError("the gunicorn workers did not start")


def start_dashboard(workdir: Path, api_base: str, *, env: Mapping[str, str] | None = None,
                    config: Mapping[str, Any] | None = None,
                    data_dir: Path | None = None) -> Dashboard:
    """Start gunicorn on an empty store (or on the one in `data_dir`); `config` entries reach
    create_app() directly."""
    port = free_port()
    if data_dir is None:
        data_dir = workdir / f"data-{port}"
        data_dir.mkdir()
    # app:app is what `make run` and the image serve; an explicit config needs the factory form.
    app_spec = f"lobstr_dash:create_app({dict(config)!r})" if config else "app:app"
    # The pid in the access log tells which worker answered (used when gunicorn's log is on).
    args = [str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "--access-logformat",
            ACCESS_LOG_FORMAT, app_spec]
    log_path = workdir / f"dashboard-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(args, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
                                env=_dashboard_env(api_base, data_dir, port, env or {}))
    dashboard = Dashboard(proc, port, data_dir, log_path,
                          database_url=(env or {}).get("DATABASE_URL"))
    try:
        wait_http(f"{dashboard.url}/healthz", proc)
        _until_workers_ready(dashboard)
    except BaseException:
        dashboard.stop()
        raise
    return dashboard
