"""The identifiers that thread e-mail to tickets: Message-IDs ledgerdesk sends and the subject token.

Every message sent about a ticket carries a Message-ID naming the ticket, the event it tells of
and (hashed) its recipient, so it is the same on every re-send of that notification and a reply's
`In-Reply-To`/`References` lead back to the ticket without a lookup. All of a ticket's messages
also reference the ticket's thread root, `<ld-<ticket id>@domain>`, so mail clients keep them in
one conversation. When a client drops those headers, the subject token `[#<first 8 hex digits of
the ticket id>]` is the fallback (a reply keeps its subject).
"""

from __future__ import annotations

import hashlib
import re
from uuid import UUID

_PREFIX = "ld-"
_IN_MESSAGE_ID = re.compile(r"<ld-([0-9a-f]{32})(?:\.[0-9a-z.]+)?@[^>]+>", re.IGNORECASE)
_SUBJECT_TOKEN = re.compile(r"\[#([0-9a-f]{8})\]", re.IGNORECASE)
SHORT_REF_LENGTH = 8


def thread_root(ticket_id: UUID, domain: str) -> str:
    """The Message-ID every message about the ticket references: the root of its thread."""
    return f"<{_PREFIX}{ticket_id.hex}@{domain}>"


def notification_message_id(ticket_id: UUID, position: int, recipient: str, domain: str) -> str:
    """The Message-ID of the notification of the event at log `position` to `recipient`: stable across re-sends."""
    person = hashlib.sha256(recipient.strip().lower().encode()).hexdigest()[:12]
    return f"<{_PREFIX}{ticket_id.hex}.{position}.{person}@{domain}>"


def tickets_referenced(header_values: list[str]) -> list[UUID]:
    """The tickets named by ledgerdesk Message-IDs in `In-Reply-To`/`References` values, nearest first."""
    found: list[UUID] = []
    for value in header_values:
        for match in _IN_MESSAGE_ID.finditer(value):
            ticket_id = UUID(hex=match.group(1))
            if ticket_id not in found:
                found.append(ticket_id)
    return found


def short_ref(ticket_id: UUID) -> str:
    """The ticket's short reference, as the subject token shows it."""
    return ticket_id.hex[:SHORT_REF_LENGTH]


def subject_token(ticket_id: UUID) -> str:
    """The token a subject carries so that a reply finds its ticket without headers: `[#3f2a9c1e]`."""
    return f"[#{short_ref(ticket_id)}]"


def short_ref_in(subject: str) -> str | None:
    """The short reference of the first subject token in `subject`, lower case (None: there is none)."""
    match = _SUBJECT_TOKEN.search(subject)
    return match.group(1).lower() if match else None
