"""Acting on a run event (a webhook, or a poll that saw a run finish), once per (run, event).

The event only names a run. The handler reads the run from lobstr before believing anything:
`run.running`/`run.paused` flag a stored run live when lobstr agrees; `run.done`/`run.error` load
the run's tasks through the normal single-flight loader, check the squid's rules and put an alert
in the outbox for every rule that fired. A run lobstr does not know is a logged no-op.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from ..domain import rules as alert_rules
from ..domain.runinfo import RunDetails
from ..domain.tasks import is_live_status
from ..domain.rulecheck import RunFacts
from ..domain.rulecheck import Verdict
from ..domain.rulecheck import evaluate
from ..domain.rulecheck import reason_shares
from ..store import HookRecord
from ..store import Store
from ..store import VerdictRecord
from ..upstream.client import LobstrClient
from ..upstream.errors import LobstrError
from ..upstream.errors import LobstrNotFound
from .history import History
from .lists import Lists
from .notify import Channels
from .owners import OwnerCheck
from .runs import LoadedRun
from .runs import RunService

log = logging.getLogger(__name__)

FINISHED_EVENTS = ("run.done", "run.error")
LIVE_EVENTS = ("run.running", "run.paused")
EVENTS = FINISHED_EVENTS + LIVE_EVENTS
#: A handler's claim on an event; renewed while the run loads.
HOOK_LEASE = 300.0
#: The longest a handler waits for a run's load before trying the event again later.
LOAD_TIMEOUT = 900.0
#: A `run.done` for a run lobstr still calls running is asked again this often, this many times.
NOT_FINISHED_RETRY = 60.0
NOT_FINISHED_TRIES = 10
#: After an upstream failure: the waits before the next tries; then the event is given up.
ERROR_BACKOFF = (30.0, 120.0, 300.0, 900.0, 1800.0, 3600.0)
#: Squid names kept in memory for messages.
SQUID_NAMES = 256


class Retry(Exception):
    """Try the event again later."""

    def __init__(self, delay: float, note: str, tries: int) -> None:
        super().__init__(note)
        self.delay = delay
        self.note = note
        self.tries = tries


@dataclass(frozen=True)
class Outcome:
    """How an event ended: its final state and a note for the logs and the alerts page."""

    state: str
    note: str


class HookHandler:
    """Claims due events from the store and acts on each (one process per event)."""

    def __init__(self, client: LobstrClient, store: Store, runs: RunService, lists: Lists,
                 history: History, rules: alert_rules.RuleSet, channels: Channels, *, owner: str,
                 on_alert: Callable[[], None] = lambda: None,
                 clock: Callable[[], float] = time.time) -> None:
        self.client = client
        self.store = store
        self.runs = runs
        self.lists = lists
        self.history = history
        self.rules = rules
        self.channels = channels
        self.owner = owner
        self.on_alert = on_alert
        self.clock = clock
        self._names: OrderedDict[str, str | None] = OrderedDict()

    def handle_one(self) -> bool:
        """Act on the oldest due event; False when none is due. Never raises."""
        hook = self.store.claim_hook(self.owner, HOOK_LEASE, OwnerCheck(self.owner))
        if hook is None:
            return False
        key = (hook.run_id, hook.event)
        try:
            outcome = self._handle(hook)
        except Retry as retry:
            self._retry(hook, retry.delay, retry.note, retry.tries)
            return True
        except LobstrNotFound:
            outcome = Outcome("ignored", "lobstr has no such run: nothing to do")
        except LobstrError as exc:
            delay = ERROR_BACKOFF[min(hook.attempts, len(ERROR_BACKOFF)) - 1]
            self._retry(hook, delay, f"lobstr could not be read: {exc.message}",
                        len(ERROR_BACKOFF) + 1)
            return True
        except Exception:  # the worker must go on with the next event whatever happens
            log.exception("handling %s of run %s crashed", hook.event, hook.run_id)
            self._retry(hook, ERROR_BACKOFF[-1], "the dashboard failed while handling it", 3)
            return True
        self.store.finish_hook(*key, self.owner, outcome.state, outcome.note)
        log.info("%s of run %s (%s): %s — %s", hook.event, hook.run_id, hook.source,
                 outcome.state, outcome.note)
        return True

    def _retry(self, hook: HookRecord, delay: float, note: str, tries: int) -> None:
        if hook.attempts >= tries:
            self.store.finish_hook(hook.run_id, hook.event, self.owner, "failed",
                                   f"gave up after {hook.attempts} tries: {note}")
            log.warning("%s of run %s given up: %s", hook.event, hook.run_id, note)
            return
        self.store.retry_hook(hook.run_id, hook.event, self.owner, delay, note)
        log.info("%s of run %s: %s; again in %.0f s", hook.event, hook.run_id, note, delay)

    def _handle(self, hook: HookRecord) -> Outcome:
        run = RunDetails.from_api(self.client.get_json(f"runs/{hook.run_id}"))
        status = (run.status or "?").lower()
        if hook.event in LIVE_EVENTS:
            if run.is_terminal or not is_live_status(status):
                return Outcome("ignored", f"lobstr says the run is {status}, not live")
            marked = self.store.mark_live(hook.run_id)
            return Outcome("done", "marked live" if marked else "live; not read here yet")
        # An upstream that leaves `status` out still says the run ended through is_done.
        finished = run.is_terminal or (not run.status and bool(run.is_done))
        if not finished:
            raise Retry(NOT_FINISHED_RETRY, f"lobstr still says the run is {status}",
                        NOT_FINISHED_TRIES)
        loaded = self._load(hook)
        verdict = self._evaluate(hook.run_id, run, loaded)
        facts = verdict.facts
        self.store.save_verdict(VerdictRecord(hook.run_id, facts.squid_id, run.started_at,
                                              facts.percent, facts.missing, facts.expected,
                                              "tasks"))
        if not verdict.findings:
            return Outcome("done", "no rule fired: no alert")
        added = self.store.record_alerts(
            hook.run_id, facts.squid_id,
            [(f.rule, f.severity, f.summary) for f in verdict.findings],
            self.channels.keys(), facts.to_json())
        if added:
            self.on_alert()
        rules = ", ".join(f.rule for f in verdict.findings)
        return Outcome("done", f"rules fired: {rules}; {added} new alert(s)")

    def _load(self, hook: HookRecord) -> LoadedRun:
        """The run's tasks as read after the event arrived (the single-flight load)."""
        deadline = time.monotonic() + LOAD_TIMEOUT
        refreshed = retried_failed = False
        while True:
            loaded = self.runs.ensure(hook.run_id, wait=10.0)
            self.store.renew_hook(hook.run_id, hook.event, self.owner, HOOK_LEASE)
            record = loaded.record
            if not record.is_loading:
                fresh = (record.fetched_at or 0) >= hook.received_at
                if not fresh and not refreshed:
                    refreshed = True
                    self.runs.refresh(hook.run_id, only_failed=False)
                    continue
                if record.phase == "partial" and not retried_failed:
                    retried_failed = True
                    self.runs.refresh(hook.run_id, only_failed=True)
                    continue
                return loaded
            if time.monotonic() > deadline:
                raise Retry(60.0, "the run's tasks are still loading", 5)

    def _evaluate(self, run_id: str, run: RunDetails, loaded: LoadedRun) -> Verdict:
        squid = run.squid
        rules = self.rules.for_squid(squid)
        summary = loaded.summary
        drop = self.rules.rule(alert_rules.DROP, squid)
        history: list[float] = []
        if squid and drop.enabled:
            history = self.history.previous(squid, run_id, run.started_at, drop.history)
        facts = RunFacts(
            run_id=run_id, squid_id=squid, squid_name=self._squid_name(squid), status=run.status,
            done_reason=run.done_reason, done_reason_desc=run.done_reason_desc,
            tasks=summary.tasks, expected=summary.expected, missing=summary.missing,
            tasks_short=summary.tasks_short, expected_unknown=summary.expected_unknown,
            account_tasks=summary.by_class.get("account", 0),
            reasons=reason_shares(self.store.reason_cards(run_id)), history=tuple(history),
            partial=loaded.record.phase == "partial", started_at=run.started_at,
            ended_at=run.ended_at)
        return evaluate(facts, rules)

    def _squid_name(self, squid_id: str | None) -> str | None:
        """The squid's name from lobstr (kept in memory); None when it cannot be read."""
        if not squid_id:
            return None
        if squid_id not in self._names:
            try:
                self._names[squid_id] = self.lists.squid(squid_id).name
            except LobstrError:
                return None
            while len(self._names) > SQUID_NAMES:
                self._names.popitem(last=False)
        return self._names[squid_id]
