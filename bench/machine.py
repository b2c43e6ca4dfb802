"""Describe the machine the figures come from (no host names, no paths)."""

from __future__ import annotations

import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path


def cpu_model() -> str:
    """The CPU's model name, as /proc/cpuinfo gives it."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def _memory_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return None


def describe() -> dict[str, str]:
    """Date, CPU, cores, memory, OS, Python and load average, as display strings."""
    memory = _memory_gib()
    load = os.getloadavg() if hasattr(os, "getloadavg") else None
    return {
        "date": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "cpu": cpu_model(),
        "cores": str(os.cpu_count() or "?"),
        "memory": f"{memory:.1f} GiB" if memory else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "python": platform.python_version(),
        "load average at start": " / ".join(f"{x:.2f}" for x in load) if load else "n/a",
    }


def source(repo: Path) -> str:
    """The commit measured, and whether the dashboard's files differ from it."""
    def git(*args: str) -> str:
        done = subprocess.run(["git", *args], cwd=repo, capture_output=True, text=True,
                              check=False)
        return done.stdout.strip() if done.returncode == 0 else ""

    commit = git("rev-parse", "--short=12", "HEAD") or "unknown"
    changed = git("status", "--porcelain", "--", "lobstr_dash", "templates", "static",
                  "gunicorn.conf.py", "app.py", "requirements.txt")
    return commit + (" with uncommitted changes to the dashboard" if changed else "")
