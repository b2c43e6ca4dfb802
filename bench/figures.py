"""Turn measurements into the figures table, the method and the notes of bench/RESULTS.md."""

from __future__ import annotations

from bench.cold import ColdSeries
from bench.limited import LimitedLoad
from bench.profile import Profile
from bench.report import Figure
from bench.sdkloop import SdkRead
from bench.stampede import Stampede
from bench.timing import paged_bound
from bench.warm import WarmResult

DEFAULT_CONCURRENCY = 4
COLD_FACTOR = 1.25
SDK_FACTOR = 5.0
LIMIT_FACTOR = 1.1
RSS_LIMIT_MB = 250.0
#: p50 targets in ms by run size (index into profile.warm_sizes) and query kind.
WARM_TARGETS_MS = ({"first": 30.0, "filter": 50.0, "sort": 50.0, "text": 50.0},
                   {"first": 150.0, "filter": 150.0, "sort": 150.0, "text": 150.0})


def _mb(kib: int) -> float:
    return kib * 1024 / 1_000_000


def _incomplete(runs: ColdSeries) -> str:
    """A warning when any of the loads did not end with every page stored."""
    bad = [load for load in runs.loads if load.state != "done"]
    return f"; {len(bad)} load(s) ended {bad[0].state}" if bad else ""


def cold_figures(profile: Profile, series: dict[int, ColdSeries]) -> list[Figure]:
    """Cold load time against ceil(pages / concurrency) × latency, and time to first rows."""
    latency = profile.cold_latency_ms / 1000
    figures = []
    for concurrency, runs in series.items():
        pages = runs.loads[0].total_pages
        bound = paged_bound(pages, concurrency, latency)
        default = " (default)" if concurrency == DEFAULT_CONCURRENCY else ""
        figures.append(Figure(
            f"cold {profile.cold_tasks:,}-task load, concurrency {concurrency}{default}, "
            f"{profile.cold_latency_ms} ms latency",
            f"{runs.finished:.2f} s = {runs.finished / bound:.2f} × bound "
            f"(median of {len(runs.loads)})" + _incomplete(runs),
            f"≤ {COLD_FACTOR} × {bound:.2f} s = {COLD_FACTOR * bound:.2f} s "
            f"[bound ceil({pages}/{concurrency}) × {latency:g} s]",
            runs.finished <= COLD_FACTOR * bound and not _incomplete(runs)))
    figures.append(Figure(
        "cold load: first rows stored / run page answered",
        "; ".join(f"c={c}: {s.first_rows:.2f} s / {s.page_answer:.2f} s"
                  for c, s in series.items())))
    return figures


def sdk_figures(profile: Profile, series: dict[int, ColdSeries],
                reads: dict[int, SdkRead]) -> list[Figure]:
    """The official SDK's sequential loop, and how much faster ours is at each concurrency."""
    figures = []
    for limit, read in reads.items():
        ratios = {c: read.seconds / s.finished for c, s in series.items()}
        ours = ", ".join(f"c={c} {ratio:.1f}×" for c, ratio in ratios.items())
        default = ratios.get(DEFAULT_CONCURRENCY, min(ratios.values()))
        figures.append(Figure(
            f"lobstrio-sdk `runs.tasks(limit={limit})` loop, {profile.cold_tasks:,} tasks",
            f"{read.seconds:.1f} s, {read.requests} requests; ours faster by {ours}",
            f"ours ≥ {SDK_FACTOR:g}× faster at c={DEFAULT_CONCURRENCY}",
            default >= SDK_FACTOR))
    return figures


