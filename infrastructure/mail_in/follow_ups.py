"""The follow-up step: the tickets a parsed message may continue, from the event store and the read models."""

from __future__ import annotations

from uuid import UUID

from domain.helpdesk import HelpDesk
from domain.mail.followups import candidates
from infrastructure.mail_in.parsing import ParsedMail
from infrastructure.readmodels.store import ReadModels


def thread_of(desk: HelpDesk, read_models: ReadModels, tenant: str, mail: ParsedMail) -> list[UUID]:
    """The tickets of `tenant` the message may continue, nearest first (domain/mail/followups.py)."""
    return candidates(
        in_reply_to=mail.in_reply_to,
        references=mail.references,
        subject=mail.subject,
        ticket_of_message=lambda message_id: desk.ticket_of_message(tenant, message_id),
        tickets_by_short_ref=lambda ref: read_models.tickets().with_short_ref(tenant, ref),
    )
