"""Page weight: bytes on the wire for each page type, without compression, with gzip and brotli.

    python -m bench.sizes            measure, print the table, and put its section in RESULTS.md
    python -m bench.sizes --no-write print only

The dashboard runs under gunicorn as `make run` serves it, against the fake lobstr as its own
process, over real HTTP on loopback. Each URL is fetched once to load the run, then once per
`Accept-Encoding` (identity, gzip, br); the size is the response body as sent (http.client does
not decode it). `make bench` runs it after the other figures.
"""

from __future__ import annotations

import argparse
import http.client
import re
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from bench.machine import describe, source
from bench.procs import REPO, start_dashboard, start_fake
from lobstr_dash.fake import DEMO_RUN_IDS, DEMO_RUNS, HISTORY_RUN_IDS
from bench.report import write_section

RESULTS = Path(__file__).resolve().parent / "RESULTS.md"
HEADING = "## Page weight"
#: The issue's target for a run page with `Accept-Encoding: gzip`.
RUN_PAGE_TARGET = 60_000
TIMELINE_TARGET = 25_000


@dataclass(frozen=True)
class Size:
    """One page type: its URL's bytes on the wire in each encoding."""

    name: str
    plain: int
    gzip: int
    br: int
    target: int | None = None

    @property
    def met(self) -> bool | None:
        """The gzip size within its target (None when it has none)."""
        return None if self.target is None else self.gzip <= self.target


def fetch(base: str, path: str, encoding: str,
          headers: dict[str, str] | None = None) -> tuple[int, bytes, dict[str, str]]:
    """GET a path; the body exactly as sent (still compressed)."""
    parts = urlsplit(base)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=120)
    try:
        connection.request("GET", path, headers={"Accept-Encoding": encoding, **(headers or {})})
        response = connection.getresponse()
        return response.status, response.read(), {k.lower(): v for k, v in response.getheaders()}
    finally:
        connection.close()


def measure_one(base: str, name: str, path: str, *, target: int | None = None,
                headers: dict[str, str] | None = None) -> Size:
    """A page type's size without compression, with gzip and with brotli."""
    sizes = {}
    for encoding in ("identity", "gzip", "br"):
        status, body, answer = fetch(base, path, encoding, headers)
        if status != 200:
            raise RuntimeError(f"{path} answered {status}")
        sent = answer.get("content-encoding", "identity")
        if encoding != "identity" and sent != encoding and len(body) > 500:
            raise RuntimeError(f"{path} was not compressed with {encoding} (got {sent})")
        sizes[encoding] = len(body)
    return Size(name, sizes["identity"], sizes["gzip"], sizes["br"], target)


def timeline_bytes(base: str, path: str) -> int:
    """The size of the run page's timeline SVG (in the uncompressed page)."""
    _status, body, _headers = fetch(base, path, "identity")
    page = body.decode()
    match = re.search(r'id="chart-timeline-figure".*?(<svg.*?</svg>)', page, re.S)
    return len(match.group(1).encode()) if match else 0


