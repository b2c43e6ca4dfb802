"""Every link of the run page, built from the run id and the current query."""

from __future__ import annotations

from flask import url_for

from ..domain.query import NO_REASON
from ..domain.query import TaskQuery
from .links import QueryLinks
from .querystring import query_args


class RunLinks:
    """Every link of the run page, built from the run and the current query."""

    def __init__(self, run_id: str, query: TaskQuery, seen: str, squid: str | None) -> None:
        self.run_id = run_id
        #: The page with the current query, changed: `links.page(sort="gap", page=None)`.
        self.page = QueryLinks("run.page", query_args(query), run_id=run_id)
        #: The status poll: the filters come from the form (hx-include), so they are never stale.
        self.status_poll = url_for("run.page", run_id=run_id, seen=seen)
        self.clear = url_for("run.page", run_id=run_id)
        self.refresh = url_for("run.refresh", run_id=run_id)
        self.raw_api = url_for("api.runtasks", run=run_id, page=1, limit=100)
        self.digest = url_for("digest.page", run_id=run_id)
        self.previous = url_for("compare.previous", run_id=run_id)
        self.glossary = url_for("glossary.page")
        self.squid_runs = url_for("squids.runs", squid_id=squid) if squid else None
        everything = query_args(query, page=None)
        self.exports = {fmt: url_for("exports.tasks", run_id=run_id, fmt=fmt, **everything)
                        for fmt in ("csv", "json")}
        kit = query_args(query, page=None, sort=None, dir=None)
        self.requeue = {fmt: url_for("requeue.kit", run_id=run_id, fmt=fmt, **kit)
                        for fmt in ("csv", "txt")}

    @property
    def resurrect(self) -> str:
        """The confirmation page of a resurrect (actions on)."""
        return url_for("actions.resurrect", run_id=self.run_id)

    def retry(self, task_id: str) -> str:
        """The confirmation page of one task's retry (actions on)."""
        return url_for("actions.retry", run_id=self.run_id, runtask_id=task_id)

    def reason(self, code: str | None) -> str:
        """The whole run's task table filtered to one done_reason (the reason cards)."""
        return url_for("run.page", run_id=self.run_id, reason=[code or NO_REASON])

    def cause(self, key: str) -> str:
        """The whole run's task table filtered to one gap class (the verdict)."""
        return url_for("run.page", run_id=self.run_id, **{"class": [key]})
