"""Follow-ups: which tickets a message may continue, nearest first, by its headers and subject.

A reply names its ticket in three ways, tried in this order: a ledgerdesk Message-ID in
`In-Reply-To`/`References` (what our notifications carry, domain/mail/threads.py); the Message-ID
of an inbound message already on record (a customer following up on their own first mail); the
subject token `[#3f2a9c1e]`, resolved within the tenant. Whether a candidate is taken (the sender
is its requester, it still takes replies) is the command's to decide (domain/mail/commands.py).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from uuid import UUID

from domain.mail.threads import short_ref_in, tickets_referenced

_MESSAGE_ID = re.compile(r"<[^<>\s]+>")

#: The ticket an inbound message already on record became part of (None: no such record), by Message-ID.
TicketOfMessage = Callable[[str], UUID | None]
#: The tenant's tickets whose id starts with a short reference.
TicketsByShortRef = Callable[[str], Sequence[UUID]]


def message_ids_in(header_values: Sequence[str]) -> list[str]:
    """Every `<id>` in `In-Reply-To`/`References` values, nearest first (the last of References is nearest)."""
    found: list[str] = []
    for value in header_values:
        for message_id in reversed(_MESSAGE_ID.findall(value)):
            if message_id not in found:
                found.append(message_id)
    return found


def candidates(
    *,
    in_reply_to: Sequence[str],
    references: Sequence[str],
    subject: str,
    ticket_of_message: TicketOfMessage,
    tickets_by_short_ref: TicketsByShortRef,
) -> list[UUID]:
    """The tickets the message may continue, nearest first, without repeats."""
    ids = message_ids_in([*in_reply_to, *references])
    found: list[UUID] = []
    for ticket_id in tickets_referenced(ids):
        _add(found, ticket_id)
    for message_id in ids:
        continued = ticket_of_message(message_id)
        if continued is not None:
            _add(found, continued)
    ref = short_ref_in(subject)
    if ref is not None:
        for ticket_id in tickets_by_short_ref(ref):
            _add(found, ticket_id)
    return found


def _add(found: list[UUID], ticket_id: UUID) -> None:
    if ticket_id not in found:
        found.append(ticket_id)