def limited_figures(profile: Profile, load: LimitedLoad) -> list[Figure]:
    """Total time under the enforced limit against the fake window's bound, and 429s."""
    window = f"{profile.rate_limit}/{profile.rate_window:g} s"
    return [
        Figure(f"{load.tasks:,}-task run ({load.total_pages} pages) under {window}, "
               f"{profile.limited_latency_ms} ms latency",
               f"{load.finished:.1f} s = {load.finished / load.bound:.3f} × bound"
               + ("" if load.state == "done" else
                  f"; load ended {load.state} with {load.pages_done}/{load.total_pages} pages"),
               f"≤ {LIMIT_FACTOR} × {load.bound:.1f} s = {LIMIT_FACTOR * load.bound:.1f} s",
               load.finished <= LIMIT_FACTOR * load.bound and load.state == "done"),
        Figure(f"429 answers during that run (upstream requests: {load.upstream_requests})",
               str(load.throttled_all), "0", load.throttled_all == 0),
    ]


def warm_figures(profile: Profile, warm: WarmResult) -> list[Figure]:
    """p50/p95 of the run page's queries per run size, and peak RSS."""
    figures = []
    for timing in warm.timings:
        size_index = profile.warm_sizes.index(timing.tasks)
        target = WARM_TARGETS_MS[min(size_index, 1)][timing.query.key]
        figures.append(Figure(
            f"warm {timing.query.label}, {timing.tasks:,} tasks",
            f"p50 {timing.p50 * 1000:.1f} ms, p95 {timing.p95 * 1000:.1f} ms",
            f"p50 ≤ {target:g} ms", timing.p50 * 1000 <= target))
    workers = {pid: m for pid, m in warm.memory_end.items() if pid != warm.master}
    peak = max(_mb(m["VmHWM"]) for m in workers.values())
    master = warm.memory_end.get(warm.master, {}).get("VmHWM", 0)
    largest = max(profile.warm_sizes)
    figures.append(Figure(
        f"peak RSS with the {largest:,}-task run loaded (VmHWM, largest worker)",
        f"{peak:.0f} MB (workers " + ", ".join(f"{_mb(m['VmHWM']):.0f}" for m in workers.values())
        + f" MB; master {_mb(master):.0f} MB)",
        f"≤ {RSS_LIMIT_MB:g} MB", peak <= RSS_LIMIT_MB))
    figures.append(Figure(
        f"load time of the {largest:,}-task run (fake latency 0, dashboard limiter off)",
        f"{warm.load_seconds[largest]:.1f} s"))
    return figures


def stampede_figures(profile: Profile, stampede: Stampede) -> list[Figure]:
    """Upstream requests caused by many simultaneous cold opens of one run."""
    statuses = ", ".join(f"{n}× {code}" for code, n in sorted(stampede.statuses.items()))
    return [Figure(
        f"{stampede.clients} concurrent cold opens of one {profile.stampede_tasks:,}-task run",
        f"{stampede.upstream_requests} runtasks requests (+{stampede.context_requests} for the"
        f" run context); answers {statuses}; "
        f"served by {stampede.workers_serving or '?'}/{stampede.workers} workers",
        f"exactly total_pages = {stampede.total_pages}",
        stampede.upstream_requests == stampede.total_pages and stampede.state == "done")]


