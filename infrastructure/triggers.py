"""The trigger runner: runs the tenants' triggers on every ticket event, in log order, once.

It follows the event log from the position its lease holds (infrastructure/leases.py: one
runner at a time does the work, others stand by and take over when it stops), and for each
ticket event calls `HelpDesk.run_triggers` (domain/automation/commands.py), which fires what
holds in one save on the ticket. Events of other aggregates, and the triggers' own records,
are passed over without being read.

Exactly once: the ticket keeps the latest version whose event its triggers fired on, so a run
repeated after a crash (between a save and the lease's advance) records nothing; a run that
loses a race with a person's change to the same ticket (`RaceLostError`) is run again on the
changed ticket. The runner decodes each event from the log once, and keeps each tenant's rule
book until a change of a rule book passes in the log. It acts on news of the log
(infrastructure/log_signal.py: a save in this process, or on PostgreSQL in any process) and
looks by itself every `poll_seconds` in any case.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import cast
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.automation.rules import RuleBook
from domain.errors import DomainError, RaceLostError
from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from infrastructure.following import LeasedLogFollower
from infrastructure.leases import Lease

log = logging.getLogger("ledgerdesk.triggers")

BATCH_SIZE = 500
#: Runs of one event at most, when people keep changing its ticket meanwhile.
ATTEMPTS = 3
_TICKET_TOPIC = f"{Ticket.__module__}:Ticket."
# The notifier's records of what it sent are not updates of the ticket: no trigger runs on them.
_QUIET_TOPICS = frozenset(
    f"{_TICKET_TOPIC}{name}"
    for name in ("TriggerFired", "TriggerChainStopped", "NotificationSent", "NotificationFailed")
)
_RULE_BOOK_TOPIC = f"{RuleBook.__module__}:RuleBook."


class TriggerRunner(LeasedLogFollower):
    """Runs triggers on the log's ticket events: one `run_once` at a time, or in a thread."""

    name = "triggers"

    def __init__(
        self,
        desk: HelpDesk,
        lease: Lease,
        *,
        batch_size: int = BATCH_SIZE,
        poll_seconds: float = 1.0,
        news: threading.Event | None = None,
    ) -> None:
        super().__init__(desk, lease, batch_size=batch_size, poll_seconds=poll_seconds, news=news, log=log)
        self._rule_books: dict[str, RuleBook | None] = {}  # by tenant, as the log has them so far

    def _run(self, notifications: Sequence[Notification], *, deadline: float) -> int:
        for done, notification in enumerate(notifications):
            if self._stopping.is_set() or time.monotonic() > deadline:
                return done  # renew the lease before going on
            if notification.topic.startswith(_RULE_BOOK_TOPIC):
                self._rule_books.clear()  # a tenant's rules changed here: read them again when next needed
            elif notification.topic.startswith(_TICKET_TOPIC) and notification.topic not in _QUIET_TOPICS:
                self._run_one(notification)
        return len(notifications)

    def _rule_book(self, tenant: str) -> RuleBook | None:
        if tenant not in self._rule_books:
            self._rule_books[tenant] = self.desk.rule_book(tenant)
        return self._rule_books[tenant]

    def _run_one(self, notification: Notification) -> None:
        event = cast("Ticket.Event", self.desk.mapper.to_domain_event(notification))  # a ticket's topic
        for _ in range(ATTEMPTS):
            try:
                self.desk.run_triggers(
                    UUID(str(notification.originator_id)),
                    notification.originator_version,
                    event=event,
                    rule_books=self._rule_book,
                )
            except RaceLostError:
                continue  # the ticket changed between the run's read and its save: run on it as it is now
            except DomainError:
                log.exception("triggers on %s failed", notification.originator_id)
            return
        log.error("triggers on %s gave up after %s attempts", notification.originator_id, ATTEMPTS)
