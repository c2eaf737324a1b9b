"""Putting a notification's outcome on its ticket's record: `Ticket.NotificationSent` or `NotificationFailed`.

The sender records each outcome right after the outbox has it; a sender that died in between
leaves the row `recorded = 0`, and the lease holder records it later (enqueuer.py). Either way the
record is written before the row is marked recorded, so it is never lost; a crash between the two
writes it once more.
"""

from __future__ import annotations

import logging
from uuid import UUID

from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.notifications.commands import NotificationRecord
from infrastructure.notifications.outbox import SENT, Notification, Outbox

log = logging.getLogger("ledgerdesk.notifications")


def record_outcome(desk: HelpDesk, outbox: Outbox, notification: Notification, status: str, error: str | None) -> None:
    """Record a sent or failed notification on its ticket, then mark it recorded in the outbox."""
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
            desk.record_notification_sent(ticket_id, record)
        else:
            desk.record_notification_failed(ticket_id, record, error=error or "refused")
    except DomainError:
        log.exception("could not record notification %s on its ticket", notification.message_id)
    outbox.mark_recorded(notification.message_id)
