"""Drive a load tool (hey, else wrk) against one URL and read its summary."""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass

INSTALL_HINT = "install one with: apt-get install -y hey wrk"


@dataclass(frozen=True)
class LoadResult:
    """What one load run served: answers by status, failures, latency percentiles (ms)."""

    tool: str
    seconds: float
    concurrency: int
    statuses: dict[int, int]
    errors: int
    error_kinds: dict[str, int]
    p50_ms: float
    p90_ms: float | None
    p99_ms: float
    requests_per_second: float

    @property
    def served(self) -> int:
        """Requests answered with 200."""
        return self.statuses.get(200, 0)

    @property
    def failed(self) -> int:
        """Transport errors plus answers other than 200."""
        return self.errors + sum(n for code, n in self.statuses.items() if code != 200)


def available_tool() -> str | None:
    """The load tool to use: hey when installed, else wrk, else None."""
    for name in ("hey", "wrk"):
        if shutil.which(name):
            return name
    return None


def run_load(tool: str, url: str, *, seconds: int, concurrency: int) -> LoadResult:
    """Run `tool` for `seconds` with `concurrency` clients against `url` and parse its report."""
    if tool == "hey":
        args = ["hey", "-z", f"{seconds}s", "-c", str(concurrency), "-t", "30", url]
    elif tool == "wrk":
        args = ["wrk", "-t", "2", "-c", str(concurrency), "-d", f"{seconds}s", "--timeout", "30s",
                "--latency", url]
    else:
        raise ValueError(f"unknown load tool {tool!r}")
    done = subprocess.run(args, capture_output=True, text=True, check=True,  # noqa: S603
                          timeout=seconds + 120)
    parse = parse_hey if tool == "hey" else parse_wrk
    return parse(done.stdout, seconds=seconds, concurrency=concurrency)


def _seconds_to_ms(text: str) -> float:
    return round(float(text) * 1000, 1)


def parse_hey(report: str, *, seconds: float, concurrency: int) -> LoadResult:
    """Read hey's summary: status code and error distributions, latency percentiles."""
    percentiles = {int(p): _seconds_to_ms(s) for p, s in
                   re.findall(r"^\s*(\d+)%+ in ([\d.]+) secs", report, re.M) if int(p)}
    statuses = {int(code): int(n) for code, n in
                re.findall(r"^\s*\[(\d{3})\]\s+(\d+) responses", report, re.M)}
    errors_part = report.split("Error distribution:", 1)[1] if "Error distribution:" in report else ""
    error_kinds = {kind.strip(): int(n) for n, kind in
                   re.findall(r"^\s*\[(\d+)\]\s+(.+)$", errors_part, re.M)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    slowest = re.search(r"Slowest:\s+([\d.]+) secs", report)
    if 50 not in percentiles or slowest is None:
        raise ValueError(f"hey printed no latency distribution:\n{report}")
    # hey prints no 99th percentile below 100 answers: the slowest one bounds it then.
    p99 = percentiles.get(99) or _seconds_to_ms(slowest[1])
    return LoadResult("hey", seconds, concurrency, statuses, sum(error_kinds.values()),
                      error_kinds, percentiles[50], percentiles.get(90), p99,
                      float(rps[1]) if rps else 0.0)


_UNITS = {"us": 0.001, "ms": 1.0, "s": 1000.0, "m": 60_000.0}


def _wrk_ms(text: str) -> float:
    value, unit = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text.strip()).groups()  # type: ignore[union-attr]
    return round(float(value) * _UNITS[unit], 1)


def parse_wrk(report: str, *, seconds: float, concurrency: int) -> LoadResult:
    """Read wrk's --latency report; wrk counts non-2xx answers but not each status."""
    percentiles = {int(p): _wrk_ms(v) for p, v in
                   re.findall(r"^\s*(\d+)%\s+([\d.]+(?:us|ms|s|m))\s*$", report, re.M)}
    total = int(re.search(r"(\d+) requests in", report)[1])  # type: ignore[index]
    non_2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", report)
    bad = int(non_2xx[1]) if non_2xx else 0
    sockets = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)",
                        report)
    kinds = {}
    if sockets:
        kinds = {k: int(v) for k, v in zip(("connect", "read", "write", "timeout"),
                                           sockets.groups(), strict=True) if int(v)}
    rps = re.search(r"Requests/sec:\s+([\d.]+)", report)
    statuses = {200: total - bad} | ({599: bad} if bad else {})
    return LoadResult("wrk", seconds, concurrency, statuses, sum(kinds.values()), kinds,
                      percentiles[50], percentiles.get(90), percentiles[99],
                      float(rps[1]) if rps else 0.0)
