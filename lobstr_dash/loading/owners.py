"""Who holds a lease (`host:pid:token` owners), and whether a holder on this host stopped."""

from __future__ import annotations

import os
import socket
import uuid
from pathlib import Path


def new_owner() -> str:
    """A lease owner unique to this process (and to this start of it)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"


def _is_zombie(pid: int) -> bool:
    """True when a process has ended but was not reaped yet (Linux /proc; False elsewhere)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    # "pid (command) state ...": the command may hold spaces and parentheses.
    return stat.rpartition(")")[2].split()[:1] == ["Z"]


def process_is_dead(pid: int) -> bool:
    """True when no process `pid` runs on this host (or only its zombie is left)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except (PermissionError, OverflowError):
        return False
    # A killed process stays a zombie until its parent (or init) reaps it: dead all the same.
    return _is_zombie(pid)


class OwnerCheck:
    """Tells whether another owner surely stopped: same host, and its process is gone.

    An owner with this process's pid but another token is a previous start of a container that
    got the same pid. Owners on other hosts cannot be checked: only their lease running out can.
    """

    def __init__(self, me: str) -> None:
        self.me = me
        self.host = me.split(":", 1)[0]

    def __call__(self, owner: str) -> bool:
        host, _, rest = owner.partition(":")
        pid_text = rest.partition(":")[0]
        if host != self.host or not pid_text.isascii() or not pid_text.isdigit():
            return False
        pid = int(pid_text)
        if pid == os.getpid():
            return owner != self.me
        return process_is_dead(pid)
