"""Start, stop and kill the dashboard under gunicorn (as the image runs it) on a loopback port."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
#: Settings of the caller's own environment that must not leak into the server under test.
_DROPPED = re.compile(r"^(LOBSTR_|DATA_DIR$|BIND$|PORT$|LOAD_WAIT|EXPORT_WAIT|LIVE_REFRESH|"
                      r"WEB_CONCURRENCY$|GUNICORN_|DEMO_|AUTH_|URL_PREFIX$|PROXY_FIX$|"
                      r"PROMETHEUS_MULTIPROC_DIR$|LOBSTR_DASH_|ALERT_|WATCH_|PUBLIC_URL$|"
                      r"SECRET_KEY$)")


def free_port() -> int:
    """A loopback port nobody listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def worker_pids(master: int) -> list[int]:
    """Pids of a gunicorn master's workers (its children), from /proc."""
    path = Path(f"/proc/{master}/task/{master}/children")
    try:
        return [int(pid) for pid in path.read_text().split()]
    except OSError:
        return []


def has_file_open(pid: int, path: Path) -> bool:
    """True when a process holds `path` open: a worker has built its app once it opened the store."""
    try:
        links = [os.readlink(fd) for fd in Path(f"/proc/{pid}/fd").iterdir()]
    except OSError:
        return False
    return str(path) in links


@dataclass
class Gunicorn:
    """gunicorn with the repository's gunicorn.conf.py and `app:app`, in its own process group."""

    proc: subprocess.Popen[bytes]
    port: int
    data_dir: Path
    log_path: Path

    @property
    def url(self) -> str:
        """Base URL of the dashboard."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def store_path(self) -> Path:
        """The SQLite file the dashboard writes."""
        return self.data_dir / "lobstr-dash.sqlite3"

    def workers(self) -> list[int]:
        """Pids of the gunicorn workers (children of the master)."""
        return worker_pids(self.proc.pid)

    def wait_ready(self, workers: int, timeout: float = 30.0) -> None:
        """Wait until /healthz answers and every worker has built its app (opened the store)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"gunicorn exited with {self.proc.returncode}: {self.log()}")
            try:
                healthy = requests.get(f"{self.url}/healthz", timeout=1.0).status_code == 200
            except requests.RequestException:
                healthy = False
            pids = self.workers()
            if healthy and len(pids) >= workers and all(map(self._has_store_open, pids)):
                return
            time.sleep(0.05)
        self.kill()
        raise TimeoutError(f"gunicorn did not get ready in {timeout:.0f}s: {self.log()}")

    def _has_store_open(self, pid: int) -> bool:
        return has_file_open(pid, self.store_path)

    def log(self) -> str:
        """The last lines gunicorn and the app wrote."""
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-30:])
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the master and every worker at once, as a container runtime's kill does."""
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        """Graceful shutdown (SIGTERM to the master, as `docker stop` sends), then kill."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                self.kill()


def start_gunicorn(data_dir: Path, env: Mapping[str, str], *, workers: int = 2,
                   log_dir: Path | None = None) -> Gunicorn:
    """Start `gunicorn -c gunicorn.conf.py app:app` on a free loopback port; `env` configures it.

    The server gets a process group of its own, so kill() takes its workers down with it, and a
    metrics directory inside `data_dir`, so a killed server leaves nothing in /tmp.
    """
    port = free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    metrics_dir = data_dir / "metrics"
    full_env = {k: v for k, v in os.environ.items() if not _DROPPED.match(k)}
    full_env.update({"BIND": f"127.0.0.1:{port}", "DATA_DIR": str(data_dir),
                     "PROMETHEUS_MULTIPROC_DIR": str(metrics_dir), "LOG_LEVEL": "warning",
                     "WEB_CONCURRENCY": str(workers)})
    full_env.update(env)
    log_path = (log_dir or data_dir) / f"gunicorn-{port}.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([str(BIN / "gunicorn"), "-c", "gunicorn.conf.py", "app:app"],  # noqa: S603
                                cwd=REPO, stdout=log, stderr=subprocess.STDOUT, env=full_env,
                                start_new_session=True)
    server = Gunicorn(proc, port, data_dir, log_path)
    server.wait_ready(workers)
    return server
