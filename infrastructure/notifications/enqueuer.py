"""The enqueuer: follows the event log in order and writes one outbox row per notification an event causes.

Who is told of what is the domain's (domain/notifications/recipients.py), asked with the ticket as
it is when the event is read, the tenant's directory (a group's members) and people's opt-outs.
Exactly once: the rows of a batch and the new position in the log are written in one transaction
of the events' database, with the lease (infrastructure/leases.py) held, so a crash before the
commit writes neither and the next holder reads the batch again, and after it both. Each row's id
is the notification's Message-ID (domain/mail/threads.py), the same on every attempt.

The lease holder also puts on the tickets' records the outcomes a sender that stopped left
unrecorded (infrastructure/notifications/history.py): one process doing it, after a while.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import partial
from uuid import UUID

from eventsourcing.persistence import Notification as LogEntry
from eventsourcing.utils import get_topic

from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.mail.threads import notification_message_id
from domain.notifications.recipients import NOTIFYING, Recipient, TicketParties, recipients
from domain.tickets.ticket import Ticket
from infrastructure.leases import Lease
from infrastructure.notifications.history import record_outcome
from infrastructure.notifications.outbox import Notification, Outbox
from infrastructure.notifications.tenant_records import TenantRecords
from infrastructure.webhooks.sql import Sql

log = logging.getLogger("ledgerdesk.notifications")

BATCH_SIZE = 500
RECORDS_PER_ROUND = 200
_TOPICS = frozenset(get_topic(cls) for cls in NOTIFYING)


class LeaseLostError(Exception):
    """The notifier's lease passed to another process during a batch: the batch is not written."""


class Enqueuer:
    """Turns the log's events into outbox rows, one batch at a time, while it holds the lease."""

    def __init__(
        self,
        desk: HelpDesk,
        outbox: Outbox,
        sql: Sql,
        lease: Lease,
        *,
        domain: str,
        batch_size: int = BATCH_SIZE,
        left_after_seconds: float = 30.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.desk = desk
        self.outbox = outbox
        self.sql = sql
        self.lease = lease
        self.domain = domain
        self.batch_size = batch_size
        self.left_after_seconds = left_after_seconds  # an outcome older than this was left by a stopped sender
        self.clock = clock
        self.records = TenantRecords(desk)

    def run_once(self) -> int:
        """Enqueue the next batch and record what was sent, if this process holds the lease; events read."""
        after = self.lease.acquire()
        if after is None:
            return 0  # another process enqueues
        self.record_outcomes()
        entries = self.desk.recorder.select_notifications(start=after, limit=self.batch_size, inclusive_of_start=False)
        if not entries:
            return 0
        new = self._notifications(entries)
        try:
            with self.sql.transaction() as cursor:
                self.outbox.enqueue(cursor, new, now=self.clock())
                if not self.lease.advance_within(cursor, entries[-1].id):
                    raise LeaseLostError
        except LeaseLostError:
            log.warning("the notification lease passed to another process; standing by")
            return 0
        return len(entries)

    def record_outcomes(self) -> int:
        """Record on their tickets the outcomes a sender that stopped left unrecorded; how many."""
        left = self.outbox.unrecorded(limit=RECORDS_PER_ROUND, before=self.clock() - self.left_after_seconds)
        for notification, status, error in left:
            record_outcome(self.desk, self.outbox, notification, status, error)
        return len(left)

    def _notifications(self, entries: Sequence[LogEntry]) -> list[Notification]:
        self.records.forget()
        new: list[Notification] = []
        for entry in entries:
            if entry.topic not in _TOPICS:
                continue
            event = self.desk.mapper.to_domain_event(entry)
            try:
                ticket = self.desk.get_ticket(UUID(str(entry.originator_id)))
            except DomainError:
                continue  # gone (never, as tickets are not deleted) or unreadable: nobody to tell
            parties = TicketParties(ticket.requester_id, ticket.assignee, ticket.group)
            told = recipients(event, parties, partial(self._members, ticket.tenant))
            new.extend(self._wanted(ticket, entry, told))
        return new

    def _wanted(self, ticket: Ticket, entry: LogEntry, told: Sequence[Recipient]) -> list[Notification]:
        wanted: list[Notification] = []
        for recipient in told:
            if not self.records.choice(ticket.tenant, recipient.person_id).wants(recipient.kind):
                continue  # opted out: nothing is queued, nothing recorded
            wanted.append(
                Notification(
                    message_id=notification_message_id(ticket.id, entry.id, recipient.person_id, self.domain),
                    tenant=ticket.tenant,
                    position=entry.id,
                    ticket_id=str(ticket.id),
                    cause_version=entry.originator_version,
                    recipient_id=recipient.person_id,
                    audience=recipient.audience.value,
                    kind=recipient.kind.value,
                )
            )
        return wanted

    def _members(self, tenant: str, group: str) -> tuple[str, ...]:
        directory = self.records.directory(tenant)
        return () if directory is None else tuple(directory.members_of(group))
