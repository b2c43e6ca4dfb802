"""Per-task outcome generators (status, counts, times) for each kind of fake run."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Callable
from typing import NamedTuple

from lobstr_dash.fake.timefmt import STYLE_FRACTION, STYLE_NAIVE, STYLE_Z

CLEAN = "clean"
ABORTED = "aborted"
MIXED = "mixed"
LIVE = "live"
EMPTY = "empty"
REALISTIC = "realistic"
#: Rows written by hand (tests): no generator.
CUSTOM = "custom"
#: Demo mode's alert loop: a short run that starts with the fake and ends in error.
LIVE_SHORT = "live_short"
LIVE_SHORT_SPAN_SECONDS = 90.0

LIVE_SPAN_SECONDS = 600.0

# done_reason_desc sentences; roughly half the failing rows carry one, the rest stay null.
REASON_DESC = {
    "cookies_expired": "The session cookies of the synced account expired. Re-sync the account.",
    "wrong_credentials": "Login failed: the account credentials are wrong.",
    "account_blocked": "The platform blocked this account.",
    "no_account_available": "All linked accounts are busy; the task will be retried.",
    "no_credits_left": "You have no credits left. Top up your balance to resume.",
    "website_inaccessible": "The target website did not answer (HTTP 503).",
    "request_failed": "A request failed after 3 attempts.",
    "proxy_timeout": "Proxy timed out after 30s.",
}
HOSTILE_DESC_INDEX = 61
HOSTILE_DESC = "<img src=x onerror=alert(1)> failed"


class Facts(NamedTuple):
    """Outcome of one runtask, before formatting into an API row."""

    status: str
    done_reason: str | None
    desc: str | None
    expected: int | None
    collected: int
    started: float | None
    ended: float | None
    last_collection: float | None
    ts_style: str


class RowContext(NamedTuple):
    """Inputs a scenario needs to decide the outcome of task `index`."""

    rng: random.Random
    index: int
    count: int
    base: float
    now: float


Scenario = Callable[[RowContext], Facts]


def row_rng(seed: int, run_id: str, index: int) -> random.Random:
    """Random generator unique to one row and stable across processes."""
    digest = hashlib.md5(f"{seed}:{run_id}:{index}".encode()).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _style(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.8:
        return STYLE_Z
    return STYLE_FRACTION if roll < 0.93 else STYLE_NAIVE


def _slot(ctx: RowContext, spacing: float) -> tuple[float, float, int, str]:
    """Start time, duration, expected count and timestamp style drawn for a row."""
    rng = ctx.rng
    start = ctx.base + 2.0 + ctx.index * spacing + rng.uniform(0.0, 1.5)
    expected = rng.randint(8, 180)
    duration = 4.0 + expected * 0.12 + rng.uniform(0.0, 6.0)
    return start, duration, expected, _style(rng)


def _done(status: str, reason: str | None, expected: int | None, collected: int,
          start: float, duration: float, style: str, desc: str | None = None) -> Facts:
    end = start + duration
    last = end - 0.4 if collected else None
    return Facts(status, reason, desc, expected, collected, start, end, last, style)


def _failed(ctx: RowContext, reason: str | None, start: float, expected: int, style: str) -> Facts:
    rng = ctx.rng
    partial = rng.random() < 0.4
    collected = rng.randint(1, max(1, expected // 2)) if partial else 0
    # Account/credit failures often stop before the first page, so the expected count is unknown.
    known = partial or rng.random() < 0.5
    desc = REASON_DESC.get(reason or "") if rng.random() < 0.5 else None
    return _done("error", reason, expected if known else None, collected, start,
                 rng.uniform(1.0, 12.0), style, desc)


def clean(ctx: RowContext) -> Facts:
    """Every task completed and collected exactly what it expected."""
    start, duration, expected, style = _slot(ctx, 1.5)
    if ctx.index % 29 == 5:
        expected = 0
    return _done("completed", "completed", expected, expected, start, duration, style)


def aborted(ctx: RowContext) -> Facts:
    """Completed tasks, then partial tasks cut by the abort, then never-started tasks."""
    start, duration, expected, style = _slot(ctx, 1.2)
    first_cut, never = int(ctx.count * 0.57), int(ctx.count * 0.9)
    if ctx.index < first_cut or (ctx.index < never and ctx.rng.random() < 0.15):
        return _done("completed", "completed", expected, expected, start, duration, style)
    if ctx.index < never:
        collected = ctx.rng.randint(0, expected - 1)
        abort_at = ctx.base + 2.0 + never * 1.2
        end = max(abort_at, start + 0.5)
        last = end - 1.0 if collected else None
        return Facts("aborted", "run_aborted", None, expected, collected, start, end, last, style)
    return Facts("aborted", "run_aborted", None, None, 0, None, None, None, style)


_MIXED_FAILURES = (
    (0.06, "cookies_expired"), (0.03, "wrong_credentials"), (0.03, "account_blocked"),
    (0.05, "no_account_available"), (0.06, "website_inaccessible"), (0.06, "request_failed"),
    (0.03, "proxy_timeout"), (0.03, None),
)


def mixed(ctx: RowContext) -> Facts:
    """Account, credit, site and undocumented failures mixed with odd successes."""
    rng = ctx.rng
    start, duration, expected, style = _slot(ctx, 2.0)
    if ctx.index >= ctx.count - 28:
        return _failed(ctx, "no_credits_left", start, expected, style)
    roll = rng.random()
    if roll < 0.55:
        odd = rng.random()
        if odd < 0.05:
            return _done("completed", "completed", expected, expected + rng.randint(1, 25),
                         start, duration, style)
        if odd < 0.10:
            return _done("completed", "completed", None, expected, start, duration, style)
        if odd < 0.14:
            return _done("completed", None, expected, expected, start, duration, style)
        return _done("completed", "completed", expected, expected, start, duration, style)
    roll -= 0.55
    for weight, reason in _MIXED_FAILURES:
        if roll < weight:
            facts = _failed(ctx, reason, start, expected, style)
            if ctx.index == HOSTILE_DESC_INDEX:
                facts = facts._replace(desc=HOSTILE_DESC)
            return facts
        roll -= weight
    # Silent partial: "completed" while collecting fewer results than expected.
    return _done("completed", "completed", expected, rng.randint(0, expected - 1),
                 start, duration, style)


def live(ctx: RowContext) -> Facts:
    """Pending → running → completed as `ctx.now` moves through the run's span."""
    rng = ctx.rng
    spacing = (LIVE_SPAN_SECONDS - 90.0) / max(ctx.count, 1)
    start = ctx.base + 1.0 + ctx.index * spacing + rng.uniform(0.0, 2.0)
    duration = rng.uniform(15.0, 60.0)
    expected = rng.randint(20, 200)
    style = _style(rng)
    if ctx.now < start:
        return Facts("pending", None, None, None, 0, None, None, None, style)
    if ctx.now < start + duration:
        collected = int(expected * (ctx.now - start) / duration)
        last = start + duration * collected / expected if collected else None
        return Facts("running", None, None, expected, collected, start, None, last, style)
    return _done("completed", "completed", expected, expected, start, duration, style)


