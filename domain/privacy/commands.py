"""The erasure of a person's data, put on every ticket that held some and on the person's record."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Unpack
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain.errors import (
    TicketNotFoundError,
)
from domain.pipeline import Acting, CommandPipeline, ErasureReceipt
from domain.privacy.data_subject import DataSubject


class ErasureCommands(CommandPipeline):
    """Erasure, as the record keeps it."""

    def erase_person(
        self, *, tenant: str, person_id: str, ticket_ids: Iterable[UUID], **how: Unpack[Acting]
    ) -> ErasureReceipt:
        """Record the erasure of a person's data on each of these tickets, and on the person's record.

        Every ticket that still holds something of the person records `PersonalDataErased` and
        forgets it; all of it is saved in one transaction. Destroying the person's data key,
        which makes the stored copies unreadable, is the caller's next step.
        """
        tickets = []
        for ticket_id in ticket_ids:
            try:
                ticket = self.get_ticket(ticket_id, tenant=tenant)
            except TicketNotFoundError:
                continue
            with self._acting(ticket=ticket, **how):
                ticket.erase_personal_data(person_id)
            if ticket.pending_events:
                tickets.append(ticket)
        subject_id = DataSubject.create_id(tenant, person_id)
        try:
            subject: DataSubject = self.repository.get(subject_id)
        except AggregateNotFoundError:
            with self._acting(tenant=tenant, **how):
                subject = DataSubject.register(tenant=tenant, person_id=person_id)
        with self._acting(tenant=tenant, **how):
            subject.erased(tickets=len(tickets))
        recordings = self.save(*tickets, subject)
        return ErasureReceipt(tickets=len(tickets), position=recordings[-1].notification.id)
