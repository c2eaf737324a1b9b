"""Inbound e-mail end to end: `mail-in --listen` in process on loopback, real SMTP/LMTP clients, SQLite and PostgreSQL.

See docs/email.md. Each test configures a mailbox, sends real messages with smtplib and reads
what the event store and the read models hold afterwards.
"""

from __future__ import annotations

import base64
import hashlib
import smtplib
import threading
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.mail.inbound import Outcome
from domain.mail.threads import notification_message_id, subject_token
from domain.tickets.workflow import Status
from domain.values import Attachment
from infrastructure.attachments.errors import AttachmentErasedError
from infrastructure.composition import Services
from tests.support.mail import ADMIN, CUSTOMER, MAILBOX, mail, mail_server, open_mailbox, send, send_raw

AGENT = Actor("alice", ActorKind.AGENT, role="agent")


@pytest.fixture
def desk(sql_services: Services) -> Services:
    """The services with a mailbox that admits new senders, and the read models kept up to date."""
    open_mailbox(sql_services)
    sql_services.start_projections()
    return sql_services


def _ticket_of(services: Services, message_id: str) -> UUID:
    found = services.desk.ticket_of_message("acme", message_id)
    assert found is not None
    return found


def test_a_new_message_opens_a_ticket_by_email(desk: Services) -> None:
    first = mail("Printer on fire", "It is still burning.\n")
    with mail_server(desk) as port:
        send(port, first)
    ticket = desk.desk.get_ticket(_ticket_of(desk, first["Message-ID"]))
    assert ticket.tenant == "acme"
    assert ticket.title == "Printer on fire"
    assert ticket.description == "It is still burning."
    assert ticket.channel == "email"
    assert ticket.requester_email == "bob@example.org"
    assert ticket.requester_name == "Bob Example"
    assert ticket.requester_id.startswith("mail-")
    assert ticket.comments == []


def test_replies_thread_by_notification_id_subject_token_and_own_message_id(desk: Services) -> None:
    first = mail()
    with mail_server(desk) as port:
        send(port, first)
        ticket_id = _ticket_of(desk, first["Message-ID"])
        ours = notification_message_id(ticket_id, 3, "bob@example.org", "desk.example")
        send(port, mail("Re: Printer on fire", "Now it smokes.\n\nOn Monday Desk wrote:\n> old", In_Reply_To=ours))
        send(port, mail("Re: Printer", "Following up on my own mail.", References=first["Message-ID"]))
        desk.read_models.wait_for(desk.read_models.head(), timeout=10)
        send(port, mail(f"Re: {subject_token(ticket_id)} fire", "Token only."))
    comments = desk.desk.get_ticket(ticket_id).comments
    assert [c.body for c in comments] == ["Now it smokes.", "Following up on my own mail.", "Token only."]
    assert {c.author_id for c in comments} == {desk.desk.get_ticket(ticket_id).requester_id}


def test_a_token_from_another_sender_opens_a_new_ticket(desk: Services) -> None:
    first = mail()
    with mail_server(desk) as port:
        send(port, first)
        ticket_id = _ticket_of(desk, first["Message-ID"])
        desk.read_models.wait_for(desk.read_models.head(), timeout=10)
        other = mail(f"Re: {subject_token(ticket_id)}", "Me too", sender="eve@example.net")
        send(port, other, mail_from="eve@example.net")
    assert _ticket_of(desk, other["Message-ID"]) != ticket_id
    assert desk.desk.get_ticket(ticket_id).comments == []


def test_the_same_message_twice_is_one_ticket_and_one_comment(desk: Services) -> None:
    first = mail()
    with mail_server(desk) as port:
        send(port, first)
        send(port, first)
        ticket_id = _ticket_of(desk, first["Message-ID"])
        reply = mail("Re: fire", "Once only.", In_Reply_To=first["Message-ID"])
        send(port, reply)
        send(port, reply)
    assert [c.body for c in desk.desk.get_ticket(ticket_id).comments] == ["Once only."]
    desk.read_models.wait_for(desk.read_models.head(), timeout=10)
    assert desk.read_models.tickets().tenants() == ["acme"]
    assert len(desk.read_models.tickets().not_closed("acme", after=None, limit=10)) == 1


def test_a_message_without_message_id_is_stored_once(desk: Services) -> None:
    raw = b"From: bob@example.org\r\nTo: help@desk.example\r\nSubject: no id\r\n\r\nHello\r\n"
    with mail_server(desk) as port:
        send_raw(port, raw)
        send_raw(port, raw)
    desk.read_models.wait_for(desk.read_models.head(), timeout=10)
    assert len(desk.read_models.tickets().not_closed("acme", after=None, limit=10)) == 1


def test_an_unknown_mailbox_is_550_5_1_1(desk: Services) -> None:
    with mail_server(desk) as port, pytest.raises(smtplib.SMTPRecipientsRefused) as refused:
        send(port, mail(to="nobody@desk.example"), to="nobody@desk.example")
    code, text = refused.value.recipients["nobody@desk.example"]
    assert code == 550
    assert text.startswith(b"5.1.1")


