"""E-mail both ways through the real parts: a customer writes in, an agent answers over REST, the
notifier mails the answer to a real SMTP server, the customer replies to that message with a file,
and the reply threads onto the same ticket with its file stored, on SQLite and PostgreSQL.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterator
from email.message import EmailMessage

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.mail import CUSTOMER, MAILBOX, mail, mail_server, open_mailbox, send
from tests.support.smtp_sink import Received, SmtpSink


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    server = SmtpSink().start()
    yield server
    server.stop()


@pytest.fixture
def services(sql_settings: Settings, sink: SmtpSink) -> Iterator[Services]:
    built = build_services(
        sql_settings.model_copy(
            update={"smtp_url": SecretStr(sink.url), "mail_from": f"Help Desk <{MAILBOX}>", "notify_poll_seconds": 0.05}
        )
    )
    open_mailbox(built)
    built.start_projections()
    built.start_notifications()
    yield built
    built.close()


def _arrived(sink: SmtpSink, to: str, count: int, timeout: float = 30.0) -> list[Received]:
    deadline = time.monotonic() + timeout
    while len(found := sink.to(to)) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(found) >= count, f"{len(found)} of {count} messages to {to} arrived"
    return found


def _reply_to(notification: Received, body: str, attachment: bytes) -> EmailMessage:
    """What a mail client sends when the customer answers the notification, with a file."""
    quoted = "\n".join(f"> {line}" for line in notification.part("plain").splitlines())
    reply = mail(
        f"Re: {notification.subject}",
        f"{body}\n\nOn Monday Help Desk wrote:\n{quoted}",
        In_Reply_To=notification.message_id,
        References=str(notification.message["References"] or "") + " " + notification.message_id,
    )
    reply.add_attachment(attachment, maintype="image", subtype="png", filename="截图.png")
    return reply


def test_a_conversation_by_mail_stays_on_one_ticket(services: Services, sink: SmtpSink) -> None:
    agent = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    client = TestClient(create_app(services=services), headers={"Authorization": f"Bearer {agent}"})
    first = mail("Printer on fire", "The printer on floor 3 is on fire.")
    with client, mail_server(services) as port:
        send(port, first)
        ticket_id = services.desk.ticket_of_message("acme", first["Message-ID"])
        assert ticket_id is not None
        answered = client.post(f"/tickets/{ticket_id}/comments", json={"body": "Leave the floor.", "public": True})
        assert answered.status_code == 201, answered.text
        (notification,) = _arrived(sink, CUSTOMER, 1)
        assert "Leave the floor." in notification.part("plain")

        png = b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 4
        send(port, _reply_to(notification, "It is out now, see the picture.", png))

        ticket = services.desk.get_ticket(ticket_id)
        agent_reply, customer_reply = ticket.comments[-2:]
        assert agent_reply.body == "Leave the floor."
        assert customer_reply.body == "It is out now, see the picture."  # the quoted answer is cut
        assert customer_reply.author_id == ticket.requester_id
        (file,) = customer_reply.attachments
        assert (file["name"], file["content_type"], file["sha256"]) == (
            "截图.png",
            "image/png",
            hashlib.sha256(png).hexdigest(),
        )
        downloaded = client.get(f"/tickets/{ticket_id}/attachments/{customer_reply.number}.1")
        assert downloaded.status_code == 200, downloaded.text
        assert downloaded.content == png
        history = client.get(f"/tickets/{ticket_id}/history").json()["items"]
        assert "NotificationSent" in {entry["event"] for entry in history}
