"""People of a tenant whose personal data was erased, with every erasure on record.

An erasure changes tickets (each records what it forgot), and the person's own record says who
asked for it and when, so an auditor sees every erasure (a privileged action in the reports).
"""

from __future__ import annotations

import uuid

from eventsourcing.domain import event

from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned

_SUBJECTS = uuid.UUID("5d2c6a90-1e4b-4c7f-b3a8-9f6e0d1c2b34")


class DataSubject(TenantOwned):
    """A person of a tenant whose personal data was erased, with every erasure on record."""

    class Event(TenantOwned.Event):
        """Base of data-subject events: whose record, who asked for the erasure, and how."""

    class Registered(Event, Recorded.Created):
        person_id: str

    class PersonErased(Event):
        person_id: str
        tickets: int  # how many tickets held data of the person and recorded its erasure

    @staticmethod
    def create_id(tenant: str, person_id: str) -> uuid.UUID:
        """The aggregate id of `person_id` in `tenant`."""
        return uuid.uuid5(_SUBJECTS, f"{tenant}\x00{person_id}")

    @classmethod
    def register(cls, *, tenant: str, person_id: str) -> DataSubject:
        """Start the record of a person (on their first erasure)."""
        return cls(tenant=identifier(tenant, "tenant"), person_id=identifier(person_id, "person id"))

    @event(Registered)
    def __init__(
        self,
        *,
        tenant: str,
        person_id: str,
    ) -> None:
        self.tenant = tenant
        self.person_id = person_id
        self.erasures = 0

    def erased(self, *, tickets: int) -> None:
        """Record one completed erasure of this person's data."""
        if tickets < 0:
            msg = "a ticket count cannot be negative"
            raise InvalidValueError(msg)
        self._erased(person_id=self.person_id, tickets=tickets)

    @event(PersonErased)
    def _erased(
        self,
        *,
        person_id: str,
        tickets: int,
    ) -> None:
        self.erasures += 1
