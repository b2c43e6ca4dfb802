"""Run every phase of the bench, print the figures table, and write bench/RESULTS.md."""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

from bench import figures as fig
from bench.cold import ColdSeries, cold_load, warm_fake_pages
from bench.limited import limited_load
from bench.machine import describe, source
from bench.procs import REPO, start_fake
from bench.profile import FULL, QUICK, Profile
from bench.report import Figure, markdown, text_table
from bench.sdkloop import sdk_read
from bench.stampede import cold_opens
from bench.warm import warm_timings

from loadtest.run import loadtest_section, write_section
from lobstr_dash.fake import synthetic_run_id

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
_STARTED = time.monotonic()


def say(message: str) -> None:
    """Progress on stderr, with seconds since the bench started."""
    print(f"[{time.monotonic() - _STARTED:5.0f}s] {message}", file=sys.stderr, flush=True)


def _tail_logs(workdir: Path, lines: int = 15) -> None:
    for log in sorted(workdir.glob("*.log")):
        say(f"--- last lines of {log.name}")
        for line in log.read_text(errors="replace").splitlines()[-lines:]:
            print("    " + line, file=sys.stderr)


def measure(workdir: Path, profile: Profile) -> tuple[list[Figure], list[str]]:
    """Every phase in order; return the figures and the notes."""
    cold_id = synthetic_run_id(f"bench-cold-{profile.cold_tasks}")
    crowd_id = synthetic_run_id(f"bench-crowd-{profile.stampede_tasks}")
    fake = start_fake(workdir, {cold_id: profile.cold_tasks, crowd_id: profile.stampede_tasks},
                      latency_ms=profile.cold_latency_ms)
    try:
        warm_fake_pages(fake, cold_id, profile.cold_tasks, (100, *profile.sdk_limits))
        loads: dict[int, list] = {c: [] for c in profile.concurrencies}
        for repeat in range(profile.cold_repeats):  # interleaved, so drift hits each alike
            for concurrency in profile.concurrencies:
                load = cold_load(workdir, fake, cold_id, concurrency)
                loads[concurrency].append(load)
                say(f"cold load c={concurrency} #{repeat + 1}: {load.finished:.2f} s, "
                    f"{load.upstream_requests} upstream requests")
        series = {c: ColdSeries(c, runs) for c, runs in loads.items()}
        reads = {}
        for limit in profile.sdk_limits:
            reads[limit] = sdk_read(fake.api_base, cold_id, limit)
            say(f"SDK loop limit={limit}: {reads[limit].seconds:.1f} s, "
                f"{reads[limit].rows} rows")
        stampede = cold_opens(workdir, fake, crowd_id, profile.stampede_clients)
        say(f"{stampede.clients} cold opens: {stampede.upstream_requests} upstream requests "
            f"for {stampede.total_pages} pages")
    finally:
        fake.stop()
    say(f"rate-limited run of {profile.limited_tasks:,} tasks (takes about "
        f"{(profile.limited_tasks / 100 - 1) // profile.rate_limit * profile.rate_window:.0f} s)")
    limited = limited_load(workdir, profile)
    say(f"rate-limited run: {limited.finished:.1f} s, {limited.throttled_all} × 429")
    warm = warm_timings(workdir, profile)
    say("warm timings and memory done")
    figures = (fig.cold_figures(profile, series) + fig.sdk_figures(profile, series, reads)
               + fig.limited_figures(profile, limited) + fig.warm_figures(profile, warm)
               + fig.stampede_figures(profile, stampede))
    return figures, fig.notes(profile, series, reads, limited, stampede)


def main(argv: list[str] | None = None) -> int:
    """`python -m bench [--quick] [--out FILE]`; exit status 0 even when a target is missed."""
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--quick", action="store_true",
                        help="small sizes, about a minute (a smoke test; writes no results file "
                             "unless --out is given)")
    parser.add_argument("--out", type=Path, help="Markdown results file (default: "
                        "bench/RESULTS.md for the full bench)")
    args = parser.parse_args(argv)
    profile = QUICK if args.quick else FULL
    out = args.out or (None if args.quick else RESULTS)
    machine = describe()
    machine["dashboard commit"] = source(REPO)
    say(f"{profile.name} bench on {machine['cores']} × {machine['cpu']}, "
        f"Python {machine['python']}")
    with tempfile.TemporaryDirectory(prefix="lobstr-bench-") as scratch:
        workdir = Path(scratch)
        try:
            figures, notes = measure(workdir, profile)
        except BaseException:
            _tail_logs(workdir)
            raise
    load = os.getloadavg()
    machine["load average at end"] = " / ".join(f"{x:.2f}" for x in load)
    print(text_table(figures))
    missed = [f.name for f in figures if f.met is False]
    print(f"\n{len(missed)} target(s) missed" + (": " + "; ".join(missed) if missed else ""))
    previous_loadtest = loadtest_section(out) if out is not None else ""
    if out is not None:
        title = "lobstr-dash benchmark results" + ("" if profile.name == "full"
                                                   else f" ({profile.name} profile)")
        text = markdown(title, machine, figures, fig.method(profile), notes)
        out.write_text(text)
        if previous_loadtest:
            # `make loadtest` keeps its own section in the same file: carry it over.
            write_section(out, previous_loadtest)
        say(f"wrote {out.name}")
    return 0
