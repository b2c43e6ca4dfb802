"""A hostile lobstr for the tests: a raw-socket HTTP server that lies, drips, floods and redirects.

Unlike the fake API (a well-behaved werkzeug app with faults), this writes bytes on the socket
itself, so it can do what no framework lets an app do: send a body one byte a second, declare a
60 MB body, stream 200,000 rows, answer gzip that inflates a thousandfold. Each connection gets one
answer, chosen by `mode` (see MODES), and is then closed.

    with HostileLobstr("drip") as hostile: ...   # hostile.base_url ends in /v1
"""

from __future__ import annotations

import json
import socket
import threading
import time
import zlib
from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs
from urllib.parse import urlsplit

MODES = {
    "drip": "a valid page, its body sent one byte every `interval` seconds",
    "drip_headers": "the status line and headers sent one byte every `interval` seconds",
    "liar": "claims 10^9 pages (total_results absent); pages 1-3 hold 250 tasks, the rest are empty",
    "liar_404": "the same claim; pages past 3 answer 404",
    "flood": "200,000 rows for any page, streamed without a Content-Length",
    "flood_declared": "a declared Content-Length of 60 MB",
    "redirect": "a 302 to another path of this server",
    "html": "an HTML page (text/html) with a script",
    "json_as_html": "a valid page labelled text/html",
    "deep": "JSON nested 10,000 levels deep",
    "huge_counts": "a page whose counts go past int64 (10^30, 9e18, '1' * 40)",
    "gzip_bomb": "gzip that inflates to about 1 GB",
    "echo_token": "a 401 that echoes the Authorization header in many spellings",
}


def task_row(run: str, index: int, **extra: Any) -> dict[str, Any]:
    """One plausible runtask row."""
    return {"object": "runtask", "id": f"{index + 1:032x}", "task": f"{index + 7:032x}",
            "run": run, "status": "completed", "done_reason": "completed",
            "params": {"url": f"https://www.example.test/place-{index}"},
            "started_at": "2025-02-10T14:30:58Z", "ended_at": "2025-02-10T14:31:10Z",
            "total_results": 100, "last_result": 90, **extra}


