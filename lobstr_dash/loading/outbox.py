"""The outbox's sender: due alerts of one (run, channel) become one message, sent once.

The rows are claimed (and marked `sending`) before the message goes out and marked `sent` right
after, so a restart never sends a `sent` row again. A channel that fails is tried again after
1 min, 5 min, 15 min, 1 h, 2 h, 4 h, then every 8 h, until the alert is 24 h old; then it is
`failed` and stays listed on /alerts with the channel's last error.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Protocol

from ..domain.rulecheck import RunFacts
from ..store import AlertRecord
from ..store import Store
from .notify import SEND_TIMEOUT_SECONDS
from .notify import Channels
from .owners import OwnerCheck

log = logging.getLogger(__name__)

#: Seconds before the next try after the 1st, 2nd, … failure (the last one repeats).
BACKOFF = (60.0, 300.0, 900.0, 3600.0, 7200.0, 14400.0, 28800.0)
#: An alert that has not gone out this long after it was raised is given up.
GIVE_UP_AFTER = 24 * 3600.0
#: A sender's claim on its rows: longer than one send may take, so a live sender keeps them.
DELIVERY_LEASE = SEND_TIMEOUT_SECONDS * 4


class Composed(Protocol):
    """A rendered message (render.alerts.Message)."""

    title: str
    text: str
    markdown: str
    severity: str


#: Renders the message for a run's facts and the (rule, severity, summary) that fired.
Composer = Callable[[RunFacts, Sequence[tuple[str, str, str]]], Composed]


def retry_delay(attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed try."""
    return BACKOFF[min(max(attempts, 1), len(BACKOFF)) - 1]


class Deliverer:
    """Sends due alerts; several processes may run one each, the store keeps them apart."""

    def __init__(self, store: Store, channels: Channels, compose: Composer, *, owner: str,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.channels = channels
        self.compose = compose
        self.owner = owner
        self.clock = clock

    def deliver_one(self) -> bool:
        """Send the due alerts of one (run, channel); False when nothing is due."""
        rows = self.store.claim_delivery(self.owner, DELIVERY_LEASE, OwnerCheck(self.owner))
        if not rows:
            return False
        ids = [row.id for row in rows]
        channel = self.channels.find(rows[0].channel)
        if channel is None:
            self.store.mark_failed(ids, self.owner, "dropped",
                                   "this channel is no longer in ALERT_URLS")
            return True
        message = self._message(rows)
        result = self.channels.send(channel, message.title, message.text, message.markdown,
                                    message.severity)
        if result.ok:
            self.store.mark_sent(ids, self.owner)
            log.info("alert for run %s sent to %s (%d rule(s), %.0f ms)", rows[0].run_id,
                     channel.label, len(rows), result.seconds * 1000)
            return True
        attempts = max(row.attempts for row in rows)
        delay = retry_delay(attempts)
        error = result.error or "the channel refused the message"
        if self.clock() + delay > min(row.created_at for row in rows) + GIVE_UP_AFTER:
            self.store.mark_failed(ids, self.owner, "failed", error)
            log.warning("alert for run %s to %s given up after %d tries: %s", rows[0].run_id,
                        channel.label, attempts, error)
        else:
            self.store.mark_retry(ids, self.owner, delay, error)
            log.warning("alert for run %s to %s failed (try %d), next in %.0f s: %s",
                        rows[0].run_id, channel.label, attempts, delay, error)
        return True

    def _message(self, rows: Sequence[AlertRecord]) -> Composed:
        """One message for the rows: the newest facts, every rule that fired."""
        facts = RunFacts.from_json(rows[-1].facts_json)
        return self.compose(facts, [(row.rule, row.severity, row.summary) for row in rows])

    def next_due(self) -> float | None:
        """When an alert is next due (wall clock), or None."""
        return self.store.next_delivery_due()
