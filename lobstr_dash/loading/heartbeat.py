"""A process's heartbeat in the shared store, so replicas on other hosts see it stop at once.

On one host a dead loader is seen through its pid (owners.py). Across hosts (replicas sharing
PostgreSQL) each process renews a lease named for it every BEAT_SECONDS; a load whose owner's
beat has lapsed is taken over without waiting for the load's own lease (LOAD_LEASE_SECONDS).
"""

from __future__ import annotations

import logging
import os
import socket
import threading
from typing import Any

log = logging.getLogger(__name__)

#: How often a process beats; a beat stays valid for BEAT_TTL (three beats missed: dead).
BEAT_SECONDS = 5.0
BEAT_TTL = 20.0


def beat_name(host: str, pid: int | str) -> str:
    """The lease name of a process's heartbeat."""
    return f"beat:{host}:{pid}"


class Heartbeat:
    """Beats for this process in a daemon thread; tells whether another process's beat lapsed."""

    def __init__(self, store: Any, interval: float = BEAT_SECONDS, ttl: float = BEAT_TTL) -> None:
        self.store, self.interval, self.ttl = store, interval, ttl
        self.name = beat_name(socket.gethostname(), os.getpid())
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0

    def ensure_running(self) -> None:
        """Start beating (again after a fork: gunicorn builds the app before its workers fork)."""
        if self._pid == os.getpid() and self._thread is not None and self._thread.is_alive():
            return
        self._pid = os.getpid()
        self.name = beat_name(socket.gethostname(), self._pid)
        self.beat()
        self._thread = threading.Thread(target=self._run, name="heartbeat", daemon=True)
        self._thread.start()

    def beat(self) -> None:
        """Renew this process's beat now."""
        self.store.take_lease(self.name, self.name, self.ttl)

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                self.beat()
            except Exception as exc:  # noqa: BLE001 - a store away now may be back at the next beat
                if getattr(getattr(self.store, "db", None), "pool", None) is not None and \
                        self.store.db.pool.closed:
                    return  # the store was shut down
                log.warning("heartbeat not written: %s", exc)

    def lapsed(self, host: str, pid: str) -> bool:
        """True when that process beat once and has stopped beating."""
        return bool(self.store.lease_lapsed(beat_name(host, pid)))

    def stop(self) -> None:
        """Stop beating (tests)."""
        self._stop.set()
