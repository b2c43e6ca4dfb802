"""Warm a run, hold 50 clients on its page and on its CSV export, write the figures."""

from __future__ import annotations

import argparse
import logging
import os
import platform
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from pathlib import Path

import requests

from bench.machine import cpu_model
from loadtest.servers import REPO
from loadtest.servers import Gunicorn
from loadtest.servers import start_gunicorn
from loadtest.slowclients import SlowClients
from loadtest.slowclients import time_healthz
from loadtest.tools import INSTALL_HINT
from loadtest.tools import LoadResult
from loadtest.tools import available_tool
from loadtest.tools import run_load
from lobstr_dash.fake import FakeConfig
from lobstr_dash.fake import create_fake_app
from lobstr_dash.fake import serve_in_thread
from lobstr_dash.fake import synthetic_run_id

HEADING = "## Sustained load (`make loadtest`)"
RESULTS = REPO / "bench" / "RESULTS.md"
TOKEN = "loadtest-token"  # noqa: S105 (the fake's, not a secret)
#: Lines of the server's log that mean something went wrong while under load.
TROUBLE = re.compile(r"Traceback|\[ERROR\]|\[CRITICAL\]|WORKER TIMEOUT|Worker exiting")


def say(message: str) -> None:
    print(f"[loadtest] {message}", file=sys.stderr, flush=True)


def warm(server: Gunicorn, run_id: str, tasks: int) -> dict[str, int]:
    """Load the run into the store and touch both targets once; return their sizes in bytes."""
    export = requests.get(f"{server.url}/runs/{run_id}/tasks.json", timeout=300)
    export.raise_for_status()
    body = export.json()
    if not body["complete"] or len(body["tasks"]) != tasks:
        raise RuntimeError(f"the run did not load whole: {body['state']}, {len(body['tasks'])} tasks")
    sizes = {}
    for label, path in targets(run_id):
        answer = requests.get(server.url + path, timeout=60)
        answer.raise_for_status()
        sizes[label] = len(answer.content)
    return sizes


def targets(run_id: str) -> list[tuple[str, str]]:
    return [("run page", f"/runs/{run_id}"), ("CSV export", f"/runs/{run_id}/tasks.csv")]


def tool_version(tool: str) -> str:
    if tool == "wrk":
        done = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)  # noqa: S603,S607
        found = re.search(r"wrk \S+", done.stdout + done.stderr)
        return found[0] if found else "wrk"
    done = subprocess.run(["dpkg-query", "-W", "-f=${Version}", "hey"],  # noqa: S603,S607
                          capture_output=True, text=True, check=False)
    return f"hey {done.stdout.strip()}" if done.returncode == 0 and done.stdout else "hey"


def commit() -> str:
    done = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],  # noqa: S603,S607
                          capture_output=True, text=True, check=False)
    return done.stdout.strip() or "unknown"


@dataclass(frozen=True)
class SlowRun:
    """What the server did while stalled clients held their connections."""

    clients: int
    held: int
    healthz_ms: list[float]
    page_ms: list[float]


def slow_client_run(server: Gunicorn, run_id: str, count: int = 64) -> SlowRun:
    """Open `count` stalled clients (a third of each kind: dripped headers, an endless body,
    an unread CSV download) and time /healthz and the run page while they hold on."""
    with SlowClients("127.0.0.1", server.port, count,
                     download_path=f"/runs/{run_id}/tasks.csv") as clients:
        time.sleep(2)
        health = [time_healthz("127.0.0.1", server.port, timeout=10) * 1000 for _ in range(20)]
        page = [time_healthz("127.0.0.1", server.port, timeout=10,
                             path=f"/runs/{run_id}") * 1000 for _ in range(10)]
        held = clients.alive()
    return SlowRun(count, held, health, page)


def server_trouble(server: Gunicorn) -> list[str]:
    try:
        lines = server.log_path.read_text(errors="replace").splitlines()
    except OSError:
        return []
    return [line for line in lines if TROUBLE.search(line)]


def fmt_ms(value: float | None) -> str:
    if value is None:
        return "–"
    return f"{value:,.0f} ms" if value >= 100 else f"{value:.1f} ms"


