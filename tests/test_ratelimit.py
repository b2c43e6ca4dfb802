"""SlidingWindowLimiter: burst first, then one call per slot that ages out; server hints obeyed.

All but the thread-safety test run on a fake clock whose `sleep` moves time forward, so they are
deterministic and never sleep for real.
"""

from __future__ import annotations

import threading
from typing import Any
import time

import pytest

from lobstr_dash.upstream.ratelimit import RateLimitWaitTooLong, SlidingWindowLimiter

WALL_START = 1_750_000_000.0


class FakeClock:
    """A list-backed clock: `now` is the sum of every sleep so far."""

    def __init__(self, start: float = 1000.0) -> None:
        self.start = start
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.start + sum(self.sleeps)

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0, "the limiter asked to sleep a negative time"
        self.sleeps.append(seconds)

    def advance(self, seconds: float) -> None:
        """Time passes without the limiter sleeping (the caller did other work)."""
        self.sleeps.append(seconds)

    def wall(self) -> float:
        return WALL_START + sum(self.sleeps)


@pytest.fixture()
def clock() -> FakeClock:
    return FakeClock()


def limiter_on(clock: FakeClock, limit: int = 3, window: float = 10.0,
               margin: float = 0.5) -> SlidingWindowLimiter:
    return SlidingWindowLimiter(limit, window, margin=margin, clock=clock, wall_clock=clock.wall,
                                sleep=clock.sleep)


def test_a_burst_of_limit_calls_never_waits(clock) -> None:
    limiter = limiter_on(clock, limit=5)
    assert [limiter.acquire() for _ in range(5)] == [0.0] * 5
    assert clock.sleeps == []
    assert limiter.waits == 0 and limiter.waited_seconds == 0.0


def test_the_call_after_a_burst_waits_until_the_oldest_ages_out_plus_margin(clock) -> None:
    limiter = limiter_on(clock, limit=3, window=10.0, margin=0.5)
    for _ in range(3):
        limiter.acquire()
    waited = limiter.acquire()
    assert waited == pytest.approx(10.5)
    assert clock() == pytest.approx(1010.5)
    assert limiter.waits == 1
    assert limiter.waited_seconds == pytest.approx(10.5)


def test_waiting_happens_in_slices_of_at_most_one_second(clock) -> None:
    limiter = limiter_on(clock, limit=1, window=4.0, margin=0.25)
    limiter.acquire()
    limiter.acquire()
    assert clock.sleeps and max(clock.sleeps) <= 1.0
    assert sum(clock.sleeps) == pytest.approx(4.25)


def test_spread_calls_wait_only_for_the_oldest_one_in_the_window(clock) -> None:
    limiter = limiter_on(clock, limit=3, window=10.0, margin=0.5)
    for _ in range(3):
        limiter.acquire()  # at 1000, 1002, 1004
        clock.advance(2.0)
    assert clock() == pytest.approx(1006.0)
    assert limiter.acquire() == pytest.approx(4.5)  # the call at 1000 ages out at 1010.5
    assert clock() == pytest.approx(1010.5)
    assert limiter.acquire() == pytest.approx(2.0)  # then the one at 1002, out at 1012.5


def test_calls_older_than_the_window_free_their_slot_without_waiting(clock) -> None:
    limiter = limiter_on(clock, limit=2, window=10.0, margin=0.5)
    limiter.acquire()
    limiter.acquire()
    clock.advance(10.5)
    assert limiter.acquire() == 0.0
    assert limiter.acquire() == 0.0


@pytest.mark.parametrize(("limit", "window", "gaps"), [
    (3, 10.0, [0.0]),
    (5, 60.0, [0.0, 0.7, 13.0, 0.0, 2.5]),
    (2, 1.0, [0.1, 0.0, 0.35]),
])
def test_never_more_than_limit_calls_inside_any_window(clock, limit, window, gaps) -> None:
    limiter = limiter_on(clock, limit=limit, window=window, margin=0.5)
    stamps = []
    for i in range(40):
        limiter.acquire()
        stamps.append(clock())
        clock.advance(gaps[i % len(gaps)])
    for first, later in zip(stamps, stamps[limit:], strict=False):
        assert later - first >= window  # the (limit+1)-th call is at least a window after the 1st
    assert len(stamps) == 40


