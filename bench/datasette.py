"""Datasette 0.65.5 serving the dashboard's own store file: the same questions asked of it.

It is an optional bench dependency (requirements-bench.txt, installed into .venv-bench by
`make bench` only), run as its own process like the dashboard.
"""

from __future__ import annotations

import csv
import io
import sqlite3
import subprocess
from pathlib import Path
from urllib.parse import quote

import requests

from bench.browser import timed_get
from bench.procs import REPO, free_port, wait_http
from bench.timing import median

DATASETTE = REPO / ".venv-bench" / "bin" / "datasette"

METHOD = ("Datasette: `datasette serve -i FILE` (immutable, so it counts rows once) with"
          " suggest_facets off and the run's table filtered by `run_id`, sorted `_sort_desc=gap`,"
          " 100 rows, facets status, done_reason and gap_class (what the run page shows); page 500"
          " through its `_next` token for the 49,900th row; status through `status=error`; search"
          " through `params_json__contains=` (LIKE); CSV through `_stream=on` unsorted (its sorted"
          " stream re-seeks by token and loses rows at ties). Same machine, same medians.")


def available() -> bool:
    """True when the bench venv has Datasette."""
    return DATASETTE.exists()


def _token(path: Path, run_id: str, offset: int) -> str:
    """Datasette's `_next` for the row before `offset` in its order (gap desc, then the key)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        gap, run, task = conn.execute(
            "SELECT gap, run_id, id FROM tasks WHERE run_id = ? ORDER BY gap DESC, run_id, id"
            " LIMIT 1 OFFSET ?", (run_id, offset - 1)).fetchone()
    finally:
        conn.close()
    return ",".join(quote(str("$null" if v is None else v), safe="") for v in (gap, run, task))


def measure(workdir: Path, store: Path, big: str, small: str, *, rounds: int) -> dict[str, float]:
    """Median seconds of each of Datasette's answers, and its CSV export's row count."""
    port = free_port()
    log = (workdir / "datasette.log").open("wb")
    proc = subprocess.Popen(
        [str(DATASETTE), "serve", "-i", str(store), "--port", str(port),
         "--setting", "suggest_facets", "off", "--setting", "sql_time_limit_ms", "60000",
         "--setting", "facet_time_limit_ms", "60000", "--setting", "max_returned_rows", "1000"],
        cwd=workdir, stdout=log, stderr=subprocess.STDOUT)
    log.close()
    try:
        base = f"http://127.0.0.1:{port}"
        wait_http(f"{base}/-/versions.json", proc, timeout=60)
        table = f"{base}/{store.stem}/tasks"
        facets = "&_facet=status&_facet=done_reason&_facet=gap_class"
        first = "?run_id={}&_sort_desc=gap&_size=100" + facets
        urls = {
            "first9k": table + first.format(small),
            "first100k": table + first.format(big),
            "deep100k": table + first.format(big) + "&_next=" + _token(store, big, 49_900),
            "status100k": table + first.format(big) + "&status=error",
            "search100k": table + first.format(big) + "&params_json__contains=boulangerie",
        }
        samples: dict[str, list[float]] = {key: [] for key in urls}
        for index in range(rounds + 3):
            for key, url in urls.items():
                took, status, _size = timed_get(url)
                assert status == 200, (key, status)
                if index >= 3:
                    samples[key].append(took)
        found = {key: median(values) for key, values in samples.items()}
        csv_took, status, _size = timed_get(f"{table}.csv?run_id={big}&_stream=on&_size=max",
                                            timeout=600)
        text = requests.get(f"{table}.csv?run_id={big}&_stream=on&_size=max", timeout=600).text
        found["csv"] = csv_took
        found["csv_rows"] = sum(1 for _row in csv.reader(io.StringIO(text))) - 1  # minus header
        return found
    finally:
        proc.terminate()
        proc.wait(timeout=10)
