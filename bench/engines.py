"""SQLite vs PostgreSQL, side by side in one run, and two replicas on one PostgreSQL.

`python -m bench.engines [--quick]` (part of `make bench`): warm run-page times at 10,000 and
100,000 tasks on each engine; 50 concurrent cold opens spread over two replicas; two replicas
loading two 10,000-task runs under one 90/60 s budget (the fake lobstr enforces 90/60 s: any excess
would come back as 429). The PostgreSQL cluster is a throwaway one (tests/pgcluster.py). Writes
its section of bench/RESULTS.md.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from bench.browser import timed_get
from bench.procs import REPO, Dashboard, FakeServer, start_dashboard, start_fake
from bench.report import Figure, write_section
from bench.warm import QUERIES, _time_queries
from bench.timing import median

from lobstr_dash.fake import synthetic_run_id

sys.path.insert(0, str(REPO / "tests"))
from pgcluster import Cluster, bin_dir  # noqa: E402

HEADING = "## SQLite vs PostgreSQL, and two replicas"
RESULTS = REPO / "bench" / "RESULTS.md"


def _load(dashboard: Dashboard, run_id: str) -> float:
    """Open a cold run and wait for every row (the JSON export waits for the load)."""
    seconds, status, _size = timed_get(f"{dashboard.url}/runs/{run_id}/tasks.json?limit=1",
                                       timeout=900)
    if status != 200:
        raise RuntimeError(f"loading {run_id} answered {status}")
    return seconds


def warm(workdir: Path, cluster: Cluster, sizes: tuple[int, ...], count: int) -> list[Figure]:
    """p50 of each run-page query, per size, on SQLite and on PostgreSQL."""
    runs = {synthetic_run_id(f"bench-engines-{size}"): size for size in sizes}
    fake = start_fake(workdir, runs)
    figures: dict[tuple[int, str], dict[str, str]] = {}
    try:
        for engine in ("SQLite", "PostgreSQL"):
            env = {"LOBSTR_RATE_LIMIT": "0", "EXPORT_WAIT_SECONDS": "900"}
            if engine == "PostgreSQL":
                env["DATABASE_URL"] = cluster.database()
            dashboard = start_dashboard(workdir, fake.api_base, env=env)
            try:
                for run_id, size in runs.items():
                    loaded = _load(dashboard, run_id)
                    samples = _time_queries(f"{dashboard.url}/runs/{run_id}", 5, count)
                    for query in QUERIES:
                        key = (size, query.label)
                        figures.setdefault(key, {})[engine] = f"{median(samples[query]) * 1000:.1f}"
                    figures.setdefault((size, "load"), {})[engine] = f"{loaded:.1f} s"
            finally:
                dashboard.stop()
    finally:
        fake.stop()
    return [Figure(f"{'load' if label == 'load' else 'warm ' + label + ' p50'}, {size:,} tasks",
                   f"SQLite {cells['SQLite']}{'' if label == 'load' else ' ms'}"
                   f" · PostgreSQL {cells['PostgreSQL']}{'' if label == 'load' else ' ms'}")
            for (size, label), cells in figures.items()]


def _two(workdir: Path, fake: FakeServer, url: str, **env: str) -> tuple[Dashboard, Dashboard]:
    settings = {"DATABASE_URL": url, **env}
    return (start_dashboard(workdir, fake.api_base, env=settings),
            start_dashboard(workdir, fake.api_base, env=settings))


def stampede(workdir: Path, cluster: Cluster, tasks: int, clients: int) -> list[Figure]:
    """`clients` cold opens at once, alternately on two replicas of one database."""
    run_id = synthetic_run_id(f"bench-engines-crowd-{tasks}")
    fake = start_fake(workdir, {run_id: tasks}, latency_ms=50)
    try:
        a, b = _two(workdir, fake, cluster.database())
        try:
            gate = threading.Barrier(clients)

            def open_page(index: int) -> int:
                gate.wait()
                return timed_get(f"{(a, b)[index % 2].url}/runs/{run_id}")[1]

            with ThreadPoolExecutor(clients) as pool:
                statuses = list(pool.map(open_page, range(clients)))
            _load(a, run_id)
            _load(b, run_id)
            time.sleep(1.0)  # a duplicate load would still be sending requests now
            counts = fake.run_requests(run_id)
        finally:
            a.stop()
            b.stop()
    finally:
        fake.stop()
    pages = -(-tasks // 100)
    return [Figure(f"{clients} concurrent cold opens of one {tasks:,}-task run over two replicas "
                   "(one PostgreSQL)",
                   f"{counts['page_requests']} runtasks requests; answers "
                   f"{statuses.count(200)}× 200", f"exactly total_pages = {pages}",
                   counts["page_requests"] == pages)]


def shared_budget(workdir: Path, cluster: Cluster, tasks: int, limit: int,
                  window: float) -> list[Figure]:
    """Two replicas each load a run of their own under one budget; the fake enforces it."""
    runs = [synthetic_run_id(f"bench-engines-paced-{i}") for i in (1, 2)]
    fake = start_fake(workdir, dict.fromkeys(runs, tasks), latency_ms=50, rate_limit=limit,
                      rate_window=window)
    try:
        env = {"LOBSTR_RATE_LIMIT": str(limit), "LOBSTR_RATE_WINDOW": str(window),
               "EXPORT_WAIT_SECONDS": "900"}
        a, b = _two(workdir, fake, cluster.database(), **env)
        try:
            started = time.perf_counter()
            with ThreadPoolExecutor(2) as pool:
                list(pool.map(lambda pair: _load(*pair), [(a, runs[0]), (b, runs[1])]))
            took = time.perf_counter() - started
            throttled = sum(fake.run_requests(r)["throttled"] for r in runs)
            requests = sum(fake.run_requests(r)["page_requests"] for r in runs)
        finally:
            a.stop()
            b.stop()
    finally:
        fake.stop()
    pages = 2 * -(-tasks // 100)
    bound = (pages - 1) // limit * window
    return [Figure(f"two replicas loading two {tasks:,}-task runs ({pages} pages) under one "
                   f"{limit}/{window:.0f} s budget", f"{took:.1f} s, {requests} runtasks "
                   f"requests, {throttled} × 429 from the fake (it enforces {limit}/{window:.0f} s)",
                   f"0 × 429 (bound {bound:.0f} s)", throttled == 0)]


def section(figures: list[Figure], note: str) -> str:
    """This bench's part of RESULTS.md."""
    lines = [HEADING, "", f"Measured {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} by "
             "`python -m bench.engines` (part of `make bench`). " + note, "",
             "| figure | measured | target | met? |", "|---|---|---|---|"]
    lines += [f"| {f.name} | {f.measured} | {f.target} | {f.verdict} |" for f in figures]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    """Measure; print the figures; write the section (full profile, or --out)."""
    parser = argparse.ArgumentParser(prog="python -m bench.engines", description=__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes, no results file")
    args = parser.parse_args(argv)
    bindir = bin_dir()
    if bindir is None:
        print("bench.engines: PostgreSQL is not installed (apt-get install postgresql): skipped")
        return 0
    sizes, count, paced = ((1_000, 10_000), 10, 2_000) if args.quick else ((10_000, 100_000), 40, 10_000)
    cluster = Cluster(bindir)
    try:
        with tempfile.TemporaryDirectory(prefix="lobstr-bench-engines-") as scratch:
            workdir = Path(scratch)
            figures = warm(workdir, cluster, sizes, count)
            figures += stampede(workdir, cluster, 9_000 if not args.quick else 900, 50)
            limit, window = (90, 60.0) if not args.quick else (9, 6.0)
            figures += shared_budget(workdir, cluster, paced, limit, window)
    finally:
        cluster.stop()
    for figure in figures:
        print(f"{figure.name}: {figure.measured} {figure.target} {figure.verdict}")
    if not args.quick:
        write_section(RESULTS, HEADING, section(
            figures, "Warm times: p50 of 40 sequential GETs per query after 5 warm-ups, as in the"
            " warm figures above; PostgreSQL 15 from Debian on the same machine (a throwaway"
            " cluster, fsync off), over a unix socket."))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