def test_an_unknown_sender_is_refused_where_the_mailbox_does_not_admit_them(sql_services: Services) -> None:
    open_mailbox(sql_services, admit=False)
    with mail_server(sql_services) as port:
        with pytest.raises(smtplib.SMTPDataError) as refused:
            send(port, mail())
        assert refused.value.smtp_code == 550
        assert refused.value.smtp_error.startswith(b"5.7.1")
        sql_services.desk.register_mail_sender(
            tenant="acme", address="Bob@Example.org", person_id="bob", by=ADMIN, via="api"
        )
        known = mail()
        send(port, known)
    assert sql_services.desk.get_ticket(_ticket_of(sql_services, known["Message-ID"])).requester_id == "bob"


@pytest.mark.parametrize(
    ("headers", "mail_from"),
    [
        ({"Auto_Submitted": "auto-replied"}, "bob@example.org"),
        ({"Precedence": "bulk"}, "bob@example.org"),
        ({"X_Autoreply": "yes"}, "bob@example.org"),
        ({}, ""),
    ],
)
def test_automatic_messages_are_recorded_and_open_nothing(
    desk: Services, headers: dict[str, str], mail_from: str
) -> None:
    auto = mail("Out of office", "I am away.", **headers)
    with mail_server(desk) as port:
        send(port, auto, mail_from=mail_from)
        send(port, auto, mail_from=mail_from)
    record = desk.desk.inbound_message("acme", auto["Message-ID"])
    assert record is not None
    assert record.outcome is Outcome.SET_ASIDE
    assert record.ticket_id is None
    (set_aside,) = desk.desk.set_aside_messages("acme", MAILBOX)
    assert set_aside.message_key == str(record.id)
    desk.read_models.wait_for(desk.read_models.head(), timeout=10)
    assert desk.read_models.tickets().tenants() == []


def test_a_message_over_the_limit_is_552(desk: Services) -> None:
    big = mail(body="x" * 20_000)
    with mail_server(desk, max_bytes=10_000) as port, pytest.raises(smtplib.SMTPException) as refused:
        send(port, big)
    assert "552" in str(refused.value)
    assert "5.3.4" in str(refused.value)
    assert desk.desk.inbound_message("acme", big["Message-ID"]) is None


def test_a_reply_reopens_a_solved_ticket(desk: Services) -> None:
    first = mail()
    with mail_server(desk) as port:
        send(port, first)
        ticket_id = _ticket_of(desk, first["Message-ID"])
        desk.desk.transition(ticket_id, "open", by=AGENT, via="web")
        desk.desk.transition(ticket_id, "solved", by=AGENT, via="web")
        send(port, mail("Re: fire", "It is burning again.", In_Reply_To=first["Message-ID"]))
    ticket = desk.desk.get_ticket(ticket_id)
    assert ticket.category is not Status.SOLVED
    assert ticket.comments[-1].body == "It is burning again."


def test_a_long_thread_stays_on_one_ticket(desk: Services) -> None:
    first = mail()
    with mail_server(desk) as port:
        send(port, first)
        previous = first["Message-ID"]
        for n in range(30):
            reply = mail("Re: fire", f"Reply {n}", In_Reply_To=previous, References=previous)
            send(port, reply)
            previous = reply["Message-ID"]
    ticket = desk.desk.get_ticket(_ticket_of(desk, first["Message-ID"]))
    assert [c.body for c in ticket.comments] == [f"Reply {n}" for n in range(30)]


def test_lmtp_answers_each_recipient(desk: Services) -> None:
    first = mail()
    with mail_server(desk, lmtp=True) as port, smtplib.LMTP("127.0.0.1", port) as client:
        refused = client.send_message(first, from_addr="bob@example.org", to_addrs=[MAILBOX])
    assert refused == {}
    assert desk.desk.get_ticket(_ticket_of(desk, first["Message-ID"])).channel == "email"


def test_files_ride_on_the_first_comment_stored_as_the_senders(desk: Services) -> None:
    pdf = b"%PDF-1.4\n" + bytes(range(256)) * 8
    first = mail()
    first.add_attachment(pdf, maintype="application", subtype="pdf", filename="报告.pdf")
    first.add_attachment(b"MZ\x90\x00" + bytes(100), maintype="application", subtype="octet-stream", filename="x.exe")
    with mail_server(desk) as port:
        send(port, first)
    ticket = desk.desk.get_ticket(_ticket_of(desk, first["Message-ID"]))
    (comment,) = ticket.comments
    kept, refused = (Attachment.from_dict(a) for a in comment.attachments)
    assert (kept.name, kept.size, kept.content_type) == ("报告.pdf", len(pdf), "application/pdf")
    assert kept.sha256 == hashlib.sha256(pdf).hexdigest()
    assert b"".join(desk.attachments.open("acme", kept).chunks) == pdf
    # A type the desk does not take is listed, without content: the message itself is not lost.
    assert (refused.name, refused.blob) == ("x.exe", "")
    desk.eraser().erase(tenant="acme", person_id=ticket.requester_id, by=ADMIN, via="api")
    with pytest.raises(AttachmentErasedError):
        desk.attachments.open("acme", kept)


