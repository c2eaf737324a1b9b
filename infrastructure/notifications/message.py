"""A notification as an e-mail: threaded to its ticket, marked automatic, plain text with an HTML alternative."""

from __future__ import annotations

from email.headerregistry import Address
from email.message import EmailMessage
from email.utils import formatdate
from uuid import UUID

from domain.mail.threads import subject_token, thread_root
from infrastructure.notifications.rendering import Rendered


def mail_domain(mail_from: str) -> str:
    """The domain of the From address: the domain of every Message-ID ledgerdesk makes."""
    return mail_from.rpartition("@")[2].strip(" >") or "localhost"


def compose(
    rendered: Rendered, *, ticket_id: UUID, message_id: str, mail_from: str, to: str, domain: str
) -> EmailMessage:
    """The message: its Message-ID, `In-Reply-To`/`References` to the ticket's thread root, the subject token."""
    message = EmailMessage()
    message["From"] = mail_from
    message["To"] = Address(addr_spec=to)
    message["Subject"] = f"{subject_token(ticket_id)} {rendered.subject}"
    message["Date"] = formatdate(usegmt=True)
    message["Message-ID"] = message_id
    root = thread_root(ticket_id, domain)
    message["In-Reply-To"] = root
    message["References"] = root
    # RFC 3834: an automatic message, which mail systems (ours too) never answer automatically.
    message["Auto-Submitted"] = "auto-generated"
    message["X-Auto-Response-Suppress"] = "All"
    message.set_content(rendered.text)
    message.add_alternative(rendered.html, subtype="html")
    return message
