"""Store figures (issue 15): deep pages, big first pages, filter, search, export, a many-run store,
and Datasette serving the same store file, every figure a ratio against its anchor in this run.

    python -m bench.store                   the figures at full size; puts its section in RESULTS.md
    python -m bench.store --runs 5          the many-run store at 5 × 100k instead of 50 × 100k

The stores are filled without an upstream (bench/fill.py: the fake's rows through the store's own
load path); the dashboard runs under gunicorn as `make run` serves it, beside a fake lobstr that
knows the runs (it is asked nothing: FINISHED_RECHECK_SECONDS is a day).
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from bench import datasette as ds
from bench.browser import timed_get
from bench.fill import copy_run, fill
from bench.machine import describe, source
from bench.procs import REPO, start_dashboard, start_fake
from bench.timing import median

from lobstr_dash.store import Store
from bench.report import write_section

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Store figures"
ROUNDS = 15
SIZES = {"9k": 9000, "100k": 100_000}


@dataclass(frozen=True)
class Probe:
    """One request of the run page, and the figure it is held against (its anchor)."""

    key: str
    label: str
    run: str
    query: str
    anchor: str | None = None
    limit: float | None = None  # the ratio it must not pass
    ceiling_ms: float | None = None


PROBES = (
    Probe("first9k", "first page, 9,000 tasks", "9k", ""),
    Probe("first100k", "first page, 100,000 tasks", "100k", "", "first9k", 1.5, 30),
    Probe("deep100k", "page 500, 100,000 tasks", "100k", "?page=500", "first100k", 1.5, 60),
    Probe("deepsort100k", "page 500 sorted `collected` asc, 100,000 tasks", "100k",
          "?sort=collected&dir=asc&page=500", "first100k", 1.5, 60),
    Probe("status9k", "`?status=error`, 9,000 tasks", "9k", "?status=error"),
    Probe("status100k", "`?status=error`, 100,000 tasks", "100k", "?status=error", "status9k",
          1.5),
    Probe("search100k", "text search `?q=boulangerie`, 100,000 tasks", "100k", "?q=boulangerie",
          "first100k", None, 60),
)


def say(message: str) -> None:
    """Progress on stderr."""
    print(f"[bench.store] {message}", file=sys.stderr, flush=True)


def timings(base: str, runs: dict[str, str], probes: tuple[Probe, ...],
            rounds: int = ROUNDS) -> dict[str, float]:
    """Median seconds of each probe: warm-ups, then `rounds` passes taken round-robin."""
    samples: dict[str, list[float]] = {p.key: [] for p in probes}
    for index in range(rounds + 3):
        for probe in probes:
            took, status, _size = timed_get(f"{base}/runs/{runs[probe.run]}{probe.query}")
            assert status == 200, (probe.key, status)
            if index >= 3:
                samples[probe.key].append(took)
    return {key: median(values) for key, values in samples.items()}


def export_time(url: str, repeats: int = 3, *, gzip: bool = True) -> tuple[float, int]:
    """Median seconds and body bytes of a whole export (gzip, as a browser asks, or identity)."""
    headers = None if gzip else {"Accept-Encoding": "identity"}
    results = [timed_get(url, headers, timeout=600) for _ in range(repeats)]
    return median([r[0] for r in results]), results[0][2]


def served(workdir: Path, data_dir: Path, runs: dict[str, int],
           work: Callable[[str], dict[str, object]]) -> dict[str, object]:
    """Run `work(base_url)` against a dashboard on `data_dir` and a fake that knows `runs`."""
    fake = start_fake(workdir, runs)
    try:
        dashboard = start_dashboard(workdir, fake.api_base, data_dir=data_dir, env={
            # A day: no page asks lobstr whether the finished run was reopened (0 asks every time).
            "LOBSTR_RATE_LIMIT": "0", "FINISHED_RECHECK_SECONDS": "86400"})
        try:
            return work(dashboard.url)
        finally:
            dashboard.stop()
    finally:
        fake.stop()


def _ratio(figures: dict[str, float], probe: Probe) -> str:
    if probe.anchor is None:
        return ""
    ratio = figures[probe.key] / figures[probe.anchor]
    return f" = {ratio:.2f} × {probe.anchor}"


def measure(workdir: Path, many_runs: int) -> list[str]:
    """Every store figure; return the Markdown table rows and notes."""
    data = workdir / "single"
    data.mkdir()
    began = time.monotonic()
    runs = fill(data / "lobstr-dash.sqlite3", SIZES)
    say(f"filled 9k + 100k in {time.monotonic() - began:.0f} s")
    counts = {runs[k]: v for k, v in SIZES.items()}

    def single(base: str) -> dict[str, object]:
        figures = timings(base, runs, PROBES)
        csv = export_time(f"{base}/runs/{runs['100k']}/tasks.csv")
        csv9 = export_time(f"{base}/runs/{runs['9k']}/tasks.csv")
        plain = export_time(f"{base}/runs/{runs['100k']}/tasks.csv", gzip=False)
        js = export_time(f"{base}/runs/{runs['100k']}/tasks.json", repeats=1)
        return {"figures": figures, "csv": csv, "csv9": csv9, "json": js, "plain": plain}

    one = served(workdir, data, counts, single)
    store_bytes = (data / "lobstr-dash.sqlite3").stat().st_size
    lines = ["| figure | lobstr-dash | ratio to anchor | target | met? |", "|---|---|---|---|---|"]
    figures: dict[str, float] = one["figures"]  # type: ignore[assignment]
    for probe in PROBES:
        ms = figures[probe.key] * 1000
        ratio = figures[probe.key] / figures[probe.anchor] if probe.anchor else None
        met = (ratio is None or probe.limit is None or ratio <= probe.limit) and (
            probe.ceiling_ms is None or ms <= probe.ceiling_ms)
        target = " and ".join(t for t in (
            f"≤ {probe.limit} × {probe.anchor}" if probe.limit else "",
            f"≤ {probe.ceiling_ms:.0f} ms" if probe.ceiling_ms else "") if t)
        lines.append(f"| {probe.label} | {ms:.1f} ms | {_ratio(figures, probe).lstrip(' =')}"
                     f" | {target} | {('yes' if met else 'NO') if target else ''} |")
    csv_s, csv_bytes = one["csv"]  # type: ignore[misc]
    csv9_s, _b = one["csv9"]  # type: ignore[misc]
    js_s, js_bytes = one["json"]  # type: ignore[misc]
    per_row = (csv_s / 100_000) / (csv9_s / 9000)
    plain_s, plain_bytes = one["plain"]  # type: ignore[misc]
    lines.append(f"| full CSV export, 100,000 tasks, uncompressed | {plain_s:.2f} s,"
                 f" {plain_bytes / 1e6:.1f} MB | | ≤ 2.5 s | {'yes' if plain_s <= 2.5 else 'NO'} |")
    lines.append(f"| full CSV export, 100,000 tasks, gzip | {csv_s:.2f} s, {csv_bytes / 1e6:.1f} MB"
                 f" | {per_row:.2f} × per-row time of the 9,000-task CSV | ≤ 2.5 s |"
                 f" {'yes' if csv_s <= 2.5 else 'NO'} |")
    lines.append(f"| full JSON export, 100,000 tasks | {js_s:.2f} s, {js_bytes / 1e6:.1f} MB |"
                 " | | |")
    notes = [f"Store file with the 9,000- and 100,000-task runs: {store_bytes / 1e6:.0f} MB."]
    notes += datasette_figures(workdir, data / "lobstr-dash.sqlite3", runs, figures, csv_s, lines)
    if many_runs > 1:
        notes += many_run_figures(workdir, data / "lobstr-dash.sqlite3", runs, counts, many_runs,
                                  figures, lines)
    return lines + [""] + [f"- {n}" for n in notes]


def datasette_figures(workdir: Path, store: Path, runs: dict[str, str],
                      ours: dict[str, float], csv_s: float, lines: list[str]) -> list[str]:
    """Datasette 0.65.5 on a copy of the same store file; rows added to `lines`."""
    if not ds.available():
        return ["Datasette is not installed (`make bench` installs requirements-bench.txt into"
                " .venv-bench): no comparison."]
    copy = workdir / "datasette.sqlite3"
    shutil.copyfile(store, copy)
    theirs = ds.measure(workdir, copy, runs["100k"], runs["9k"], rounds=ROUNDS)
    lines += ["", "Datasette 0.65.5 on a copy of the same file (same rows, same indexes):", "",
              "| figure | Datasette | lobstr-dash |", "|---|---|---|"]
    pairs = (("first page sorted by gap, 9,000 tasks", "first9k"),
             ("first page sorted by gap, 100,000 tasks", "first100k"),
             ("page 500 of 100,000 (Datasette: its `_next` token)", "deep100k"),
             ("`status=error`, 100,000 tasks", "status100k"),
             ("text search, 100,000 tasks", "search100k"))
    for label, key in pairs:
        lines.append(f"| {label} | {theirs[key] * 1000:.1f} ms | {ours[key] * 1000:.1f} ms |")
    lines.append(f"| full CSV, 100,000 tasks | {theirs['csv']:.2f} s"
                 f" ({theirs['csv_rows']:,} rows, unsorted `_stream=on`) | {csv_s:.2f} s |")
    return [ds.METHOD]


def many_run_figures(workdir: Path, store: Path, runs: dict[str, str], counts: dict[str, int],
                     many: int, single: dict[str, float], lines: list[str]) -> list[str]:
    """The same pages with `many` runs of 100,000 tasks in the store (copies of the big run)."""
    data = workdir / "many"
    data.mkdir()
    path = data / "lobstr-dash.sqlite3"
    shutil.copyfile(store, path)
    began = time.monotonic()
    target = Store(path)
    copies = {f"{runs['100k']}-copy-{i}" for i in range(many - 1)}
    for copy in sorted(copies):
        copy_run(target, runs["100k"], copy)
    target.close()
    say(f"{many} × 100k store made in {time.monotonic() - began:.0f} s")
    size = path.stat().st_size
    probes = tuple(p for p in PROBES if p.key in ("first9k", "first100k", "deep100k",
                                                  "status100k"))
    figures = served(workdir, data, counts, lambda base: {"f": timings(base, runs, probes)})["f"]
    lines += ["", f"The same pages with {many} runs of 100,000 tasks ({many * 100_000:,} rows)"
              " in the store:", "", "| figure | many-run store | single-run store | ratio |",
              "|---|---|---|---|"]
    for probe in probes:
        ours = figures[probe.key]  # type: ignore[index]
        lines.append(f"| {probe.label} | {ours * 1000:.1f} ms | {single[probe.key] * 1000:.1f} ms"
                     f" | {ours / single[probe.key]:.2f} |")
    notes = [f"Many-run store: {size / 1e9:.2f} GB for {many * 100_000 + 9000:,} tasks,"
             f" {size / (many * 100_000 + 9000) * 100_000 / 1e6:.0f} MB per 100,000 tasks."]
    return notes + [evict_half(path)]


def evict_half(path: Path) -> str:
    """Retention on the many-run store: a limit of half its size, and what it took."""
    store = Store(path)
    try:
        before = store.footprint()
        began = time.monotonic()
        evicted = store.evict(max_bytes=before.used_bytes // 2, keep_seconds=None)
        took = time.monotonic() - began
        after = store.footprint()
    finally:
        store.close()
    return (f"Retention on it with STORE_MAX_MB at half its size ({before.used_bytes / 2e6:,.0f}"
            f" MB): {len(evicted)} of {before.runs} runs evicted, least recently opened first, in"
            f" {took:.0f} s (deletes, then incremental vacuum, converting the file once with a"
            f" VACUUM when it predates retention); file {before.file_bytes / 1e9:.2f} GB →"
            f" {after.file_bytes / 1e9:.2f} GB.")




def main(argv: list[str] | None = None) -> int:
    """Measure, print the section, and put it in RESULTS.md."""
    parser = argparse.ArgumentParser(prog="python -m bench.store", description=__doc__)
    parser.add_argument("--runs", type=int, default=50, help="runs of 100k in the big store")
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true")
    args = parser.parse_args(argv)
    machine = describe()
    with tempfile.TemporaryDirectory(prefix="bench-store-") as tmp:
        body = measure(Path(tmp), args.runs)
    text = "\n".join([
        HEADING, "",
        f"Measured {machine.get('date', '?')} by `python -m bench.store` (run by `make bench`)"
        f" at commit {source(REPO)} on {machine.get('cores', '?')} × {machine.get('cpu', '?')},"
        f" Python {machine.get('python', '?')}; load average {machine.get('load average at start', '?')}."
        f" Medians of {ROUNDS} warm GETs per figure, taken round-robin in one run, each on a fresh"
        " connection; ratios are against the anchor measured in the same run.", "",
        *body, ""])
    print(text)
    if not args.no_write:
        write_section(args.out, HEADING, text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