def test_pause_blocks_every_call_for_that_long(clock) -> None:
    limiter = limiter_on(clock, limit=100)
    limiter.pause(5.0)
    assert limiter.acquire() == pytest.approx(5.0)
    assert limiter.acquire() == 0.0


def test_pause_applies_even_when_the_window_limit_is_off(clock) -> None:
    limiter = limiter_on(clock, limit=0)
    limiter.pause(2.0)
    assert limiter.acquire() == pytest.approx(2.0)


def test_a_shorter_pause_does_not_shorten_a_longer_one(clock) -> None:
    limiter = limiter_on(clock)
    limiter.pause(5.0)
    limiter.pause(1.0)
    assert limiter.acquire() == pytest.approx(5.0)


@pytest.mark.parametrize("seconds", [0.0, -3.0])
def test_a_zero_or_negative_pause_does_not_block(clock, seconds) -> None:
    limiter = limiter_on(clock)
    limiter.pause(seconds)
    assert limiter.acquire() == 0.0
    assert clock.sleeps == []


def test_pause_and_window_combine_to_the_longer_wait(clock) -> None:
    limiter = limiter_on(clock, limit=1, window=10.0, margin=0.5)
    limiter.acquire()
    limiter.pause(3.0)
    assert limiter.acquire() == pytest.approx(10.5)


def test_limit_zero_means_no_window_limit(clock) -> None:
    limiter = limiter_on(clock, limit=0)
    assert all(limiter.acquire() == 0.0 for _ in range(1000))
    assert clock.sleeps == []


def test_observe_nothing_remaining_blocks_until_the_reset(clock) -> None:
    limiter = limiter_on(clock, window=60.0)
    limiter.observe(remaining="0", reset=str(WALL_START + 7))
    assert limiter.acquire() == pytest.approx(7.0)


@pytest.mark.parametrize(("remaining", "reset"), [
    ("5", str(WALL_START + 7)),     # requests left
    ("0", None),                    # no reset given
    (None, str(WALL_START + 7)),    # no remaining given
    ("0", str(WALL_START - 30)),    # reset already passed
    ("zero", str(WALL_START + 7)),  # unreadable
    ("0", "tomorrow"),              # unreadable
])
def test_observe_without_an_exhausted_budget_and_a_future_reset_does_not_block(clock, remaining,
                                                                               reset) -> None:
    limiter = limiter_on(clock)
    limiter.observe(remaining=remaining, reset=reset)
    assert limiter.acquire() == 0.0


def test_observe_never_blocks_longer_than_one_window(clock) -> None:
    limiter = limiter_on(clock, window=60.0)
    limiter.observe(remaining="0", reset=str(WALL_START + 86_400))
    assert limiter.acquire() == pytest.approx(60.0)


def test_a_wait_beyond_the_deadline_raises_instead_of_sleeping(clock) -> None:
    limiter = limiter_on(clock, limit=1, window=10.0, margin=0.5)
    limiter.acquire()
    with pytest.raises(RateLimitWaitTooLong) as info:
        limiter.acquire(deadline=clock() + 5.0)
    assert info.value.wait == pytest.approx(10.5)
    assert "10.5" in str(info.value)
    assert clock.sleeps == []
    # The refused call took no slot: once the window passes, one call goes straight through.
    clock.advance(10.5)
    assert limiter.acquire() == 0.0


def test_a_pause_beyond_the_deadline_raises(clock) -> None:
    limiter = limiter_on(clock)
    limiter.pause(30.0)
    with pytest.raises(RateLimitWaitTooLong) as info:
        limiter.acquire(deadline=clock() + 1.0)
    assert info.value.wait == pytest.approx(30.0)


def test_a_wait_that_fits_the_deadline_is_served(clock) -> None:
    limiter = limiter_on(clock, limit=1, window=10.0, margin=0.5)
    limiter.acquire()
    assert limiter.acquire(deadline=clock() + 10.5) == pytest.approx(10.5)


def test_a_deadline_is_irrelevant_when_a_slot_is_free(clock) -> None:
    limiter = limiter_on(clock)
    assert limiter.acquire(deadline=clock() - 100.0) == 0.0


