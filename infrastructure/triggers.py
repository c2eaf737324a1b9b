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


class TriggerRunner:
    """Runs triggers on the log's ticket events: one `run_once` at a time, or in a thread."""

    def __init__(
        self,
        desk: HelpDesk,
        lease: Lease,
        *,
        batch_size: int = BATCH_SIZE,
        poll_seconds: float = 1.0,
        news: threading.Event | None = None,
    ) -> None:
        self.desk = desk
        self.lease = lease
        self.batch_size = batch_size
        self.poll_seconds = min(poll_seconds, lease.seconds / 4)  # a holder renews well before its lease runs out
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if news is None:  # no news of other processes: this one's saves, and the look every poll_seconds
            news = threading.Event()
            desk.on_saved(lambda _: news.set())
        self._new_events = news
        self._rule_books: dict[str, RuleBook | None] = {}  # by tenant, as the log has them so far

    def run_once(self) -> int:
        """Run triggers on the next batch of events, if this runner holds the lease; how many events it passed."""
        after = self.lease.acquire()
        if after is None:
            return 0  # another runner holds the lease
        notifications = self.desk.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        done = self._run(notifications, deadline=time.monotonic() + self.lease.seconds / 2)
        if done and not self.lease.advance(notifications[done - 1].id):
            log.warning("the trigger lease passed to another runner; standing by")
        return done

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

    # --- running in the background --------------------------------------------------------------

    def start(self) -> None:
        """Run in a daemon thread until stop()."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="ledgerdesk-triggers", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the event in hand (each run is one save), and give the lease up."""
        self._stopping.set()
        self._new_events.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.lease.release()
        except Exception:  # the database may be gone already; the lease then runs out by itself
            log.warning("could not release the trigger lease", exc_info=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._new_events.clear()
            try:
                passed = self.run_once()
            except Exception:
                log.exception("trigger batch failed; trying again")
                self._stopping.wait(1.0)
                continue
            if passed < self.batch_size:
                self._new_events.wait(self.poll_seconds)
