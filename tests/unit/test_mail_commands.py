"""Taking mail in, in the domain (domain/mail/commands.py) on the in-memory store: sender -> customer, then
create or comment, each decision on its own."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.errors import AlreadyExistsError
from domain.helpdesk import HelpDesk
from domain.mail.commands import (
    EMPTY_REPLY,
    FILES_NOTE,
    NO_SUBJECT,
    IncomingMail,
    MailboxNotFoundError,
    SenderRefusedError,
)
from domain.mail.inbound import Outcome
from domain.mail.senders import person_for_new_sender
from domain.tickets.workflow import Status
from domain.values import Attachment

ADMIN = Actor("root", ActorKind.SYSTEM, role="admin")
AGENT = Actor("alice", ActorKind.AGENT, role="agent")
MAILBOX = "help@desk.example"


@pytest.fixture
def desk() -> HelpDesk:
    app = HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))
    app.configure_mailbox(tenant="acme", address=MAILBOX, group=None, admit_unknown_senders=True, by=ADMIN, via="api")
    return app


def _mail(message_id: str = "<1@example.org>", **changes: object) -> IncomingMail:
    mail = IncomingMail(
        mailbox=MAILBOX,
        message_id=message_id,
        sender="bob@example.org",
        sender_name="Bob",
        subject="Printer",
        date="Mon, 7 Dec 2026 09:00:00 +0000",
        text="It jams.\n\n> quoted",
        reply="It jams.",
        html=None,
    )
    return replace(mail, **changes)


def _opened(desk: HelpDesk, mail: IncomingMail) -> UUID:
    receipt = desk.take_in_mail(tenant="acme", mail=mail)
    assert receipt.message.ticket_id is not None
    return receipt.message.ticket_id


def test_a_new_sender_becomes_a_customer_with_the_ticket(desk: HelpDesk) -> None:
    ticket = desk.get_ticket(_opened(desk, _mail()))
    assert ticket.requester_id == person_for_new_sender("acme", "bob@example.org")
    assert desk.mail_sender("acme", "bob@example.org") == ticket.requester_id
    assert ticket.description == "It jams.\n\n> quoted"  # a new ticket keeps the whole text
    assert ticket.channel == "email"


def test_a_mailbox_that_admits_nobody_new_refuses_and_stores_nothing(desk: HelpDesk) -> None:
    desk.configure_mailbox(tenant="acme", address=MAILBOX, group=None, admit_unknown_senders=False, by=ADMIN, via="api")
    with pytest.raises(SenderRefusedError):
        desk.take_in_mail(tenant="acme", mail=_mail())
    assert desk.inbound_message("acme", "<1@example.org>") is None
    assert desk.mail_sender("acme", "bob@example.org") is None


def test_a_registered_sender_is_their_person(desk: HelpDesk) -> None:
    desk.register_mail_sender(tenant="acme", address="bob@example.org", person_id="bob", by=ADMIN, via="api")
    with pytest.raises(AlreadyExistsError):
        desk.register_mail_sender(tenant="acme", address="BOB@example.org", person_id="rob", by=ADMIN, via="api")
    assert desk.get_ticket(_opened(desk, _mail())).requester_id == "bob"


def test_the_same_message_again_changes_nothing(desk: HelpDesk) -> None:
    first = desk.take_in_mail(tenant="acme", mail=_mail())
    again = desk.take_in_mail(tenant="acme", mail=_mail())
    assert again.duplicate
    assert again.position is None
    assert again.message.id == first.message.id


def test_a_reply_of_the_requester_is_cut_and_threads(desk: HelpDesk) -> None:
    ticket_id = _opened(desk, _mail())
    receipt = desk.take_in_mail(tenant="acme", mail=_mail("<2@example.org>", thread=(ticket_id,)))
    assert receipt.message.outcome is Outcome.COMMENTED
    assert [c.body for c in desk.get_ticket(ticket_id).comments] == ["It jams."]


def test_a_reply_of_files_alone_or_nothing_is_still_a_comment(desk: HelpDesk) -> None:
    ticket_id = _opened(desk, _mail())
    files = (Attachment("photo.jpg", 10, "image/jpeg"),)
    desk.take_in_mail(
        tenant="acme", mail=_mail("<2@example.org>", text="", reply="", attachments=files, thread=(ticket_id,))
    )
    desk.take_in_mail(tenant="acme", mail=_mail("<3@example.org>", text=" ", reply="", thread=(ticket_id,)))
    assert [c.body for c in desk.get_ticket(ticket_id).comments] == [FILES_NOTE, EMPTY_REPLY]


def test_a_reply_of_someone_else_or_to_a_closed_ticket_opens_a_new_one(desk: HelpDesk) -> None:
    ticket_id = _opened(desk, _mail())
    eve = _mail("<2@example.org>", sender="eve@example.org", thread=(ticket_id,))
    assert _opened(desk, eve) != ticket_id
    for state in ("open", "solved", "closed"):
        desk.transition(ticket_id, state, by=AGENT, via="web")
    assert _opened(desk, _mail("<3@example.org>", thread=(ticket_id,))) != ticket_id
    assert desk.get_ticket(ticket_id).comments == []


def test_a_reply_to_a_solved_ticket_reopens_it(desk: HelpDesk) -> None:
    ticket_id = _opened(desk, _mail())
    for state in ("open", "solved"):
        desk.transition(ticket_id, state, by=AGENT, via="web")
    desk.take_in_mail(tenant="acme", mail=_mail("<2@example.org>", thread=(ticket_id,)))
    assert desk.get_ticket(ticket_id).category is Status.OPEN


def test_files_and_an_empty_subject(desk: HelpDesk) -> None:
    files = (Attachment("a.pdf", 3, "application/pdf"),)
    ticket = desk.get_ticket(_opened(desk, _mail(subject="", attachments=files)))
    assert ticket.title == NO_SUBJECT
    (comment,) = ticket.comments
    assert (comment.body, comment.attachments) == (FILES_NOTE, (files[0].as_dict(),))


def test_automatic_mail_is_set_aside_on_its_mailbox(desk: HelpDesk) -> None:
    receipt = desk.set_aside_mail(tenant="acme", mail=_mail(), reason="Auto-Submitted: auto-replied")
    assert receipt.message.outcome is Outcome.SET_ASIDE
    (set_aside,) = desk.set_aside_messages("acme", MAILBOX)
    assert set_aside.reason == "Auto-Submitted: auto-replied"
    assert desk.set_aside_mail(tenant="acme", mail=_mail(), reason="again").duplicate


def test_mailboxes_belong_to_one_tenant_and_can_be_removed(desk: HelpDesk) -> None:
    with pytest.raises(AlreadyExistsError):
        desk.configure_mailbox(
            tenant="globex", address="HELP@desk.example", group=None, admit_unknown_senders=True, by=ADMIN, via="api"
        )
    assert [m.address for m in desk.mailboxes("acme")] == [MAILBOX]
    desk.remove_mailbox(tenant="acme", address=MAILBOX, by=ADMIN, via="api")
    assert desk.mailboxes("acme") == []
    with pytest.raises(MailboxNotFoundError):
        desk.mailbox(MAILBOX)
    with pytest.raises(MailboxNotFoundError):
        desk.take_in_mail(tenant="acme", mail=_mail())