def method(profile: Profile) -> list[str]:
    """How the figures were taken, for readers of RESULTS.md."""
    return [
        "Real HTTP on loopback. The fake lobstr API runs as its own process "
        "(`python -m lobstr_dash.fake`, werkzeug threaded); the dashboard runs under gunicorn with "
        "`gunicorn.conf.py` (2 workers × 8 threads, `app:app`), with only LOBSTR_TOKEN, "
        "LOBSTR_API_BASE and DATA_DIR set unless a line says otherwise; the load generator is a "
        "third process.",
        "Cold loads: every load is a new gunicorn on an empty store. Time runs from the first "
        "`GET /runs/<id>` until the store's `runs` row leaves `loading` (the SQLite file polled "
        "read-only every 10 ms). Meanwhile a browser-like tab polls the status partial every 1 s, "
        "as the page does while loading. *First rows* = the first page is in the store; *run page "
        "answered* = that first GET returned (it waits up to LOAD_WAIT_SECONDS = 1.5 s).",
        "The fake's page cache is warmed before the cold loads and the SDK reads, so neither side "
        "pays the fake's own row generation (about 4 ms a page).",
        "The issue's bound is ceil(pages / concurrency) × latency. The loader's own floor is one "
        "round more at most, because page 1 tells the page count: 1 + ceil((pages − 1) / c) "
        "rounds.",
        "SDK: lobstrio-sdk 0.7.0's public `client.runs.tasks(run, limit=, page=)` page after page "
        "until a short page (lobstr-api.md §5); it is sequential, and when the tasks fill the last "
        "page exactly it asks one empty page more.",
        f"Rate limit: the fake enforces {profile.rate_limit} requests per sliding "
        f"{profile.rate_window:g} s per token; bound = floor((pages − 1) / limit) × window + one "
        "latency (when the last page can leave, plus its answer). The dashboard keeps its default "
        "limiter" + ("." if profile.default_window else
                     f" with the window shrunk to {profile.rate_window:g} s (quick profile)."),
        f"Warm: after each run is loaded (fake latency 0, LOBSTR_RATE_LIMIT=0 to save time), "
        f"{profile.warm_requests} sequential GETs per query after {profile.warm_warmup} warm-ups, "
        "taken round-robin over the queries, each on a fresh connection so both workers answer. "
        "Server time is measured client-side on loopback (it includes about 1 ms of client "
        "overhead). Full pages unless the line says *htmx table partial* (HX-Request + "
        "HX-Target: tasks, what a filter or sort click sends).",
        "Peak RSS: VmHWM of each gunicorn process from /proc after loading both runs and the warm "
        "timings; the fake and the load generator are other processes.",
        "Concurrent cold opens: threads released together by a barrier, each on its own "
        "connection, against a new dashboard; requests counted by the fake (`GET /_fake/stats`) "
        "for that run, 1 s after the load ended.",
        "The machine is a shared VM: the fake and the load generator compete with the dashboard "
        "for its cores, and other jobs may run. Figures are from one run; the cold loads are "
        f"medians of {profile.cold_repeats} interleaved repetitions, the rest single passes.",
    ]


def notes(profile: Profile, series: dict[int, ColdSeries], reads: dict[int, SdkRead],
          limited: LimitedLoad, stampede: Stampede) -> list[str]:
    """Plain-language reading of the figures that the table cannot say."""
    out = []
    if profile.name != "full":
        out.append(f"**{profile.name} profile**: reduced sizes for a smoke test; these are not "
                   "the issue's figures.")
    for limit, read in reads.items():
        ratios = {c: read.seconds / s.finished for c, s in series.items()}
        verdicts = "; ".join(f"at c={c} {r:.1f}× ({'meets' if r >= SDK_FACTOR else 'does not meet'}"
                             f" {SDK_FACTOR:g}×)" for c, r in ratios.items())
        out.append(f"Against the SDK loop with limit={limit} ({read.requests} sequential "
                   f"requests): {verdicts}.")
    for concurrency, runs in series.items():
        counts = sorted({load.upstream_requests for load in runs.loads})
        pages = runs.loads[0].total_pages
        out.append(f"Cold loads at c={concurrency}: " + ", ".join(
            f"{load.finished:.2f}" for load in runs.loads) + f" s; upstream requests per load "
            f"{'/'.join(map(str, counts))} for {pages} pages.")
    out.append(f"Rate-limited run: {limited.upstream_requests} upstream requests for "
               f"{limited.total_pages} pages, first rows after {limited.first_rows:.2f} s, "
               f"{limited.polls} status polls by the watching tab, final state {limited.state}.")
    out.append(f"Concurrent cold opens: slowest answer {stampede.slowest_answer:.2f} s, load "
               f"complete after {stampede.finished:.2f} s.")
    return out