def live_short(ctx: RowContext) -> Facts:
    """Pending → running → done over ~90 s; the last third runs out of credits, some accounts expire."""
    rng = ctx.rng
    spacing = (LIVE_SHORT_SPAN_SECONDS - 30.0) / max(ctx.count, 1)
    start = ctx.base + 1.0 + ctx.index * spacing + rng.uniform(0.0, 1.0)
    duration = rng.uniform(5.0, 15.0)
    expected = rng.randint(20, 120)
    style = _style(rng)
    if ctx.now < start:
        return Facts("pending", None, None, None, 0, None, None, None, style)
    if ctx.now < start + duration:
        collected = int(expected * (ctx.now - start) / duration)
        return Facts("running", None, None, expected, collected, start, None, None, style)
    if ctx.index >= ctx.count * 2 // 3:
        return _done("error", "no_credits_left", expected, rng.randint(0, expected // 3), start,
                     duration, style, REASON_DESC["no_credits_left"])
    if rng.random() < 0.15:
        return _done("error", "cookies_expired", expected, rng.randint(0, expected // 2), start,
                     duration, style, REASON_DESC["cookies_expired"])
    return _done("completed", "completed", expected, expected, start, duration, style)


_REALISTIC_FAILURES = (
    (0.03, "request_failed"), (0.02, "website_inaccessible"), (0.01, "cookies_expired"),
    (0.01, "no_account_available"), (0.005, "proxy_timeout"), (0.005, None),
)


def realistic(ctx: RowContext) -> Facts:
    """Large-run distribution: mostly complete, a few partial, a sprinkle of errors."""
    rng = ctx.rng
    start, duration, expected, style = _slot(ctx, 0.35)
    roll = rng.random()
    for weight, reason in _REALISTIC_FAILURES:
        if roll < weight:
            return _failed(ctx, reason, start, expected, style)
        roll -= weight
    odd = rng.random()
    if odd < 0.03:
        return _done("completed", "completed", expected, rng.randint(0, expected - 1),
                     start, duration, style)
    if odd < 0.04:
        return _done("completed", "completed", None, expected, start, duration, style)
    if odd < 0.05:
        return _done("completed", "completed", expected, expected + rng.randint(1, 10),
                     start, duration, style)
    return _done("completed", "completed", expected, expected, start, duration, style)


SCENARIOS: dict[str, Scenario] = {
    CLEAN: clean,
    ABORTED: aborted,
    MIXED: mixed,
    LIVE: live,
    EMPTY: clean,
    REALISTIC: realistic,
    LIVE_SHORT: live_short,
}
