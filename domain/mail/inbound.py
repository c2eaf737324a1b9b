"""Inbound messages: each e-mail taken in, on record once, under an id that follows from its Message-ID.

The id is uuid5 of the tenant and the Message-ID (one derived from the raw bytes' hash when the
message has none), and the record is saved in the same transaction as the ticket change it
caused: a second delivery of the same message finds it and stores nothing more, and a message
is never on record without its ticket change, nor the change without it. A customer's follow-up
that references their own earlier message finds that record, and through it the ticket.

What is kept: hashes of the Message-ID, the sender's address and the subject; the mailbox (the
desk's own address); the `Date` header as given; what became of the message; and, for a message
with an HTML part, that part sanitised, for display. The ticket events hold the address, subject
and text; they and the HTML are personal data, encrypted with the sender's data key
(infrastructure/privacy/mapper.py).
"""

from __future__ import annotations

import hashlib
import uuid
from enum import StrEnum

from eventsourcing.domain import event

from domain.actors import identifier
from domain.provenance import Recorded, TenantOwned

_MESSAGES = uuid.UUID("c2a8f0e4-3d5b-4a6c-9e7f-0a1b2c3d4e5f")
HTML_MAX = 512 * 1024  # sanitised HTML kept for display; a larger part is not kept (its text is)


class Outcome(StrEnum):
    """What a message taken in became."""

    OPENED = "opened"  # a new ticket
    COMMENTED = "commented"  # a public reply on its ticket
    SET_ASIDE = "set_aside"  # an automatic message: no ticket, no answer


def sha256_of(text: str) -> str:
    """SHA-256 (hex) of a header value, as the record keeps it."""
    return hashlib.sha256(text.encode()).hexdigest()


def derived_message_id(raw: bytes) -> str:
    """The Message-ID of a message that has none: from its bytes, so a second delivery has the same."""
    return f"<sha256.{hashlib.sha256(raw).hexdigest()}@ledgerdesk.invalid>"


class InboundMessage(TenantOwned):
    """One e-mail message a tenant's mailbox took in."""

    class Event(TenantOwned.Event):
        """Base of inbound message events."""

    class Received(Event, Recorded.Created):
        """The message was taken in: what it became (a ticket, a reply, or set aside and why)."""

        mailbox: str
        message_id_sha256: str
        sender_sha256: str
        subject_sha256: str
        date: str | None  # the Date header as given (None: none)
        outcome: str
        ticket_id: str | None
        comment_number: int | None
        reason: str | None  # why it was set aside
        html: str | None  # the sanitised HTML part, for display (personal: sealed with the sender's key)

    @staticmethod
    def create_id(tenant: str, message_id: str) -> uuid.UUID:
        """The id of the record of the message with `message_id` in `tenant`."""
        return uuid.uuid5(_MESSAGES, f"{tenant}\n{message_id.strip()}")

    @classmethod
    def receive(
        cls,
        *,
        tenant: str,
        mailbox: str,
        message_id: str,
        sender: str,
        subject: str,
        date: str | None,
        outcome: Outcome,
        ticket_id: uuid.UUID | None = None,
        comment_number: int | None = None,
        reason: str | None = None,
        html: str | None = None,
    ) -> InboundMessage:
        """Put the message on record, with what it became."""
        message: InboundMessage = cls._create(
            cls.Received,
            id=cls.create_id(tenant, message_id),
            tenant=identifier(tenant, "tenant"),
            mailbox=mailbox,
            message_id_sha256=sha256_of(message_id.strip()),
            sender_sha256=sha256_of(sender),
            subject_sha256=sha256_of(subject),
            date=None if date is None else date[:200],
            outcome=outcome.value,
            ticket_id=None if ticket_id is None else str(ticket_id),
            comment_number=comment_number,
            reason=reason,
            html=html if html is not None and len(html) <= HTML_MAX else None,
        )
        return message

    @event(Received)
    def __init__(
        self,
        *,
        tenant: str,
        mailbox: str,
        message_id_sha256: str,
        sender_sha256: str,
        subject_sha256: str,
        date: str | None,
        outcome: str,
        ticket_id: str | None,
        comment_number: int | None,
        reason: str | None,
        html: str | None,
    ) -> None:
        self.tenant = tenant
        self.mailbox = mailbox
        self.message_id_sha256 = message_id_sha256
        self.sender_sha256 = sender_sha256
        self.subject_sha256 = subject_sha256
        self.date = date
        self.outcome = Outcome(outcome)
        self.ticket_id = None if ticket_id is None else uuid.UUID(ticket_id)
        self.comment_number = comment_number
        self.reason = reason
        self.html = html