class HostileLobstr:
    """Serve one hostile mode on a loopback port; count what it was asked."""

    def __init__(self, mode: str, *, interval: float = 1.0, tasks: int = 250) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; one of {sorted(MODES)}")
        self.mode = mode
        self.interval = interval
        self.tasks = tasks
        self.requests: list[str] = []
        self._bomb = _gzip_bomb() if mode == "gzip_bomb" else b""
        self._lock = threading.Lock()
        self._sock = socket.create_server(("127.0.0.1", 0))
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    @property
    def base_url(self) -> str:
        """The /v1 base URL to point a dashboard at."""
        return f"http://127.0.0.1:{self._sock.getsockname()[1]}/v1"

    def __enter__(self) -> HostileLobstr:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._sock.close()
        self._thread.join(5)

    def count(self, path_part: str = "") -> int:
        """Requests received whose path and query contain `path_part`."""
        with self._lock:
            return sum(1 for r in self.requests if path_part in r)

    def _serve(self) -> None:
        self._sock.settimeout(0.2)
        while not self._stop.is_set():
            try:
                conn, _ = self._sock.accept()
            except OSError:
                continue
            threading.Thread(target=self._answer, args=(conn,), daemon=True).start()

    def _answer(self, conn: socket.socket) -> None:
        with conn:
            try:
                head = self._read_head(conn)
                if head is None:
                    return
                target, headers = head
                with self._lock:
                    self.requests.append(target)
                for chunk in self._respond(target, headers):
                    if self._stop.is_set():
                        return
                    conn.sendall(chunk)
            except OSError:
                return  # the dashboard hung up: what it should do to a hostile server

    @staticmethod
    def _read_head(conn: socket.socket) -> tuple[str, dict[str, str]] | None:
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = conn.recv(65536)
            if not chunk:
                return None
            data += chunk
        lines = data.split(b"\r\n\r\n", 1)[0].decode("latin-1").split("\r\n")
        target = lines[0].split(" ")[1] if len(lines[0].split(" ")) > 1 else "/"
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        return target, headers

    # -- answers ---------------------------------------------------------------------------

    def _respond(self, target: str, headers: dict[str, str]) -> Iterator[bytes]:
        url = urlsplit(target)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        run = query.get("run", "0" * 32)
        page = int(query.get("page", "1") or 1)
        limit = int(query.get("limit", "100") or 100)
        mode = self.mode
        if url.path.endswith("/elsewhere"):
            yield _http(200, json.dumps({"data": [], "followed": True}).encode())
        elif mode in ("drip", "drip_headers"):
            whole = _http(200, json.dumps(self._page(run, page, limit)).encode())
            cut = whole.index(b"\r\n\r\n") + 4 if mode == "drip" else 0
            yield whole[:cut]
            for byte in whole[cut:]:
                time.sleep(self.interval)
                yield bytes([byte])
        elif mode in ("liar", "liar_404"):
            if mode == "liar_404" and page > 3:
                yield _http(404, b'{"detail": "Not found."}')
            else:
                yield _http(200, json.dumps(self._page(run, page, limit, claimed=10**9)).encode())
        elif mode == "flood":
            yield (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n"
                   b'{"total_results": 200000, "total_pages": 1, "limit": 100, "data": [')
            row = json.dumps(task_row(run, 0)).encode()
            batch = b",".join([row] * 1000)
            for index in range(200):
                yield (b"," if index else b"") + batch
            yield b"]}"
        elif mode == "flood_declared":
            yield (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
                   b"Content-Length: 60000000\r\nConnection: close\r\n\r\n")
            for _ in range(60):
                yield b" " * 1_000_000
        elif mode == "redirect":
            yield (b"HTTP/1.1 302 Found\r\nLocation: /v1/elsewhere\r\nContent-Length: 0\r\n"
                   b"Connection: close\r\n\r\n")
        elif mode == "html":
            yield _http(200, b"<html><script>alert(document.domain)</script></html>", "text/html")
        elif mode == "json_as_html":
            yield _http(200, json.dumps(self._page(run, page, limit)).encode(), "text/html")
        elif mode == "deep":
            depth = 10_000
            yield _http(200, b'{"data": ' + b"[" * depth + b"]" * depth + b"}")
        elif mode == "huge_counts":
            rows = [task_row(run, 0, total_results=10**30, last_result=9 * 10**18),
                    task_row(run, 1, total_results=9 * 10**18, last_result=9 * 10**18),
                    task_row(run, 2, total_results="1" * 40, last_result=1e300)]
            body = {"total_results": 10**30, "total_pages": 1, "limit": 100, "data": rows}
            yield _http(200, json.dumps(body).encode())
        elif mode == "gzip_bomb":
            body = self._bomb
            yield (b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip"
                   b"\r\nContent-Length: " + str(len(body)).encode() + b"\r\nConnection: close"
                   b"\r\n\r\n" + body)
        elif mode == "echo_token":
            yield _http(401, _echo(headers.get("authorization", "")).encode(), "text/plain")

    def _page(self, run: str, page: int, limit: int, claimed: int | None = None) -> dict[str, Any]:
        first = (page - 1) * limit
        rows = [task_row(run, i) for i in range(first, min(first + limit, self.tasks))]
        body: dict[str, Any] = {"limit": limit, "page": page, "data": rows}
        if claimed is None:
            body.update(total_results=self.tasks, total_pages=-(-self.tasks // limit))
        else:
            body.update(total_pages=claimed)
        return body


def _gzip_bomb(size: int = 1024 ** 3) -> bytes:
    """gzip of `size` spaces (about 1 MB), made a megabyte at a time."""
    packer = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = b" " * (1024 * 1024)
    return b"".join([*(packer.compress(block) for _ in range(size // len(block))),
                     packer.flush()])


def _http(status: int, body: bytes, content_type: str = "application/json") -> bytes:
    reason = {200: "OK", 302: "Found", 401: "Unauthorized", 404: "Not Found"}.get(status, "X")
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


def _echo(authorization: str) -> str:
    """The header's token echoed upper-cased, percent-encoded, JSON-escaped and in base64."""
    import base64
    from urllib.parse import quote

    token = authorization.partition(" ")[2]
    escaped = "".join("\\u" + format(ord(c), "04x") for c in token)
    return "\n".join([
        f"your header: {authorization}", f"upper: {token.upper()}",
        f"percent: {quote(token, safe='')}", f"all percent: {''.join(f'%{b:02X}' for b in token.encode())}",
        f"json: {escaped}",
        f"base64: {base64.b64encode(authorization.encode()).decode()}",
    ])