def section(results: dict[str, LoadResult], sizes: dict[str, int], *, tasks: int, tool: str,
            upstream: int, trouble: list[str], load_before: tuple[float, ...],
            load_after: tuple[float, ...], slow: SlowRun | None = None) -> str:
    """The Markdown section for RESULTS.md."""
    first = next(iter(results.values()))
    when = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    lines = [
        HEADING, "",
        f"Measured {when} at commit {commit()} on {os.cpu_count()} × {cpu_model()}, Python "
        f"{platform.python_version()}. {tool_version(tool)} on loopback held "
        f"{first.concurrency} concurrent clients for {first.seconds:.0f} s on each target. "
        "The dashboard ran as in the image: gunicorn with `gunicorn.conf.py` (2 workers × 8 "
        f"threads, `app:app`, request log on), against the fake lobstr API, on a warm run of "
        f"{tasks:,} tasks (already in the store: {upstream} request(s) reached the fake during "
        "the load).", "",
        "| target | requests served (200) | errors | requests/s | p50 | p90 | p99 |",
        "|---|---:|---:|---:|---:|---:|---:|",
    ]
    for label, result in results.items():
        kb = sizes.get(label, 0) / 1024
        lines.append(f"| {label} ({kb:,.0f} KiB) | {result.served:,} | {result.failed:,} | "
                     f"{result.requests_per_second:,.1f} | {fmt_ms(result.p50_ms)} | "
                     f"{fmt_ms(result.p90_ms)} | {fmt_ms(result.p99_ms)} |")
    errors = sum(r.failed for r in results.values())
    kinds = {k: v for r in results.values() for k, v in r.error_kinds.items()}
    others = {code: n for r in results.values() for code, n in r.statuses.items() if code != 200}
    lines += [
        "",
        f"Target 0 errors: {'met' if errors == 0 else f'missed ({errors:,})'}"
        + (f"; statuses other than 200: {others}" if others else "")
        + (f"; transport errors: {kinds}" if kinds else "") + ". "
        + ("The server logged no traceback, error or worker timeout."
           if not trouble else f"The server logged {len(trouble)} troubling line(s), e.g. "
           f"`{trouble[0][:160]}`."),
        "",
        "The load tool shares the machine's cores with gunicorn, so the rates are lower bounds "
        "of what the server alone could do. Load average (1 min) "
        f"{load_before[0]:.2f} before and {load_after[0]:.2f} after; other work on the machine "
        "shows up in p99. Rerun with `make loadtest` (`python -m loadtest --help` for sizes).",
        "",
    ]
    if slow is not None:
        lines += [
            f"Slow clients: {slow.clients} stalled connections (headers a byte a second, a body "
            f"that never ends, the CSV export never read), {slow.held} still held open by the "
            f"server at the end. Meanwhile `/healthz` answered in median "
            f"{fmt_ms(statistics.median(slow.healthz_ms))}, at worst {fmt_ms(max(slow.healthz_ms))} "
            f"(target < 1 s: {'met' if max(slow.healthz_ms) < 1000 else 'missed'}), and the run "
            f"page in median {fmt_ms(statistics.median(slow.page_ms))}, at worst "
            f"{fmt_ms(max(slow.page_ms))}.",
            "",
        ]
    return "\n".join(lines)


def loadtest_section(path: Path) -> str:
    """Our section of RESULTS.md as it stands ("" when there is none)."""
    current = path.read_text() if path.exists() else ""
    start = current.find(HEADING)
    if start < 0:
        return ""
    following = re.search(r"^## ", current[start + len(HEADING):], re.M)
    end = start + len(HEADING) + following.start() if following else len(current)
    return current[start:end].rstrip("\n") + "\n"


def write_section(path: Path, text: str) -> None:
    """Put our section into RESULTS.md: replace our previous one, else append; keep the rest."""
    current = path.read_text() if path.exists() else ""
    start = current.find(HEADING)
    if start >= 0:
        rest = current[start + len(HEADING):]
        following = re.search(r"^## ", rest, re.M)
        end = start + len(HEADING) + following.start() if following else len(current)
        updated = current[:start] + text + ("\n" if following else "") + current[end:]
    else:
        updated = current.rstrip("\n") + ("\n\n" if current.strip() else "") + text
    path.write_text(updated)


def main(argv: list[str] | None = None,
         load: Callable[..., LoadResult] = run_load) -> int:
    """Run the load test; exit 0 when every request was served, 1 otherwise, 2 without a tool."""
    parser = argparse.ArgumentParser(prog="python -m loadtest", description=__doc__)
    parser.add_argument("--seconds", type=int, default=30, help="per target (default 30)")
    parser.add_argument("--concurrency", type=int, default=50, help="clients (default 50)")
    parser.add_argument("--tasks", type=int, default=5000, help="tasks of the run (default 5000)")
    parser.add_argument("--tool", choices=("hey", "wrk"), help="default: hey, else wrk")
    parser.add_argument("--out", type=Path, default=RESULTS,
                        help="Markdown file to put the section in (default bench/RESULTS.md)")
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args(argv)
    tool = args.tool or available_tool()
    if tool is None:
        say(f"no load tool found (hey or wrk); {INSTALL_HINT}")
        return 2
    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the fake's request lines
    run_id = synthetic_run_id(f"loadtest-{args.tasks}")
    fake = create_fake_app(FakeConfig(tokens={TOKEN}, extra_runs={run_id: args.tasks}))
    api_base, stop_fake = serve_in_thread(fake)
    results: dict[str, LoadResult] = {}
    with tempfile.TemporaryDirectory(prefix="lobstr-loadtest-") as scratch:
        say(f"starting gunicorn (gunicorn.conf.py) in {scratch}")
        server = start_gunicorn(Path(scratch) / "data",
                                {"LOBSTR_TOKEN": TOKEN, "LOBSTR_API_BASE": api_base,
                                 "LOG_LEVEL": "info"})
        try:
            say(f"warming a run of {args.tasks:,} tasks")
            sizes = warm(server, run_id, args.tasks)
            upstream_before = len(fake.extensions["fake"].requests)
            load_before = os.getloadavg()
            for label, path in targets(run_id):
                say(f"{tool}: {args.concurrency} clients for {args.seconds} s on the {label}")
                results[label] = load(tool, server.url + path, seconds=args.seconds,
                                      concurrency=args.concurrency)
                time.sleep(1)
            load_after = os.getloadavg()
            say("64 stalled clients, timing /healthz and the run page meanwhile")
            slow = slow_client_run(server, run_id)
            upstream = len(fake.extensions["fake"].requests) - upstream_before
            trouble = server_trouble(server)
        finally:
            server.stop()
            stop_fake()
    text = section(results, sizes, tasks=args.tasks, tool=tool, upstream=upstream,
                   trouble=trouble, load_before=load_before, load_after=load_after, slow=slow)
    print(text)
    if not args.no_write:
        write_section(args.out, text)
        say(f"wrote the section to {args.out}")
    slow_ok = max(slow.healthz_ms) < 1000
    return 0 if all(r.failed == 0 for r in results.values()) and not trouble and slow_ok else 1
