"""Actions that change a run in lobstr: resurrect an aborted run, retry one task.

Each action reaches lobstr once (a POST is never retried: a second try could act twice), is
written to the audit log with lobstr's answer, and on success marks the run reopened so the next
look reloads it as a live run.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ..store import ActionRecord
from ..store import Store
from ..upstream.client import LobstrClient
from ..upstream.errors import LobstrError
from ..upstream.errors import LobstrRateLimited

log = logging.getLogger("lobstr_dash.actions")

RESURRECT = "resurrect"
RETRY = "retry"

#: lobstr's refusals, in words a user acts on (the codes its docs name for these endpoints).
REFUSALS: dict[str, str] = {
    "RunNotAborted": "lobstr resurrects only runs that were aborted; this one ended otherwise.",
    "RunInProgress": "The run is still active: a task can be retried once the run has ended.",
    "ClusterBusy": "Another run of this squid is active: retry once it has ended.",
    "RetryCooldown": "This task was retried less than 5 minutes ago: lobstr allows one retry of "
                     "a task every 5 minutes.",
}


class Actions:
    """Performs actions through the client and keeps the audit log in the store."""

    def __init__(self, client: LobstrClient, store: Store,
                 on_action: Callable[[str, str], None] | None = None) -> None:
        self.client = client
        self.store = store
        #: Hears (action, outcome) of every action (the metrics).
        self.on_action = on_action

    def resurrect(self, run_id: str, user: str | None) -> ActionRecord:
        """Ask lobstr to reopen an aborted run (`POST /v1/runs/{run}/resurrect`)."""
        return self._act(RESURRECT, f"runs/{run_id}/resurrect", run_id, None, user)

    def retry(self, run_id: str, runtask_id: str, user: str | None) -> ActionRecord:
        """Ask lobstr to run one task again (`POST /v1/runtasks/{task}/retry`)."""
        return self._act(RETRY, f"runtasks/{runtask_id}/retry", run_id, runtask_id, user)

    def _act(self, action: str, path: str, run_id: str, runtask_id: str | None,
             user: str | None) -> ActionRecord:
        try:
            self.client.post_json(path)
        except LobstrError as exc:
            refused = exc.status is not None and 400 <= exc.status < 500
            message = REFUSALS.get(exc.code or "", exc.message)
            if isinstance(exc, LobstrRateLimited) and exc.retry_after:
                message = f"lobstr asked us to wait {round(exc.retry_after)} s before asking again."
            record = self.store.record_action(
                user=user, action=action, run_id=run_id, runtask_id=runtask_id,
                outcome="refused" if refused else "failed", status=exc.status, code=exc.code,
                message=message)
        else:
            record = self.store.record_action(
                user=user, action=action, run_id=run_id, runtask_id=runtask_id,
                outcome="accepted", status=200, code=None,
                message=("lobstr reopened the run: its interrupted tasks run again."
                         if action == RESURRECT else
                         "lobstr set the task back to pending and relaunched the run."))
            self.store.mark_reopened(run_id)
        log.info("%s run=%s task=%s user=%s: %s (%s)", action, run_id, runtask_id or "-",
                 user or "-", record.outcome, record.code or record.status)
        if self.on_action is not None:
            self.on_action(action, record.outcome)
        return record
