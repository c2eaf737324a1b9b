"""E-mail taken in keeps personal data only where erasure reaches it (docs/email.md, docs/privacy.md).

The inbound message's record holds hashes of its Message-ID, sender and subject, and its
sanitised HTML sealed with the sender's data key; the ticket events hold the rest, sealed as
ever. After the sender's erasure nothing of theirs reads back, on SQLite and PostgreSQL.
"""

from __future__ import annotations

from email.message import EmailMessage

from domain.values import ERASED
from infrastructure.composition import Services
from tests.support.mail import ADMIN, mail, mail_server, open_mailbox, send

SECRET = "Zanzibar-7731"


def _html_mail() -> EmailMessage:
    message = mail(f"Invoice {SECRET}", f"Plain {SECRET}")
    message.add_alternative(f"<p>Rich <b>{SECRET}</b></p>", subtype="html")
    return message


def test_the_record_holds_hashes_and_sealed_html_and_erasure_reaches_both(sql_services: Services) -> None:
    open_mailbox(sql_services)
    sql_services.start_projections()
    message = _html_mail()
    with mail_server(sql_services) as port:
        send(port, message)
    desk = sql_services.desk
    record = desk.inbound_message("acme", message["Message-ID"])
    assert record is not None
    assert record.html is not None
    assert record.html.strip() == f"<p>Rich <b>{SECRET}</b></p>"
    stored = desk.recorder.select_events(record.id)
    raw = b"".join(s.state for s in stored)
    assert SECRET.encode() not in raw
    assert b"bob@example.org" not in raw
    assert message["Message-ID"].encode() not in raw

    ticket = desk.get_ticket(record.ticket_id) if record.ticket_id else None
    assert ticket is not None
    sql_services.read_models.wait_for(sql_services.read_models.head(), timeout=10)
    sql_services.eraser().erase(tenant="acme", person_id=ticket.requester_id, by=ADMIN, via="api")

    (received,) = desk.events.get(record.id)
    assert received.html == ERASED
    erased = desk.get_ticket(ticket.id)
    assert (erased.title, erased.description, erased.requester_email) == (ERASED, ERASED, ERASED)
