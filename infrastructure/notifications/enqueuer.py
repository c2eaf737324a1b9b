"""The enqueuer: follows the event log in order and writes one outbox row per notification an event causes.

Who is told of what is the domain's (domain/notifications/recipients.py), asked with the ticket as
it is when the event is read, the tenant's directory (a group's members) and people's opt-outs.
Exactly once: the rows of a batch and the new position in the log are written in one transaction
of the events' database, with the lease (infrastructure/leases.py) held, so a crash before the
commit writes neither and the next holder reads the batch again, and after it both. Each row's id
is the notification's Message-ID (domain/mail/threads.py), the same on every attempt.

The lease holder also puts on each ticket's record the notifications sent or given up since
(`Ticket.NotificationSent`/`NotificationFailed`), one process doing it so each is recorded once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from functools import cache, partial
from uuid import UUID

from eventsourcing.persistence import Notification as LogEntry
from eventsourcing.utils import get_topic

from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.mail.threads import notification_message_id
from domain.notifications.commands import NotificationRecord
from domain.notifications.recipients import NOTIFYING, Recipient, TicketParties, recipients
from domain.tickets.ticket import Ticket
from infrastructure.leases import Lease
from infrastructure.notifications.outbox import SENT, Notification, Outbox
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
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.desk = desk
        self.outbox = outbox
        self.sql = sql
        self.lease = lease
        self.domain = domain
        self.batch_size = batch_size
        self.clock = clock

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
        """Put the notifications sent or given up since on their tickets' records; how many."""
        done = 0
        for notification, status, error in self.outbox.unrecorded(limit=RECORDS_PER_ROUND):
            record = NotificationRecord(
                recipient_id=notification.recipient_id,
                recipient_kind=notification.audience,
                kind=notification.kind,
                message_id=notification.message_id,
                cause=notification.position,
                cause_version=notification.cause_version,
            )
            ticket_id = UUID(notification.ticket_id)
            try:
                if status == SENT:
                    self.desk.record_notification_sent(ticket_id, record)
                else:
                    self.desk.record_notification_failed(ticket_id, record, error=error or "refused")
            except DomainError:
                log.exception("could not record notification %s on its ticket", notification.message_id)
            # A crash just here records it once more on the next round: at least once, never lost.
            self.outbox.mark_recorded(notification.message_id)
            done += 1
        return done

    def _notifications(self, entries: Sequence[LogEntry]) -> list[Notification]:
        members = cache(self._members)
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
            told = recipients(event, parties, partial(members, ticket.tenant))
            new.extend(self._wanted(ticket, entry, told))
        return new

    def _wanted(self, ticket: Ticket, entry: LogEntry, told: Sequence[Recipient]) -> list[Notification]:
        wanted: list[Notification] = []
        for recipient in told:
            if not self.desk.notification_choice(ticket.tenant, recipient.person_id).wants(recipient.kind):
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
        directory = self.desk.directory(tenant)
        return () if directory is None else tuple(directory.members_of(group))
