"""Request and response bodies of API key administration (`/keys`): never a stored secret."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from api.plain_text import Identifier
from domain.access.policy import Role
from infrastructure.keys import IssuedKey, KeyRecord

KeyIdPath = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class KeyCreate(BaseModel):
    """A key of the caller's tenant: who it acts as, what it may do, and which part of the tenant it reaches."""

    model_config = ConfigDict(extra="forbid")

    actor: Identifier = Field(description="The actor id recorded on events made with the key.")
    role: Role = Field(description="What the key may do (the access matrix, docs/security.md).")
    groups: list[Identifier] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Agents and supervisors only: the groups the key is limited to (none: every group).",
    )
    organisation: Identifier | None = Field(
        default=None, description="Customers only: their organisation, whose tickets the key may also read."
    )


class KeyPublic(BaseModel):
    """A key as administrators see it: whose it is and its dates, never its secret."""

    key_id: str = Field(description="The key's public id (the part after `ldk_` of its secret).")
    actor_id: str
    actor_kind: str
    role: Role
    groups: list[str] | None = Field(description="The groups it is limited to; null: every group.")
    organisation: str | None
    created_at: str
    rotated_at: str | None = Field(description="When its secret was last replaced; null: never.")
    revoked_at: str | None = Field(description="When it stopped working for good; null: it works.")

    @classmethod
    def from_record(cls, record: KeyRecord) -> KeyPublic:
        """The public view of a key's record."""
        who = record.principal
        return cls(
            key_id=who.key_id,
            actor_id=who.actor.id,
            actor_kind=who.actor.kind.value,
            role=who.role,
            groups=None if who.actor.groups is None else sorted(who.actor.groups),
            organisation=who.actor.organisation,
            created_at=record.created_at,
            rotated_at=record.rotated_at,
            revoked_at=record.revoked_at,
        )


class KeyIssued(KeyPublic):
    """A key just made or rotated, with its secret: shown in this answer only, never again."""

    secret: str = Field(description="The bearer token. Store it now: only its hash is kept.")

    @classmethod
    def from_issued(cls, issued: IssuedKey, record: KeyRecord) -> KeyIssued:
        """The public view of a key's record, with the secret just made."""
        return cls(**KeyPublic.from_record(record).model_dump(), secret=issued.secret)


class KeyList(BaseModel):
    """The tenant's API keys, oldest first (web users' sessions are not keys: see `/users`)."""

    items: list[KeyPublic]
