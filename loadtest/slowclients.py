"""Clients that stall a server: headers sent a byte at a time, a body that never ends, downloads
that are never read. Each holds one real TCP connection on loopback while `/healthz` is timed.

    with SlowClients(host, port, count=64, download_path="/runs/<id>/tasks.csv"):
        seconds = time_healthz(host, port)
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

KINDS = ("headers", "body", "no_read")


def _connect(host: str, port: int) -> socket.socket:
    sock = socket.create_connection((host, port), timeout=5)
    # A tiny receive window: a client that never reads stops the server's sends at once.
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    return sock


class SlowClients:
    """`count` stalled connections, spread over the kinds above, kept open until closed."""

    def __init__(self, host: str, port: int, count: int = 64, *,
                 download_path: str = "/", drip_seconds: float = 1.0,
                 kinds: tuple[str, ...] = KINDS, extra_headers: str = "") -> None:
        self.host, self.port, self.count = host, port, count
        self.download_path = download_path
        self.drip_seconds = drip_seconds
        self.kinds = kinds
        self.extra_headers = extra_headers
        self.sockets: list[tuple[str, socket.socket]] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.opened = 0

    def __enter__(self) -> SlowClients:
        for index in range(self.count):
            kind = self.kinds[index % len(self.kinds)]
            sock = _connect(self.host, self.port)
            if kind == "headers":
                sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
            elif kind == "body":
                sock.sendall(b"POST /runs/" + b"a" * 32 + b"/refresh HTTP/1.1\r\nHost: x\r\n"
                             + self.extra_headers.encode()
                             + b"Content-Type: application/x-www-form-urlencoded\r\n"
                             b"Content-Length: 60000\r\n\r\nonly_failed=")
            else:
                sock.sendall(f"GET {self.download_path} HTTP/1.1\r\nHost: x\r\n"
                             f"{self.extra_headers}\r\n".encode())
            self.sockets.append((kind, sock))
        self.opened = len(self.sockets)
        self._thread = threading.Thread(target=self._drip, daemon=True)
        self._thread.start()
        return self

    def _drip(self) -> None:
        """One more byte on each dripping connection every `drip_seconds`, never the end."""
        while not self._stop.wait(self.drip_seconds):
            for kind, sock in self.sockets:
                try:
                    if kind == "headers":
                        sock.send(b"X")
                    elif kind == "body":
                        sock.send(b"1")
                except OSError:
                    pass  # the server closed it: what a careful server does

    def alive(self) -> int:
        """How many of the connections the server still holds open."""
        count = 0
        for _, sock in self.sockets:
            try:
                sock.setblocking(False)
                data = sock.recv(1, socket.MSG_PEEK)
                count += 1 if data else 0
            except BlockingIOError:
                count += 1
            except OSError:
                pass
            finally:
                sock.setblocking(True)
        return count

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(5)
        for _, sock in self.sockets:
            sock.close()


def time_healthz(host: str, port: int, timeout: float = 10.0, path: str = "/healthz") -> float:
    """Seconds for one fresh GET of /healthz to answer 200 in full (inf when it does not)."""
    started = time.monotonic()
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
            data = b""
            while chunk := sock.recv(65536):
                data += chunk
    except OSError:
        return float("inf")
    if not data.startswith(b"HTTP/1.1 200"):
        return float("inf")
    return time.monotonic() - started


@contextmanager
def stalled(host: str, port: int, count: int, **options: object) -> Iterator[SlowClients]:
    """`SlowClients` as a context manager function."""
    with SlowClients(host, port, count, **options) as clients:  # type: ignore[arg-type]
        yield clients
