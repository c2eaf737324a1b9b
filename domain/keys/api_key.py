"""API keys issued, rotated and revoked, on record.

Issuing or revoking a key changes no ticket, but an auditor must be able to see who did it and
when, so it is an event like everything else (the audit reports count it as a privileged action).
The secret itself is never part of an event: a key is named by its public id only.
"""

from __future__ import annotations

import uuid

from eventsourcing.domain import event

from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned

_KEYS = uuid.UUID("0b7e8f52-93c1-4f0e-8d1a-3c5b9e2f4a61")


class ApiKey(TenantOwned):
    """The life of one API key: issued to a principal, perhaps rotated, perhaps revoked.

    Its id follows from the key id.
    """

    class Event(TenantOwned.Event):
        """Base of key events: whose key, who administered it, and how."""

    class KeyCreated(Event, Recorded.Created):
        key_id: str
        holder_id: str  # the principal the key acts as
        holder_kind: str
        role: str

    class KeyRevoked(Event):
        key_id: str

    class KeyRotated(Event):
        """The key got a new secret (the old one stopped working); its id, holder and role stay."""

        key_id: str

    @staticmethod
    def create_id(key_id: str) -> uuid.UUID:
        """The aggregate id of the key with public id `key_id`."""
        return uuid.uuid5(_KEYS, key_id)

    @classmethod
    def issue(cls, *, tenant: str, key_id: str, holder_id: str, holder_kind: str, role: str) -> ApiKey:
        """Record that a key was issued (the secret is shown once to the caller and never recorded)."""
        return cls(
            tenant=identifier(tenant, "tenant"),
            key_id=identifier(key_id, "key id"),
            holder_id=identifier(holder_id, "holder id"),
            holder_kind=holder_kind,
            role=role,
        )

    @event(KeyCreated)
    def __init__(
        self,
        *,
        tenant: str,
        key_id: str,
        holder_id: str,
        holder_kind: str,
        role: str,
    ) -> None:
        self.tenant = tenant
        self.key_id = key_id
        self.holder_id = holder_id
        self.role = role
        self.revoked = False

    def revoke(self) -> None:
        """Record that the key was revoked (revoking a revoked key records nothing)."""
        if not self.revoked:
            self._revoked(key_id=self.key_id)

    def rotate(self) -> None:
        """Record that the key's secret was replaced; a revoked key gets no new secret."""
        if self.revoked:
            msg = f"key {self.key_id} is revoked: issue a new key instead"
            raise InvalidValueError(msg)
        self._rotated(key_id=self.key_id)

    @event(KeyRotated)
    def _rotated(self, *, key_id: str) -> None:
        pass  # the secret changed; nothing the record holds did

    @event(KeyRevoked)
    def _revoked(
        self,
        *,
        key_id: str,
    ) -> None:
        self.revoked = True
