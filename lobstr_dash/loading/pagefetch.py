"""Fetch one page of a run's tasks, and tell a lying page count from a plan's cap."""

from __future__ import annotations

from ..upstream.client import LobstrClient
from ..upstream.envelopes import RunTaskPage
from ..upstream.errors import LobstrError


class EmptyPageError(LobstrError):
    """lobstr answered an empty page before the run's last page."""

    kind = "bad_response"


def fetch_page(client: LobstrClient, run_id: str, page: int, total_pages: int,
               page_size: int) -> RunTaskPage:
    """Fetch one page; an empty page before the last is retried once, then counted as failed."""
    result = client.runtasks_page(run_id, page, page_size, patient=True)
    if result.rows or page >= total_pages or result.warning:
        return result  # an empty page with lobstr's warning is its plan's cap, not a fault
    result = client.runtasks_page(run_id, page, page_size, patient=True)
    if result.rows or page >= result.total_pages:
        return result
    raise EmptyPageError(f"lobstr answered page {page} empty, before the last page")


def claimed_pages(page: RunTaskPage, read: int) -> int | None:
    """The page count lobstr declared, when it is more than the pages read."""
    return page.claimed_pages if page.claimed_pages and page.claimed_pages > read else None
