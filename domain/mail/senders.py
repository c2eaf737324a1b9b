"""Senders: which person of a tenant an e-mail address is, kept without the address itself.

A `KnownSender` is one per (tenant, SHA-256 of the normalised address): its id follows from both,
so the person behind a `From` is found with one load and two first mails from one new sender
race for one record (the store takes one, the other command reads it and carries on). It holds
the person id the tenant's tickets name as requester and, for an address first seen by a mailbox
that admits new senders, the mailbox. The address is never stored here: the ticket events keep
it, encrypted with the person's data key (docs/privacy.md), so erasing the person leaves only a
hash that no longer leads to anything readable.
"""

from __future__ import annotations

import hashlib
import uuid

from eventsourcing.domain import event

from domain.actors import identifier
from domain.provenance import Recorded, TenantOwned

_SENDERS = uuid.UUID("9d4e2f6a-1b3c-4d5e-8f70-a1b2c3d4e5f6")
PERSON_PREFIX = "mail-"


def address_sha256(address: str) -> str:
    """The SHA-256 (hex) of a normalised address: how senders and messages name an address."""
    return hashlib.sha256(address.encode()).hexdigest()


def person_for_new_sender(tenant: str, address: str) -> str:
    """The person id a new sender gets: it follows from tenant and address, and reveals neither."""
    digest = hashlib.sha256(f"{tenant}\n{address}".encode()).hexdigest()
    return f"{PERSON_PREFIX}{digest[:24]}"


class KnownSender(TenantOwned):
    """An e-mail address (by its hash) that a tenant knows as one person."""

    class Event(TenantOwned.Event):
        """Base of known-sender events."""

    class SenderRecorded(Event, Recorded.Created):
        """The address is this person's: admitted by a mailbox (`mailbox`) or registered by an admin (None)."""

        address_sha256: str
        person_id: str
        mailbox: str | None

    @staticmethod
    def create_id(tenant: str, address: str) -> uuid.UUID:
        """The id of the record of `address` (normalised) in `tenant`."""
        return uuid.uuid5(_SENDERS, f"{tenant}\n{address_sha256(address)}")

    @classmethod
    def record(cls, *, tenant: str, address: str, person_id: str, mailbox: str | None) -> KnownSender:
        """Put on record that `address` (normalised) is `person_id` in `tenant`."""
        sender: KnownSender = cls._create(
            cls.SenderRecorded,
            id=cls.create_id(tenant, address),
            tenant=identifier(tenant, "tenant"),
            address_sha256=address_sha256(address),
            person_id=identifier(person_id, "person id"),
            mailbox=mailbox,
        )
        return sender

    @event(SenderRecorded)
    def __init__(self, *, tenant: str, address_sha256: str, person_id: str, mailbox: str | None) -> None:
        self.tenant = tenant
        self.address_sha256 = address_sha256
        self.person_id = person_id
        self.mailbox = mailbox