def measure(workdir: Path) -> tuple[list[Size], dict[str, int]]:
    """Every page type, on a dashboard whose runs are loaded first."""
    fake = start_fake(workdir, {})
    try:
        dashboard = start_dashboard(workdir, fake.api_base, env={"LOAD_WAIT_SECONDS": "60",
                                                                  "EXPORT_WAIT_SECONDS": "60"})
        try:
            base = dashboard.url
            mixed, big, aborted = (DEMO_RUN_IDS[s] for s in ("mixed", "big", "aborted"))
            for run in (mixed, big, aborted, HISTORY_RUN_IDS["mixed-previous"]):
                fetch(base, f"/runs/{run}/tasks.json", "identity")  # read to the end
            htmx = {"HX-Request": "true"}
            static = re.findall(r'/static/[0-9a-f]{10}/[\w.]+', fetch(base, "/", "identity")[1].decode())
            pages = [
                ("run page, 400 tasks (mixed demo run)", f"/runs/{mixed}", RUN_PAGE_TARGET, None),
                ("run page, 5,000 tasks (big demo run)", f"/runs/{big}", RUN_PAGE_TARGET, None),
                ("run page, 300 tasks (aborted demo run)", f"/runs/{aborted}", RUN_PAGE_TARGET,
                 None),
                ("run page filtered `?status=error&sort=reason`", f"/runs/{mixed}?status=error"
                 "&sort=reason", RUN_PAGE_TARGET, None),
                ("htmx table part (filter, sort, page change)", f"/runs/{mixed}?status=error", None,
                 {**htmx, "HX-Target": "tasks"}),
                ("htmx status poll part", f"/runs/{big}", None, {**htmx, "HX-Target": "run-status"}),
                ("home page", "/", None, None),
                ("squids", "/squids", None, None),
                ("a squid's runs", f"/squids/{DEMO_RUNS[0].squid_id}/runs", None, None),
                ("compare two runs", f"/compare?a={HISTORY_RUN_IDS['mixed-previous']}&b={mixed}",
                 None, None),
                ("done reasons (/reasons)", "/reasons", None, None),
                ("digest", f"/runs/{mixed}/digest", None, None),
                ("tasks.csv, 5,000 tasks", f"/runs/{big}/tasks.csv", None, None),
                ("tasks.json, 5,000 tasks", f"/runs/{big}/tasks.json", None, None),
            ]
            sizes = [measure_one(base, name, path, target=target, headers=headers)
                     for name, path, target, headers in pages]
            sizes += [measure_one(base, f"static {path.rsplit('/', 1)[1]}", path) for path in static]
            extras = {f"timeline SVG, {slug} demo run": timeline_bytes(base, f"/runs/{run}")
                      for slug, run in (("big", big), ("mixed", mixed))}
        finally:
            dashboard.stop()
    finally:
        fake.stop()
    return sizes, extras


def _kb(size: int) -> str:
    return f"{size / 1000:,.1f} KB"


def section(sizes: list[Size], extras: dict[str, int], machine: dict[str, str]) -> str:
    """The Markdown section of RESULTS.md."""
    lines = [HEADING, "", f"Measured {machine['date']} by `python -m bench.sizes` (also run by "
             f"`make bench`), commit {machine['commit']}, on {machine['cores']} × "
             f"{machine['cpu']}, Python {machine['python']}.", "",
             "| page type | no compression | gzip | brotli | gzip target | met? |",
             "|---|---|---|---|---|---|"]
    for size in sizes:
        target = _kb(size.target) if size.target else ""
        met = "" if size.met is None else ("yes" if size.met else "NO")
        lines.append(f"| {size.name} | {_kb(size.plain)} | {_kb(size.gzip)} | {_kb(size.br)} | "
                     f"{target} | {met} |")
    for name, size in extras.items():
        met = "yes" if size <= TIMELINE_TARGET else "NO"
        lines.append(f"| {name} (inside the page, before compression) | {_kb(size)} | | | "
                     f"≤ {_kb(TIMELINE_TARGET)} raw | {met} |")
    lines += ["", "- Bytes of the response body as sent, over HTTP on loopback, from gunicorn as "
              "`make run` serves it (gunicorn.conf.py); the fake lobstr is its own process. Each "
              "run is read to the end first. KB = 1,000 bytes.",
              "- `Accept-Encoding: identity` gives the uncompressed size, `gzip` what a browser "
              "on plain http gets, `br` what it gets over https.",
              "- Static files are linked by content-hashed path with `Cache-Control: immutable`: "
              "a second visit sends no request for them (tests/browser/test_answer_first.py).",
              "- Before issue 11 the same run pages were sent uncompressed at 204–236 KB (the "
              "timeline alone 80–90 KB), and static files were revalidated on every visit."]
    return "\n".join(lines) + "\n"




def main(argv: list[str] | None = None) -> int:
    """Measure, print, and write the section (unless --no-write)."""
    parser = argparse.ArgumentParser(prog="python -m bench.sizes", description=__doc__)
    parser.add_argument("--out", type=Path, default=RESULTS)
    parser.add_argument("--no-write", action="store_true", help="print the section only")
    args = parser.parse_args(argv)
    machine = describe()
    machine["commit"] = source(REPO)
    with tempfile.TemporaryDirectory(prefix="lobstr-sizes-") as scratch:
        sizes, extras = measure(Path(scratch))
    text = section(sizes, extras, machine)
    print(text)
    if not args.no_write:
        write_section(args.out, HEADING, text)
        print(f"wrote the page-weight section of {args.out.name}", file=sys.stderr)
    return 0 if all(s.met is not False for s in sizes) else 1


if __name__ == "__main__":
    raise SystemExit(main())