def test_the_margin_defaults_to_half_a_second(clock) -> None:
    limiter = SlidingWindowLimiter(1, 10.0, clock=clock, wall_clock=clock.wall, sleep=clock.sleep)
    limiter.acquire()
    assert limiter.acquire() == pytest.approx(10.5)


def test_threads_sharing_a_limiter_never_exceed_the_limit_in_any_window() -> None:
    limit, window, margin = 5, 0.4, 0.02
    threads_count, calls_each = 4, 3  # 12 calls: 5 + 5 + 2, so two full waits
    seen = threading.local()

    def clock() -> float:
        # The last clock reading a thread makes inside acquire() is the moment recorded for its call.
        seen.now = time.monotonic()
        return seen.now

    limiter = SlidingWindowLimiter(limit, window, margin=margin, clock=clock)
    stamps: list[float] = []
    stamps_lock = threading.Lock()
    start = threading.Barrier(threads_count)

    def worker() -> None:
        start.wait()
        for _ in range(calls_each):
            limiter.acquire()
            with stamps_lock:
                stamps.append(seen.now)

    began = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=10)
    elapsed = time.monotonic() - began

    assert not any(thread.is_alive() for thread in threads)
    assert len(stamps) == threads_count * calls_each
    stamps.sort()
    for first, later in zip(stamps, stamps[limit:], strict=False):
        assert later - first >= window
    assert elapsed >= 2 * window
    assert elapsed < 5.0
    assert limiter.waits >= 2  # someone waited for each of the two later windows


def _take_slots(path: str, count: int, start: Any, out: Any) -> None:
    """Child process: take `count` slots of a shared 6-per-1.5 s window, report when each went."""
    from lobstr_dash.store import SharedWindows

    limiter = SlidingWindowLimiter(6, 1.5, margin=0.05, book=SharedWindows(path))
    start.wait(10)
    for _ in range(count):
        limiter.acquire()
        out.put(time.time())


@pytest.mark.slow
def test_the_shared_limiter_holds_one_budget_across_processes(tmp_path: Any) -> None:
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    start, out = context.Event(), context.Queue()
    path = str(tmp_path / "ratelimit.sqlite3")
    children = [context.Process(target=_take_slots, args=(path, 6, start, out)) for _ in range(2)]
    for child in children:
        child.start()
    time.sleep(1.0)
    start.set()
    sent = sorted(out.get(timeout=20) for _ in range(12))
    for child in children:
        child.join(10)
    # Twelve sends by two processes against one budget of 6 per 1.5 s: never 7 in a window.
    # (Times are taken just after each slot is granted; a loaded machine may delay a report
    # by a few tenths, while two separate budgets would put all twelve within milliseconds.)
    for i in range(len(sent) - 6):
        assert sent[i + 6] - sent[i] >= 1.2
    assert sent[-1] - sent[0] >= 1.2


def test_the_shared_limiter_pause_reaches_every_process(tmp_path: Any) -> None:
    from lobstr_dash.store import SharedWindows

    one = SlidingWindowLimiter(100, 60, book=SharedWindows(tmp_path / "r.sqlite3"))
    other = SlidingWindowLimiter(100, 60, book=SharedWindows(tmp_path / "r.sqlite3"))
    one.pause(0.4)
    started = time.monotonic()
    other.acquire()
    assert time.monotonic() - started >= 0.35


def test_each_endpoint_family_has_its_own_window() -> None:
    waits: list[float] = []
    limiter = SlidingWindowLimiter(5, 60.0, limits={"runtasks": 2}, sleep=waits.append)
    limiter.acquire(key="runtasks")
    limiter.acquire(key="runtasks")
    with pytest.raises(RateLimitWaitTooLong):
        limiter.acquire(deadline=time.monotonic() + 1.0, key="runtasks")
    # The run context's calls (runs) are not held up by a run's pages (runtasks).
    for _ in range(5):
        assert limiter.acquire(deadline=time.monotonic() + 1.0, key="runs") < 0.01
    limiter.pause(30.0, key="runs")
    with pytest.raises(RateLimitWaitTooLong):
        limiter.acquire(deadline=time.monotonic() + 1.0, key="runs")
    assert waits == []
