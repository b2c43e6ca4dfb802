"""Whether the process that owns a load is gone (then its run is taken over at once)."""

from __future__ import annotations

import os
from pathlib import Path


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
