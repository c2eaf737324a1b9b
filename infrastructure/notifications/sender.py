"""The sender: claims due notifications, writes each for its recipient and submits it to the SMTP server.

Any number of senders may run (each notifier has one): each claims due rows for itself
(infrastructure/notifications/outbox.py), so no attempt is made twice at once. An attempt:

- finds the address (the ticket's requester's, or the agent's in the directory): none, or erased,
  and the notification is skipped;
- writes the message with the tenant's template for its kind in the recipient's language (or the
  built-in one), from the event it tells of, read from the log;
- submits it: accepted (250) → the row is `sent` at once, and never sent again (then the ticket's
  record says so: infrastructure/notifications/history.py); a temporary failure
  (4xx, no connection) → tried again after an exponential backoff with jitter, with the same
  Message-ID, until `max_attempts`; a permanent one (5xx) → `failed`.

At least once: a sender that crashes after the server's 250 and before the row is marked sent
leaves the row to be claimed again once its hold runs out, and the same message (same Message-ID)
goes out once more. Nothing else is ever sent twice.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from uuid import UUID

from jinja2 import TemplateError

from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.notifications.kinds import Kind
from domain.notifications.recipients import Audience
from domain.tickets.ticket import Ticket
from domain.values import ERASED
from infrastructure.notifications import rendering, smtp
from infrastructure.notifications.defaults import built_in
from infrastructure.notifications.history import record_outcome
from infrastructure.notifications.message import compose
from infrastructure.notifications.outbox import FAILED, SENT, Notification, Outbox
from infrastructure.notifications.tenant_records import TenantRecords
from infrastructure.webhooks.backoff import Backoff

log = logging.getLogger("ledgerdesk.notifications")


class Sender:
    """Makes the attempts of due notifications, `concurrency` at a time."""

    def __init__(
        self,
        desk: HelpDesk,
        outbox: Outbox,
        server: smtp.SmtpServer,
        *,
        holder: str,
        mail_from: str,
        domain: str,
        links: Links,
        backoff: Backoff,
        timeout: float,
        max_attempts: int,
        concurrency: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.desk = desk
        self.outbox = outbox
        self.server = server
        self.holder = holder
        self.mail_from = mail_from
        self.domain = domain
        self.links = links
        self.records = TenantRecords(desk)
        self.backoff = backoff
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.concurrency = concurrency
        self.clock = clock
        self._pool = ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="ledgerdesk-notify")

    def run_once(self) -> int:
        """Claim due notifications and attempt each; how many were claimed."""
        self.records.forget()
        claimed = self.outbox.claim(
            holder=self.holder,
            now=self.clock(),
            limit=self.concurrency * 8,
            hold=self.timeout * 4 + 5,  # longer than an attempt can take
        )
        list(self._pool.map(self.attempt, claimed))  # every attempt done (or its error raised) before the next look
        return len(claimed)

    def close(self) -> None:
        """Let the attempts in hand finish, then stop the threads."""
        self._pool.shutdown(wait=True)

    def attempt(self, notification: Notification) -> None:
        """One attempt of a claimed notification, its outcome recorded in the outbox."""
        try:
            ticket = self.desk.get_ticket(UUID(notification.ticket_id))
        except DomainError as error:  # not readable (never expected: tickets are not deleted); not retried forever
            self.outbox.give_up(notification, holder=self.holder, error=f"the ticket: {error}", skipped=True)
            return
        address = self._address(ticket, notification)
        if address is None:
            self.outbox.give_up(notification, holder=self.holder, error="no e-mail address", skipped=True)
            return
        message = compose(
            self._rendered(ticket, notification),
            ticket_id=ticket.id,
            message_id=notification.message_id,
            mail_from=self.mail_from,
            to=address,
            domain=self.domain,
        )
        try:
            smtp.submit(self.server, message, timeout=self.timeout)
        except smtp.PermanentFailureError as error:
            if self.outbox.give_up(notification, holder=self.holder, error=str(error)):
                record_outcome(self.desk, self.outbox, notification, FAILED, str(error))
            return
        except smtp.TemporaryFailureError as error:
            self._failed(notification, str(error))
            return
        # The window: a crash between the 250 above and this commit sends the same Message-ID once more.
        if self.outbox.sent(notification, holder=self.holder, now=self.clock()):
            record_outcome(self.desk, self.outbox, notification, SENT, None)

    def _failed(self, notification: Notification, error: str) -> None:
        tries = notification.tries + 1
        if tries >= self.max_attempts:
            said = f"gave up after {tries} attempts: {error}"
            if self.outbox.give_up(notification, holder=self.holder, error=said):
                record_outcome(self.desk, self.outbox, notification, FAILED, said)
            return
        self.outbox.retry(notification, holder=self.holder, at=self.clock() + self.backoff.delay(tries), error=error)

    def _address(self, ticket: Ticket, notification: Notification) -> str | None:
        if notification.audience == Audience.REQUESTER.value:
            found = ticket.requester_email if ticket.requester_id == notification.recipient_id else None
        else:
            directory = self.records.directory(ticket.tenant)
            agent = None if directory is None else directory.agent(notification.recipient_id)
            found = None if agent is None else agent.email
        return None if not found or found == ERASED else found

    def _rendered(self, ticket: Ticket, notification: Notification) -> rendering.Rendered:
        kind = Kind(notification.kind)
        language = self.records.choice(ticket.tenant, notification.recipient_id).language
        variables = self._variables(ticket, notification)
        template = self.records.template(ticket.tenant, kind, language)
        try:
            return rendering.render(template, variables)
        except TemplateError:
            log.warning("the %s template of %s failed; the built-in one is used", kind, ticket.tenant, exc_info=True)
            return rendering.render(built_in(kind, language or "en"), variables)

    def _variables(self, ticket: Ticket, notification: Notification) -> dict[str, Any]:
        event = self._event(notification.position)
        comment = getattr(event, "body", None) if isinstance(event, Ticket.CommentAdded) else None
        sla = {"target": "", "due_at": ""}
        if isinstance(event, Ticket.SlaAlerted):
            sla = {"target": event.target, "due_at": event.due_at.isoformat(timespec="minutes")}
        return {
            "kind": notification.kind,
            "ticket": {
                "id": str(ticket.id),
                "ref": ticket.id.hex[:8],
                "title": ticket.title,
                "status": ticket.status,
                "priority": ticket.priority.value,
                "type": ticket.ticket_type or "",
                "group": ticket.group or "",
                "assignee": ticket.assignee or "",
            },
            "recipient": {"id": notification.recipient_id, "kind": notification.audience},
            "actor": getattr(event, "actor_id", "") or "",
            "comment": comment or "",
            "sla": sla,
            "ticket_url": self.links.ticket(ticket.id),
            "rating_url": self.links.rating(ticket.id),
        }

    def _event(self, position: int) -> Any:
        found = self.desk.recorder.select_notifications(start=position, limit=1)
        if not found or found[0].id != position:
            return None
        return self.desk.mapper.to_domain_event(found[0])


class Links:
    """The addresses notifications link to: the ticket, and the page to rate it."""

    def __init__(self, public_url: str, rating_path: str) -> None:
        self.base = public_url.rstrip("/")
        self.rating_path = rating_path

    def ticket(self, ticket_id: UUID) -> str:
        """Where the ticket is read."""
        return f"{self.base}/tickets/{ticket_id}"

    def rating(self, ticket_id: UUID) -> str:
        """Where the requester rates the solved ticket."""
        return self.base + self.rating_path.replace("{ticket_id}", str(ticket_id)).replace("{id}", str(ticket_id))
