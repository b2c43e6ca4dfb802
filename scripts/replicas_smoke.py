"""Check two lobstr-dash replicas that share one DATABASE_URL (scripts/image-check.sh runs this).

Standard library only. Usage: python3 scripts/replicas_smoke.py BASE_A BASE_B
Both run in demo mode (each serves the built-in fake to itself): 20 concurrent cold opens of the
5,000-task demo run, split over the two, must cost its 50 pages once in all (their /metrics, summed),
and both must serve the same rows. Exits non-zero on the first failed check, saying which.
"""

from __future__ import annotations

import json
import re
import sys
import time
import urllib.request
from concurrent.futures import ThreadPoolExecutor

BIG_DEMO_RUN = "a9dc0f6a3e08e6dddea4c17a996bf667"
PAGES = 50


def get(url: str) -> bytes:
    """GET with a long timeout (exports wait for the load)."""
    with urllib.request.urlopen(url, timeout=120) as answer:  # noqa: S310 (loopback URL)
        return answer.read()  # type: ignore[no-any-return]


def runtasks_requests(base: str) -> int:
    """Upstream /v1/runtasks requests this replica sent, from its /metrics."""
    text = get(base + "/metrics").decode()
    found = re.findall(r'^lobstr_dash_upstream_requests_total\{[^}]*endpoint="runtasks"[^}]*\} (\S+)$',
                       text, re.M)
    return int(sum(float(v) for v in found))


def wait_healthy(base: str, timeout: float = 60.0) -> bool:
    """Poll /healthz until it answers (the containers were just started)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            get(base + "/healthz")
            return True
        except OSError:
            time.sleep(0.25)
    return False


def main() -> int:
    """Run the checks; print one line per check."""
    bases = sys.argv[1:3]
    for base in bases:
        if not wait_healthy(base):
            print(f"FAIL {base}/healthz never answered")
            return 1
    with ThreadPoolExecutor(20) as pool:
        list(pool.map(lambda i: get(f"{bases[i % 2]}/runs/{BIG_DEMO_RUN}"), range(20)))
    rows = [json.loads(get(f"{base}/runs/{BIG_DEMO_RUN}/tasks.json"))["tasks"] for base in bases]
    if len(rows[0]) != 5000 or rows[0] != rows[1]:
        print(f"FAIL the replicas serve different rows ({len(rows[0])} and {len(rows[1])})")
        return 1
    print("  ok  both replicas serve the same 5,000 rows")
    sent = [runtasks_requests(base) for base in bases]
    if sum(sent) != PAGES:
        print(f"FAIL {sum(sent)} runtasks requests in all ({sent[0]} + {sent[1]}), not {PAGES}")
        return 1
    print(f"  ok  20 cold opens over two replicas cost {PAGES} runtasks requests in all "
          f"({sent[0]} + {sent[1]}): one load, shared through PostgreSQL")
    return 0


if __name__ == "__main__":
    sys.exit(main())
