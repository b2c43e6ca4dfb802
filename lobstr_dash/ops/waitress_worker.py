"""A gunicorn worker that serves with waitress, so a slow client never holds a thread.

gunicorn's threaded worker gives each connection a thread while it reads the request and while it
writes the answer: 16 clients that send headers slowly, or never read a download, stop the server.
waitress reads each request whole in its event loop before a thread sees it, and buffers each
answer (in memory, then in a temporary file) for the loop to send: threads only run the app.
gunicorn stays the process manager (workers, restarts, timeouts, signals, the shared metrics).

On top of waitress's own limits the loop also closes a connection that has taken longer than
REQUEST_READ_SECONDS to send one request (a drip-fed header), and one whose answer has waited
SEND_STALL_SECONDS for the client to read anything (so not even a huge export holds a thread).
"""

from __future__ import annotations

import os
import time
from typing import Any

from gunicorn.workers.base import Worker
from waitress import wasyncore
from waitress.server import create_server

#: The longest a client may take to send one request (headers and body) before it is dropped.
REQUEST_READ_SECONDS = 30.0
#: The longest an answer may wait on a client that reads nothing before the connection is closed.
SEND_STALL_SECONDS = 60.0
#: waitress's settings, each with why (see waitress's Adjustments for their meaning).
ADJUSTMENTS: dict[str, Any] = {
    # ProxyFix (PROXY_FIX) decides which X-Forwarded-* headers count; waitress must pass them on.
    "clear_untrusted_proxy_headers": False,
    # 64 slow clients and more fit; each costs a socket and a buffer, never a thread. poll()
    # instead of select(), which stops at 1,024 file descriptors.
    "connection_limit": 500,
    "asyncore_use_poll": True,
    # The only request body is the small refresh form.
    "max_request_body_size": 64 * 1024,
    "max_request_header_size": 64 * 1024,
    # An idle keep-alive connection closes after this long (a browser opens another).
    "channel_timeout": 30,
    "cleanup_interval": 5,
    # An answer may be buffered up to this much (past 1 MB in a temporary file) before the app's
    # thread waits for the client: every export of a 100,000-task run fits.
    "outbuf_high_watermark": 256 * 1024 * 1024,
    "ident": "lobstr-dash",
}


class WaitressWorker(Worker):
    """Run waitress on gunicorn's listening sockets, with gunicorn's threads setting."""

    def run(self) -> None:
        """Serve until gunicorn says stop, telling the master we live about once a second."""
        socket_map: dict[int, Any] = {}
        server = create_server(self.wsgi, map=socket_map,
                               sockets=[listener.sock for listener in self.sockets],
                               threads=max(1, self.cfg.threads), **ADJUSTMENTS)
        watch = StallWatch()
        while self.alive:
            self.notify()
            if self.ppid != os.getppid():
                self.log.info("parent changed, shutting down: %s", self)
                break
            wasyncore.loop(timeout=1.0, map=socket_map, use_poll=True, count=1)
            watch.check(socket_map)
        self._drain(server, socket_map)

    def _drain(self, server: Any, socket_map: dict[int, Any]) -> None:
        """Stop accepting, let requests in flight finish (up to graceful_timeout), then stop."""
        for dispatcher in list(socket_map.values()):
            if getattr(dispatcher, "accepting", False):
                dispatcher.accepting = False
                dispatcher.del_channel()
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while time.monotonic() < deadline and any(
                getattr(channel, "requests", None) or getattr(channel, "total_outbufs_len", 0)
                for channel in list(socket_map.values())):
            self.notify()
            wasyncore.loop(timeout=0.2, map=socket_map, use_poll=True, count=1)
        dispatcher = getattr(server, "task_dispatcher", None)
        if dispatcher is not None:
            dispatcher.shutdown(cancel_pending=True, timeout=1)


class StallWatch:
    """Closes connections that dribble a request in, or stall an answer, past their limits."""

    def __init__(self) -> None:
        self._reading: dict[int, tuple[Any, float]] = {}
        self._checked = 0.0

    def check(self, socket_map: dict[int, Any], now: float | None = None) -> None:
        """Look at every connection (at most once a second)."""
        now = time.time() if now is None else now
        if now - self._checked < 1.0:
            return
        self._checked = now
        reading: dict[int, tuple[Any, float]] = {}
        for fileno, channel in list(socket_map.items()):
            if not hasattr(channel, "requests"):
                continue  # the listening socket or the trigger
            partial = getattr(channel, "request", None)
            if partial is not None and not channel.requests:
                seen = self._reading.get(fileno)
                since = seen[1] if seen is not None and seen[0] is partial else now
                reading[fileno] = (partial, since)
                if now - since > REQUEST_READ_SECONDS:
                    channel.handle_close()
                    continue
            if (channel.requests and channel.total_outbufs_len
                    and now - channel.last_activity > SEND_STALL_SECONDS):
                channel.handle_close()  # wakes the app's thread: its next write ends the answer
        self._reading = reading
