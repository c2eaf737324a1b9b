"""The pipeline glue: one raw message for one recipient, through the steps, to one answer for the mail server.

Parse once (parsing.py); find the mailbox (unknown: 5.1.1); an automatic message (automatic.py) is
set aside; otherwise the follow-up step (follow_ups.py) names the tickets it may continue, its
files are stored (files.py) and the command takes it in (domain/mail/commands.py: sender ->
customer, then a ticket or a reply, all in one save; a message already on record changes nothing
and is answered as stored). 250 is answered only once that save is done; anything that is not
the message's own fault (the database away, a race lost too often) is 451, so the sending server
tries again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace

from domain.errors import DomainError, InvalidValueError
from domain.helpdesk import HelpDesk
from domain.mail.commands import IncomingMail, MailboxNotFoundError, SenderRefusedError
from domain.mail.inbound import InboundMessage, derived_message_id
from domain.mail.mailboxes import MailboxSettings, normalised_address
from domain.values import NAME_MAX, TEXT_MAX, TITLE_MAX
from infrastructure.mail_in.automatic import automatic
from infrastructure.mail_in.codes import Delivered
from infrastructure.mail_in.files import StoreFiles
from infrastructure.mail_in.follow_ups import thread_of
from infrastructure.mail_in.parsing import ParsedMail, UnreadableMessageError, parse
from infrastructure.mail_in.replies import reply_text
from infrastructure.readmodels.store import ReadModels

log = logging.getLogger(__name__)
TRUNCATED = "\n\n[… the rest of the message was too long to keep]"


@dataclass(frozen=True, slots=True)
class Delivery:
    """How one delivery ended, and for a stored message the ticket it went to."""

    how: Delivered
    ticket_id: str | None = None


class MailIn:
    """Takes in messages for the desk's mailboxes (docs/email.md)."""

    def __init__(self, desk: HelpDesk, read_models: ReadModels, store_files: StoreFiles, *, max_bytes: int) -> None:
        self.desk = desk
        self.read_models = read_models
        self.store_files = store_files
        self.max_bytes = max_bytes

    def mailbox(self, recipient: str) -> MailboxSettings | None:
        """The active mailbox at `recipient`, or None (errors of the store are raised: a temporary failure)."""
        try:
            return self.desk.mailbox(recipient)
        except (MailboxNotFoundError, InvalidValueError):
            return None

    def deliver(self, raw: bytes, recipient: str, envelope_sender: str | None = None) -> Delivery:
        """Take the message in for `recipient`; `envelope_sender` is `MAIL FROM` ("" for `<>`), None if unknown."""
        if len(raw) > self.max_bytes:
            return Delivery(Delivered.TOO_BIG)
        try:
            return self._deliver(raw, recipient, envelope_sender)
        except (UnreadableMessageError, DomainError) as refused:
            log.info("mail-in: a message was refused: %s", type(refused).__name__)
            return Delivery(_refusal(refused))
        except Exception as error:  # the store away, a race lost too often: the server must try again
            log.warning("mail-in: a message could not be stored now: %s", type(error).__name__)
            return Delivery(Delivered.TEMPORARY)

    def _deliver(self, raw: bytes, recipient: str, envelope_sender: str | None) -> Delivery:
        mailbox = self.mailbox(recipient)
        if mailbox is None:
            return Delivery(Delivered.UNKNOWN_MAILBOX)
        parsed = parse(raw)
        tenant = mailbox.tenant
        message_id = parsed.message_id or derived_message_id(raw)
        mail = _incoming(parsed, mailbox, message_id)
        reason = automatic(parsed, envelope_sender)
        if reason is not None:
            receipt = self.desk.set_aside_mail(tenant=tenant, mail=mail, reason=reason)
            return Delivery(Delivered.DUPLICATE if receipt.duplicate else Delivered.SET_ASIDE)
        files = []
        if parsed.files:  # a message on record already has its files stored: not again (the command checks too)
            stored = self.desk.inbound_message(tenant, message_id)
            if stored is not None:
                return Delivery(Delivered.DUPLICATE, _ticket(stored))
            # The files are the sender's personal data, sealed with their key: erasing them makes the files unreadable.
            owner = self.desk.mail_author(tenant, mail.sender)
            files = self.store_files(tenant, owner, parsed.files)
        thread = thread_of(self.desk, self.read_models, tenant, parsed)
        receipt = self.desk.take_in_mail(tenant=tenant, mail=replace(mail, attachments=tuple(files), thread=thread))
        return Delivery(Delivered.DUPLICATE if receipt.duplicate else Delivered.STORED, _ticket(receipt.message))


def _refusal(refused: Exception) -> Delivered:
    """The answer to a message refused for what it is (not for the moment): the mail server bounces it."""
    if isinstance(refused, SenderRefusedError):
        return Delivered.SENDER_REFUSED
    if isinstance(refused, MailboxNotFoundError):
        return Delivered.UNKNOWN_MAILBOX
    return Delivered.UNREADABLE  # unreadable, or a value the ticket cannot hold


def _incoming(parsed: ParsedMail, mailbox: MailboxSettings, message_id: str) -> IncomingMail:
    try:
        sender = normalised_address(parsed.sender)
    except InvalidValueError:
        raise UnreadableMessageError(f"the From address is not one: {parsed.sender!r}") from None
    name = (parsed.sender_name or "").strip()
    return IncomingMail(
        mailbox=mailbox.address,
        message_id=message_id,
        sender=sender,
        sender_name=name[:NAME_MAX] if name and name.isprintable() else None,
        subject=" ".join("".join(c for c in parsed.subject if c.isprintable() or c.isspace()).split())[:TITLE_MAX],
        date=parsed.date,
        text=_kept(parsed.text),
        reply=_kept(reply_text(parsed.text)),
        html=parsed.html,
    )


def _kept(text: str) -> str:
    """Text as a ticket keeps it: control characters out, at most TEXT_MAX characters."""
    clean = "".join(c for c in text if c.isprintable() or c in "\n\t")
    return clean if len(clean) <= TEXT_MAX else clean[: TEXT_MAX - len(TRUNCATED)] + TRUNCATED


def _ticket(message: InboundMessage) -> str | None:
    return None if message.ticket_id is None else str(message.ticket_id)
