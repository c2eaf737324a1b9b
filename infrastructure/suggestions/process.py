"""The suggestion process: follows the log under a lease and records suggestions on each new ticket.

For each `Ticket.Opened` in log order it asks the tenant's newest model (infrastructure/suggestions/
service.py) and records what is worth saying as `Ticket.Suggested`, by the actor `suggester` via
`suggestions`, an ordinary command on the ticket. One process of all hosts does it at a time
(the lease `suggestions`, infrastructure/leases.py); a repeated run records nothing again (a
ticket keeps one suggestion per field and model version). Beside it, the training schedule
trains every tenant's model again every `suggestion_training_interval_seconds`, under a lease of
its own, so workers on several hosts never train twice.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from typing import cast
from uuid import UUID

from eventsourcing.persistence import Notification

from domain.errors import DomainError, RaceLostError
from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from infrastructure.leases import Lease
from infrastructure.periodic import Periodic
from infrastructure.suggestions.service import Suggestions
from infrastructure.suggestions.training import AnotherTrainerError, Outcome, Trainer

log = logging.getLogger("ledgerdesk.suggestions")

BATCH_SIZE = 200
OPENED_TOPIC = f"{Ticket.__module__}:Ticket.Opened"


class Suggester:
    """Records suggestions on new tickets: one `run_once` at a time, or in a thread."""

    def __init__(
        self,
        desk: HelpDesk,
        suggestions: Suggestions,
        lease: Lease,
        *,
        batch_size: int = BATCH_SIZE,
        poll_seconds: float = 1.0,
        news: threading.Event | None = None,
    ) -> None:
        self.desk = desk
        self.suggestions = suggestions
        self.lease = lease
        self.batch_size = batch_size
        self.poll_seconds = min(poll_seconds, lease.seconds / 4)
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        if news is None:
            news = threading.Event()
            desk.on_saved(lambda _: news.set())
        self._news = news

    def run_once(self) -> int:
        """Suggest for the new tickets of the next batch of the log, if this process holds the lease."""
        after = self.lease.acquire()
        if after is None:
            return 0
        notifications = self.desk.recorder.select_notifications(
            start=after, limit=self.batch_size, inclusive_of_start=False
        )
        done = self._run(notifications, deadline=time.monotonic() + self.lease.seconds / 2)
        if done and not self.lease.advance(notifications[done - 1].id):
            log.warning("the suggestion lease passed to another process; standing by")
        return done

    def _run(self, notifications: Sequence[Notification], *, deadline: float) -> int:
        for done, notification in enumerate(notifications):
            if self._stopping.is_set() or time.monotonic() > deadline:
                return done
            if notification.topic == OPENED_TOPIC:
                self._suggest(notification)
        return len(notifications)

    def _suggest(self, notification: Notification) -> None:
        opened = cast("Ticket.Opened", self.desk.mapper.to_domain_event(notification))
        answer = self.suggestions.predict(opened.tenant, opened.title, opened.description)
        if not answer.predictions:
            return  # the desk abstains; GET /tickets/{id}/suggestions says why
        ticket_id = UUID(str(notification.originator_id))
        try:
            self.desk.record_suggestions(ticket_id, answer.predictions)
        except (DomainError, RaceLostError):
            log.exception("suggestions for %s were not recorded", ticket_id)

    def start(self) -> None:
        """Run in a daemon thread until stop()."""
        self._stopping.clear()
        self._thread = threading.Thread(target=self._loop, name="ledgerdesk-suggestions", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the ticket in hand, and give the lease up."""
        self._stopping.set()
        self._news.set()
        if self._thread is not None:
            self._thread.join(timeout)
            self._thread = None
        try:
            self.lease.release()
        except Exception:  # the database may be gone already; the lease then runs out by itself
            log.warning("could not release the suggestion lease", exc_info=True)

    def _loop(self) -> None:
        while not self._stopping.is_set():
            self._news.clear()
            try:
                passed = self.run_once()
            except Exception:
                log.exception("suggestion batch failed; trying again")
                self._stopping.wait(1.0)
                continue
            if passed < self.batch_size:
                self._news.wait(self.poll_seconds)


class TrainingSchedule(Periodic):
    """Trains every tenant's model when the shared schedule says it is due (one host of all at a time)."""

    thread_name = "ledgerdesk-suggestion-training"
    work_name = "suggestion training"

    def __init__(self, trainer: Trainer, *, every_seconds: float, look_seconds: float = 60.0) -> None:
        super().__init__(min(look_seconds, every_seconds), log)
        self.trainer = trainer
        self.every_seconds = every_seconds

    def _round(self) -> list[Outcome]:
        if not self.trainer.due(self.every_seconds):
            return []
        try:
            return self.trainer.train(self.trainer.tenants())
        except AnotherTrainerError:
            return []

    def _worth_telling(self, result: list[Outcome]) -> bool:
        return bool(result)

    def stop(self, timeout: float = 10.0) -> None:
        """Stop after the tenant in hand, and give the training lease up."""
        super().stop(timeout)
        try:
            self.trainer.lease.release()
        except Exception:
            log.warning("could not release the training lease", exc_info=True)
