"""Which pages of a run are left to fetch, and when to stop asking lobstr for more.

lobstr's counters are not trusted for size: the pages of a run are drawn one at a time (never a
list of every page number), at most MAX_PAGES of them, and the load stops early when lobstr's list
plainly ended (empty pages in a row past the last page with rows) or when page after page fails
(the rest are recorded as failed without being asked for: "Retry the missing rows" asks again).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator

#: The most pages read for one run: 1,000,000 tasks at 100 a page, ten times lobstr's largest runs
#: seen; a claim of more is recorded as implausible.
MAX_PAGES = 10_000
#: Empty pages in a row, past every page that had rows, that mean lobstr's list has ended.
END_STREAK = 4
#: Failed pages in a row (nothing stored between them) after which no more are asked for.
BREAKER = 20


class PageBook:
    """The pages still to fetch for one load, drawn lazily, and the reasons to stop early."""

    def __init__(self, todo: Iterator[int], known: int) -> None:
        self._todo: Iterator[int] = iter(todo)
        #: The run's page count as known now (it grows when lobstr reports more).
        self.known = known
        self.last_with_rows = 0
        self._empty: set[int] = set()
        self._streak = 0
        self._ended = False
        #: Why the rest of the pages were not asked for, once the breaker tripped.
        self.breaker: str | None = None
        #: The last page holding rows within a plan's export cap, once lobstr said it was reached.
        self.capped_after: int | None = None

    def next(self) -> int | None:
        """The next page to fetch, or None when there is none (or the load should stop)."""
        if self._ended or self.breaker is not None or self.capped_after is not None:
            return None
        return next(self._todo, None)

    def grow(self, known: int) -> None:
        """lobstr now reports `known` pages: fetch the new ones after the rest."""
        self._todo = itertools.chain(self._todo, range(self.known + 1, known + 1))
        self.known = known

    def succeeded(self, page: int, rows: int) -> None:
        """A page was stored."""
        self._streak = 0
        if rows:
            self.last_with_rows = max(self.last_with_rows, page)
            self._empty = {p for p in self._empty if p > page}

    def capped(self, page: int, rows: int) -> None:
        """lobstr said its plan's export cap was reached on this page: ask for no more pages."""
        last = page if rows else page - 1
        self.capped_after = last if self.capped_after is None else min(self.capped_after, last)

    def failed(self, page: int, *, empty: bool) -> None:
        """A page failed (`empty`: lobstr answered it empty, twice, before the last page)."""
        self._streak += 1
        if empty and page > self.last_with_rows:
            self._empty.add(page)
            if len(self._empty) >= END_STREAK:
                self._ended = True
        if self._streak >= BREAKER and not self._ended:
            self.breaker = f"lobstr failed {self._streak} pages in a row"

    @property
    def ended_at(self) -> int | None:
        """The last page of lobstr's list when it ended before the page count it claimed."""
        return max(1, self.last_with_rows) if self._ended else None

    def abandoned(self) -> Iterator[int]:
        """The pages not asked for because the breaker tripped (none otherwise)."""
        return iter(self._todo) if self.breaker is not None and not self._ended else iter(())
