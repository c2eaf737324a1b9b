"""Real mail for tests: messages built with the standard library, an in-process mail-in server on loopback."""

from __future__ import annotations

import smtplib
from collections.abc import Iterator
from contextlib import contextmanager
from email.message import EmailMessage
from email.utils import make_msgid

from domain.actors import Actor, ActorKind
from infrastructure.composition import Services
from infrastructure.mail_in.delivery import MailIn
from infrastructure.mail_in.smtp import MailController, MailHandler
from tests.support.processes import free_port

ADMIN = Actor("root", ActorKind.SYSTEM, role="admin")
MAILBOX = "help@desk.example"
CUSTOMER = "bob@example.org"


def mail(
    subject: str = "Printer on fire",
    body: str = "The printer on floor 3 is on fire.",
    *,
    sender: str = f"Bob Example <{CUSTOMER}>",
    to: str = MAILBOX,
    message_id: str | None = None,
    **headers: str,
) -> EmailMessage:
    """A plain-text message (headers given as keywords: `In_Reply_To="<...>"`)."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Message-ID"] = message_id or make_msgid(domain="example.org")
    for name, value in headers.items():
        message[name.replace("_", "-")] = value
    message.set_content(body)
    return message


def open_mailbox(services: Services, *, admit: bool = True, address: str = MAILBOX, tenant: str = "acme") -> None:
    """Configure the test mailbox."""
    services.desk.configure_mailbox(
        tenant=tenant, address=address, group=None, admit_unknown_senders=admit, by=ADMIN, via="api"
    )


@contextmanager
def mail_server(services: Services, *, lmtp: bool = False, max_bytes: int | None = None) -> Iterator[int]:
    """`mail-in --listen` in this process on a free loopback port; yields the port."""
    limit = max_bytes or services.settings.mail_max_bytes
    mail_in = MailIn(services.desk, services.read_models, services.store_files, max_bytes=limit)
    port = free_port()
    controller = MailController(MailHandler(mail_in, lmtp=lmtp), host="127.0.0.1", port=port, max_bytes=limit)
    controller.start()
    try:
        yield port
    finally:
        controller.stop()


def send(port: int, message: EmailMessage, *, mail_from: str = CUSTOMER, to: str = MAILBOX) -> None:
    """Send over SMTP to loopback; smtplib raises on any refusal."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.send_message(message, from_addr=mail_from, to_addrs=[to])


def send_raw(port: int, raw: bytes, *, mail_from: str = CUSTOMER, to: str = MAILBOX) -> None:
    """Send raw bytes over SMTP to loopback."""
    with smtplib.SMTP("127.0.0.1", port, timeout=30) as client:
        client.sendmail(mail_from, [to], raw)
