"""Stored figures (issue 15): a finished load's summary, cards, verdict rows, charts and counts are
computed once and kept in the store file, so another process (or a restart) reads them back equal
instead of aggregating the run again; a new load, or a load in progress, never reads stale ones."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from lobstr_dash.domain.query import TaskFilter
from lobstr_dash.store import Store
from lobstr_dash.store import aggregates
from lobstr_dash.store import tasks
from lobstr_dash.store.figurestore import decode
from lobstr_dash.store.figurestore import encode
from tests.support import make_rows
from tests.taskrows import save_run

RUN = "9" * 32
FILTERS = [TaskFilter(), TaskFilter(statuses=("error",), text="place-1"), TaskFilter(short_only=True)]


def figures(store: Store) -> list[object]:
    found: list[object] = [store.summary(RUN), store.reason_cards(RUN), store.shortfall(RUN),
                           store.run_state(RUN).rows_stored]  # type: ignore[union-attr]
    for task_filter in FILTERS:
        found += [store.completeness_buckets(RUN, task_filter),
                  store.missing_by_reason(RUN, task_filter), store.timeline(RUN, task_filter),
                  store.count(RUN, task_filter)]
    return found


def settle(store: Store, rows: int) -> None:
    """Wait for the background writes of the figures."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if store.db.connection().execute("SELECT count(*) FROM run_figures").fetchone()[0] >= rows:
            return
        time.sleep(0.02)
    raise AssertionError("figures were not stored")


def test_another_process_reads_the_figures_back_without_computing(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "s.sqlite3"
    first = Store(path)
    save_run(first, RUN, make_rows(RUN, 450))
    computed = figures(first)
    # summary, cards, shortfall, rows; four per filter; the text filter's rowid range too
    settle(first, 3 + 1 + 4 * len(FILTERS) + 1)
    for module, name in ((tasks, "_summary_of"), (aggregates, "_reason_cards"),
                         (aggregates, "_shortfall"), (aggregates, "_completeness_buckets"),
                         (aggregates, "_missing_by_reason"), (aggregates, "_timeline")):
        monkeypatch.setattr(module, name, lambda *a, **k: pytest.fail("computed again"))
    again = Store(path)  # a fresh process: an empty memory cache
    assert figures(again) == computed


def test_a_new_load_never_reads_the_figures_of_the_last(tmp_path: Path) -> None:
    path = tmp_path / "s.sqlite3"
    first = Store(path)
    save_run(first, RUN, make_rows(RUN, 300))
    assert first.summary(RUN).tasks == 300
    settle(first, 1)
    save_run(first, RUN, make_rows(RUN, 420))  # loaded again: a new stamp
    assert Store(path).summary(RUN).tasks == 420


@pytest.mark.parametrize("value", [
    None, 3, 2.5, "x", [1, (2, 3)], {None: 1, "a": 2, 3: (4,)}, (TaskFilter(text="é"), 60, 300)])
def test_the_codec_gives_back_what_it_was_given(value: object) -> None:
    assert decode(encode(value)) == value


def test_the_codec_refuses_classes_it_does_not_know() -> None:
    with pytest.raises(TypeError):
        encode(Path("/etc"))
    with pytest.raises(KeyError):
        decode({"c": "Popen", "f": {}})
