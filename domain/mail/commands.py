"""Mail commands: configure mailboxes, register senders, and take in a message (a ticket, a reply, or set aside).

Taking a message in is one command and one transaction: the ticket change (opened, or a reply and
perhaps a reopen), the message's record (domain/mail/inbound.py) and, for a sender a mailbox
admits for the first time, their record (domain/mail/senders.py) are saved together. A message
already on record changes nothing (`MailReceipt.duplicate`). The command acts as the sender
(a requester) via `email`; set-aside messages are recorded as the system actor `mail-in`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Unpack
from uuid import UUID, uuid5

from eventsourcing.application import AggregateNotFoundError

from domain.actors import Actor, ActorKind
from domain.errors import (
    AlreadyExistsError,
    DomainError,
    NotFoundError,
    NotPermittedError,
    TicketNotFoundError,
)
from domain.mail.inbound import InboundMessage, Outcome
from domain.mail.mailboxes import Mailbox, MailboxBook, MailboxSettings, SetAside, normalised_address
from domain.mail.senders import KnownSender, address_sha256, person_for_new_sender
from domain.pipeline import Acting
from domain.races import retried
from domain.tickets.commands import TicketCommands
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import Attachment
from domain.workflows.lifecycle import UNSOLVED_CATEGORIES

#: Who records set-aside messages, and the channel every mail command acts through.
MAIL_ACTOR = Actor("mail-in", ActorKind.SYSTEM)
EMAIL = "email"
NO_SUBJECT = "(no subject)"
FILES_NOTE = "Files sent with the request."
EMPTY_REPLY = "(an empty reply)"


class SenderRefusedError(NotPermittedError):
    """The mailbox takes mail only from senders the tenant knows, and this one it does not."""


class MailboxNotFoundError(NotFoundError):
    """No mailbox takes mail at this address."""


@dataclass(frozen=True, slots=True)
class IncomingMail:
    """A message as the mail pipeline read it, for the command to take in."""

    mailbox: str
    message_id: str
    sender: str  # the From address, normalised
    sender_name: str | None
    subject: str
    date: str | None
    text: str  # the whole text (a new ticket's description)
    reply: str  # the text without quoted history and signature (a reply's comment)
    html: str | None  # the sanitised HTML part, if any
    attachments: Sequence[Attachment] = ()
    thread: Sequence[UUID] = ()  # tickets the message may continue, nearest first (domain/mail/followups.py)


@dataclass(frozen=True, slots=True)
class MailReceipt:
    """What became of a message: its record, and whether it was on record before this delivery."""

    message: InboundMessage
    duplicate: bool
    position: int | None


class MailCommands(TicketCommands):
    """Mailboxes, senders, and inbound messages."""

    # --- mailboxes ----------------------------------------------------------------------------

    @retried
    def configure_mailbox(
        self,
        *,
        tenant: str,
        address: str,
        group: str | None,
        admit_unknown_senders: bool,
        language: str | None = None,
        **how: Unpack[Acting],
    ) -> MailboxSettings:
        """Configure the mailbox at `address` for the tenant; another tenant's address is AlreadyExistsError."""
        found = self._mailbox(address)
        if found is not None and found.tenant != tenant:
            msg = f"the address {found.address} is another tenant's mailbox"
            raise AlreadyExistsError(msg)
        if group is not None:
            self.check_assignment(tenant, None, group)
        with self._acting(tenant=tenant, **how):
            mailbox = found or Mailbox.create(tenant=tenant, address=address)
            mailbox.configure(group=group, admit_unknown_senders=admit_unknown_senders, language=language)
            book = self._mailbox_book(tenant) or MailboxBook.start(tenant=tenant)
            book.list_address(mailbox.address)
        self.save(mailbox, book)
        return mailbox.settings()

    @retried
    def remove_mailbox(self, *, tenant: str, address: str, **how: Unpack[Acting]) -> None:
        """Stop the tenant's mailbox at `address` taking mail (MailboxNotFoundError if it has none there)."""
        mailbox = self._tenant_mailbox(tenant, address)
        book = self._mailbox_book(tenant)
        with self._acting(tenant=tenant, **how):
            mailbox.remove()
            if book is not None:
                book.unlist_address(mailbox.address)
        self.save(mailbox, *([] if book is None else [book]))

    def mailbox(self, address: str, *, tenant: str | None = None) -> MailboxSettings:
        """The active mailbox at `address` (of `tenant`, when named), or MailboxNotFoundError."""
        found = self._mailbox(address)
        if found is None or not found.active or (tenant is not None and found.tenant != tenant):
            msg = f"no mailbox {address}"
            raise MailboxNotFoundError(msg)
        return found.settings()

    def mailboxes(self, tenant: str) -> list[MailboxSettings]:
        """The tenant's active mailboxes, by address."""
        book = self._mailbox_book(tenant)
        found = [self._mailbox(address) for address in ([] if book is None else book.addresses)]
        return [m.settings() for m in found if m is not None and m.active]

    def set_aside_messages(self, tenant: str, address: str) -> list[SetAside]:
        """The automatic messages the tenant's active mailbox set aside lately, newest first.

        A removed mailbox is not found here, as it is not by `mailbox`; what it set aside stays in its history.
        """
        found = self._tenant_mailbox(tenant, address)
        if not found.active:
            msg = f"no mailbox {address}"
            raise MailboxNotFoundError(msg)
        return list(reversed(found.set_aside))

    def _mailbox(self, address: str) -> Mailbox | None:
        try:
            return self._configured(Mailbox, Mailbox.create_id(address))
        except DomainError:  # not an address at all: no mailbox has it
            return None

    def _tenant_mailbox(self, tenant: str, address: str) -> Mailbox:
        found = self._mailbox(address)
        if found is None or found.tenant != tenant:
            msg = f"no mailbox {address}"
            raise MailboxNotFoundError(msg)
        return found

    def _mailbox_book(self, tenant: str) -> MailboxBook | None:
        return self._configured(MailboxBook, MailboxBook.create_id(tenant))

    # --- senders ------------------------------------------------------------------------------

    @retried
    def register_mail_sender(self, *, tenant: str, address: str, person_id: str, **how: Unpack[Acting]) -> str:
        """Put on record that `address` is the tenant's person `person_id`; the one already there stays."""
        normalised = normalised_address(address)
        known = self.mail_sender(tenant, normalised)
        if known is not None:
            if known != person_id:
                msg = "that address is on record as another person"
                raise AlreadyExistsError(msg)
            return known
        with self._acting(tenant=tenant, **how):
            sender = KnownSender.record(tenant=tenant, address=normalised, person_id=person_id, mailbox=None)
        self.save(sender)
        return sender.person_id

    def mail_sender(self, tenant: str, address: str) -> str | None:
        """The person the tenant knows the (normalised) address as, or None."""
        found = self._configured(KnownSender, KnownSender.create_id(tenant, address))
        return None if found is None else found.person_id

    # --- inbound messages ---------------------------------------------------------------------

    def inbound_message(self, tenant: str, message_id: str) -> InboundMessage | None:
        """The record of the message with `message_id` in `tenant`, if it was taken in."""
        return self._configured(InboundMessage, InboundMessage.create_id(tenant, message_id))

    def ticket_of_message(self, tenant: str, message_id: str) -> UUID | None:
        """The ticket the message with `message_id` opened or replied on, if it was taken in."""
        found = self.inbound_message(tenant, message_id)
        return None if found is None else found.ticket_id

    @retried
    def set_aside_mail(self, *, tenant: str, mail: IncomingMail, reason: str) -> MailReceipt:
        """Record an automatic message on its mailbox, without a ticket; one on record already records nothing."""
        stored = self.inbound_message(tenant, mail.message_id)
        if stored is not None:
            return MailReceipt(stored, duplicate=True, position=None)
        mailbox = self._tenant_mailbox(tenant, mail.mailbox)
        with self._acting(MAIL_ACTOR, EMAIL, tenant=tenant):
            message = InboundMessage.receive(
                tenant=tenant,
                mailbox=mailbox.address,
                message_id=mail.message_id,
                sender=mail.sender,
                subject=mail.subject,
                date=mail.date,
                outcome=Outcome.SET_ASIDE,
                reason=reason,
            )
            mailbox.set_aside_automatic(
                reason=reason, message_key=str(message.id), sender_sha256=address_sha256(mail.sender)
            )
        return self._mail_saved(message, mailbox)

    @retried
    def take_in_mail(self, *, tenant: str, mail: IncomingMail) -> MailReceipt:
        """Open a ticket for the message, or add it to the ticket it continues; all in one save.

        The sender must be known to the tenant, or the mailbox must admit new senders (they become
        a customer of the tenant); else SenderRefusedError. A message continues the first of
        `mail.thread` that the sender asked for and that still takes replies; otherwise it opens
        a ticket (whose id follows from the message's, so a retried delivery cannot open two).
        A reply to a solved ticket reopens it when its workflow lets the requester.
        """
        stored = self.inbound_message(tenant, mail.message_id)
        if stored is not None:
            return MailReceipt(stored, duplicate=True, position=None)
        mailbox = self._tenant_mailbox(tenant, mail.mailbox)
        if not mailbox.active:
            raise MailboxNotFoundError(f"no mailbox {mail.mailbox}")
        answered = self._agent_answer(tenant, mailbox, mail)
        if answered is not None:
            return answered
        person = self.mail_sender(tenant, mail.sender)
        new_sender = person is None
        if person is None:
            if not mailbox.admit_unknown_senders:
                msg = "this mailbox takes mail only from senders the help desk knows"
                raise SenderRefusedError(msg)
            person = person_for_new_sender(tenant, mail.sender)
        requester = Actor(person, ActorKind.REQUESTER)
        ticket = self._continued(tenant, person, mail.thread)
        changed: list[Any] = []
        with self._acting(requester, EMAIL, ticket, tenant=tenant):
            if new_sender:
                changed.append(
                    KnownSender.record(tenant=tenant, address=mail.sender, person_id=person, mailbox=mailbox.address)
                )
            message_id = InboundMessage.create_id(tenant, mail.message_id)
            if ticket is None:
                ticket = self._new_ticket(
                    tenant=tenant,
                    title=mail.subject.strip()[:200] or NO_SUBJECT,
                    description=mail.text,
                    requester_id=person,
                    requester_name=mail.sender_name,
                    requester_email=mail.sender,
                    group=mailbox.group,
                    ticket_id=_ticket_id_for(message_id),
                )
                number = (
                    ticket.add_comment(FILES_NOTE, public=True, attachments=mail.attachments)
                    if mail.attachments
                    else None
                )
                outcome = Outcome.OPENED
                others: list[Ticket] = []
            else:
                number = ticket.add_comment(_reply_body(mail), public=True, attachments=mail.attachments)
                outcome = Outcome.COMMENTED
                others = self._reopened(ticket, requester)
            message = InboundMessage.receive(
                tenant=tenant,
                mailbox=mailbox.address,
                message_id=mail.message_id,
                sender=mail.sender,
                subject=mail.subject,
                date=mail.date,
                outcome=outcome,
                ticket_id=ticket.id,
                comment_number=number,
                html=mail.html,
            )
        return self._mail_saved(message, ticket, *others, *changed)

    def mail_author(self, tenant: str, address: str) -> str:
        """Whose personal data a message from `address` is: an agent's, a known sender's, or a new sender's."""
        return (
            self._mail_agent(tenant, address)
            or self.mail_sender(tenant, address)
            or person_for_new_sender(tenant, address)
        )

    def _mail_agent(self, tenant: str, address: str) -> str | None:
        directory = self.directory(tenant)
        return None if directory is None else directory.agent_with_address(address)

    def _agent_answer(self, tenant: str, mailbox: Mailbox, mail: IncomingMail) -> MailReceipt | None:
        """An agent's reply by mail to a ticket they may work on: a public reply as that agent (else None).

        Mail from an agent's address that continues no ticket within their reach is taken in as
        anyone's (it may be the agent asking the desk for help).
        """
        directory = self.directory(tenant)
        agent_id = None if directory is None else directory.agent_with_address(mail.sender)
        if directory is None or agent_id is None:
            return None
        groups = directory.groups_of(agent_id)
        agent = Actor(agent_id, ActorKind.AGENT, role="agent", groups=frozenset(groups) if groups else None)
        ticket = self._reachable(tenant, agent, mail.thread)
        if ticket is None:
            return None
        with self._acting(agent, EMAIL, ticket, tenant=tenant):
            number = ticket.add_comment(_reply_body(mail), public=True, attachments=mail.attachments)
            message = InboundMessage.receive(
                tenant=tenant,
                mailbox=mailbox.address,
                message_id=mail.message_id,
                sender=mail.sender,
                subject=mail.subject,
                date=mail.date,
                outcome=Outcome.COMMENTED,
                ticket_id=ticket.id,
                comment_number=number,
                html=mail.html,
            )
        return self._mail_saved(message, ticket)

    def _reachable(self, tenant: str, agent: Actor, thread: Sequence[UUID]) -> Ticket | None:
        """The first ticket of `thread` that `agent` may change and that still takes replies."""
        for ticket_id in thread:
            try:
                ticket = self._ticket_for_update(ticket_id, None, tenant, agent)
            except (TicketNotFoundError, NotPermittedError):
                continue
            if ticket.category is not Status.CLOSED and ticket.merged_into is None:
                return ticket
        return None

    def _continued(self, tenant: str, person: str, thread: Sequence[UUID]) -> Ticket | None:
        """The first ticket of `thread` of the tenant that `person` asked for and that still takes replies."""
        for ticket_id in thread:
            try:
                ticket: Ticket = self.repository.get(ticket_id)
            except AggregateNotFoundError:
                continue
            if not isinstance(ticket, Ticket) or ticket.tenant != tenant or ticket.requester_id != person:
                continue
            if ticket.category is not Status.CLOSED and ticket.merged_into is None:
                return ticket
        return None

    def _reopened(self, ticket: Ticket, requester: Actor) -> list[Ticket]:
        """Reopen a solved ticket as its requester, if the workflow allows a move back; the other tickets changed."""
        if ticket.category is not Status.SOLVED:
            return []
        lifecycle = self.lifecycle_of(ticket)
        for move in ticket.moves_for(requester, lifecycle):
            if lifecycle.category_of(move.target) in UNSOLVED_CATEGORIES:
                try:
                    return self.move(ticket, move.target)
                except DomainError:  # the move wants fields a reply cannot give: the reply alone stands
                    continue
        return []

    def _mail_saved(self, message: InboundMessage, *changed: Any) -> MailReceipt:
        recordings = self.save(message, *changed)
        return MailReceipt(message, duplicate=False, position=recordings[-1].notification.id if recordings else None)


def _reply_body(mail: IncomingMail) -> str:
    """A reply's comment: what was written this time, else the whole text, else what it carried."""
    written = mail.reply.strip() or mail.text.strip()
    return written or (FILES_NOTE if mail.attachments else EMPTY_REPLY)


def _ticket_id_for(message_id: UUID) -> UUID:
    """The id of the ticket a message opens: it follows from the message's record, as every retry finds it."""
    return uuid5(message_id, "ticket")
