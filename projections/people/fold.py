"""Whose personal data each ticket holds, and who was erased.

`ticket_people` keeps a ticket's requester and the authors of its comments (copies of a merged
ticket's included): what an erasure visits. The people a batch erased tell the tables which
rewritten rows to reclaim.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from domain.privacy.data_subject import DataSubject
from domain.tickets.ticket import Ticket
from projections.batch import Folding


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Events of other kinds name no person."""


@fold.register(Ticket.Opened)
def _opened(event: Ticket.Opened, f: Folding) -> None:
    f.batch.people.add((event.tenant, event.requester_id, event.originator_id))


@fold.register(Ticket.CommentAdded)
def _commented(event: Ticket.CommentAdded, f: Folding) -> None:
    f.batch.people.add((f.ticket(event.originator_id).tenant, event.actor_id, event.originator_id))


@fold.register(Ticket.Merged)
@fold.register(Ticket.HandedOver)
def _merged(event: Ticket.Merged | Ticket.HandedOver, f: Folding) -> None:
    # The copies of a merged ticket's comments hold their authors' data on this ticket too, as a chat's messages do.
    tenant = f.ticket(event.originator_id).tenant
    for copy in event.comments:
        f.batch.people.add((tenant, copy["author_id"], event.originator_id))


@fold.register(Ticket.PersonalDataErased)
def _erased_from_ticket(event: Ticket.PersonalDataErased, f: Folding) -> None:
    f.batch.erased.add((f.ticket(event.originator_id).tenant, event.person_id))


@fold.register(DataSubject.PersonErased)
def _person_erased(event: DataSubject.PersonErased, f: Folding) -> None:
    f.batch.erased.add((event.tenant, event.person_id))
