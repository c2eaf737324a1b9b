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
from infrastructure.following import LeasedLogFollower
from infrastructure.leases import Lease
from infrastructure.periodic import Periodic
from infrastructure.suggestions.service import Suggestions
from infrastructure.suggestions.training import AnotherTrainerError, Outcome, Trainer

log = logging.getLogger("ledgerdesk.suggestions")

BATCH_SIZE = 200
OPENED_TOPIC = f"{Ticket.__module__}:Ticket.Opened"


class Suggester(LeasedLogFollower):
    """Records suggestions on new tickets: one `run_once` at a time, or in a thread."""

    name = "suggestions"

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
        super().__init__(desk, lease, batch_size=batch_size, poll_seconds=poll_seconds, news=news, log=log)
        self.suggestions = suggestions

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