def test_the_same_message_delivered_at_once_by_eight_servers_is_one_ticket(desk: Services) -> None:
    first = mail()
    with mail_server(desk) as port:
        errors: list[BaseException] = []

        def deliver() -> None:
            try:
                send(port, first)
            except smtplib.SMTPException as error:
                errors.append(error)

        threads = [threading.Thread(target=deliver) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert errors == []
    desk.read_models.wait_for(desk.read_models.head(), timeout=10)
    assert len(desk.read_models.tickets().not_closed("acme", after=None, limit=10)) == 1


def test_an_agent_answering_by_mail_replies_as_the_agent(desk: Services) -> None:
    desk.desk.define_agent(
        tenant="acme",
        agent="alice",
        groups=[],
        skills={},
        capacity=10,
        available=True,
        email="Alice@Desk.Example",
        by=ADMIN,
        via="api",
    )
    first = mail()
    with mail_server(desk) as port:
        send(port, first)
        ticket_id = _ticket_of(desk, first["Message-ID"])
        ours = notification_message_id(ticket_id, 2, "alice@desk.example", "desk.example")
        answer = mail("Re: Printer on fire", "Switch it off.\n\nOn Monday Bob wrote:\n> fire", In_Reply_To=ours)
        answer.replace_header("From", "Alice <alice@desk.example>")
        send(port, answer, mail_from="alice@desk.example")
        # From the agent's address but continuing nothing: a request like anyone's.
        own = mail("My laptop", "It will not start.", sender="alice@desk.example")
        send(port, own, mail_from="alice@desk.example")
    (reply,) = desk.desk.get_ticket(ticket_id).comments
    assert (reply.author_id, reply.author_kind, reply.public, reply.body) == ("alice", "agent", True, "Switch it off.")
    assert desk.desk.get_ticket(_ticket_of(desk, own["Message-ID"])).requester_id.startswith("mail-")


def _mime_in(codec: str, label: str, text: str, file_name: str, message_id: str) -> bytes:
    """A message as a Chinese mail client writes it: encoded-word subject and sender, multipart/alternative
    in `label` with base64 parts, and a file whose name is given in RFC 2231 form in the same charset."""
    encoded = base64.b64encode(text.encode(codec)).decode()
    html = base64.b64encode(f"<p>{text}</p>".encode(codec)).decode()
    name = "".join(f"%{byte:02X}" for byte in file_name.encode(codec))
    png = base64.b64encode(b"\x89PNG\r\n\x1a\n" + bytes(64)).decode()
    return (
        f"From: =?{label}?B?{base64.b64encode('张三'.encode(codec)).decode()}?= <{CUSTOMER}>\r\n"
        f"To: {MAILBOX}\r\n"
        f"Subject: =?{label}?B?{encoded}?=\r\n"
        f"Message-ID: {message_id}\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/mixed; boundary="outer"\r\n\r\n'
        "--outer\r\n"
        'Content-Type: multipart/alternative; boundary="inner"\r\n\r\n'
        "--inner\r\n"
        f'Content-Type: text/plain; charset="{label}"\r\nContent-Transfer-Encoding: base64\r\n\r\n{encoded}\r\n'
        "--inner\r\n"
        f'Content-Type: text/html; charset="{label}"\r\nContent-Transfer-Encoding: base64\r\n\r\n{html}\r\n'
        "--inner--\r\n"
        "--outer\r\n"
        "Content-Type: image/png\r\nContent-Transfer-Encoding: base64\r\n"
        f"Content-Disposition: attachment; filename*={label}''{name}\r\n\r\n{png}\r\n"
        "--outer--\r\n"
    ).encode("ascii")


@pytest.mark.parametrize(("codec", "label"), [("gb2312", "gb2312"), ("gbk", "gbk"), ("utf-8", "utf-8")])
def test_chinese_mail_in_each_charset_opens_a_readable_ticket_with_its_file(
    desk: Services, codec: str, label: str
) -> None:
    text = "打印机坏了 请尽快修理" + ("" if codec == "gb2312" else " 镕")  # 镕 is beyond GB2312
    message_id = f"<{label}.chinese@example.org>"
    with mail_server(desk) as port:
        send_raw(port, _mime_in(codec, label, text, "故障照片.png", message_id))
    ticket = desk.desk.get_ticket(_ticket_of(desk, message_id))
    assert (ticket.title, ticket.description, ticket.requester_name) == (text, text, "张三")
    (comment,) = ticket.comments
    (photo,) = (Attachment.from_dict(a) for a in comment.attachments)
    assert (photo.name, photo.content_type) == ("故障照片.png", "image/png")
