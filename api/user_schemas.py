"""Request and response bodies of the web users' administration (`/users`)."""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from domain.access.policy import Role
from infrastructure.users import LANGUAGES, PASSWORD_MIN_LENGTH, WebUser

UserIdPath = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]


class UserCreate(BaseModel):
    """A web user of the caller's tenant: who they are, what they may do, and their first password."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(min_length=3, max_length=254, description="The address the user signs in with.")
    password: SecretStr = Field(
        min_length=PASSWORD_MIN_LENGTH, max_length=1024, description="The first password (never shown again)."
    )
    role: Role = Field(description="What the user may do, as an API key's role.")
    actor_id: str | None = Field(
        default=None, max_length=128, description="The actor id on the user's events (default: the address)."
    )
    groups: list[str] | None = Field(
        default=None, max_length=50, description="Agents and supervisors only: the groups they are limited to."
    )
    organisation: str | None = Field(
        default=None, max_length=128, description="Customers only: their organisation, whose tickets they may read."
    )
    language: str | None = Field(
        default=None, description=f"One of {', '.join(LANGUAGES)}; none: the browser's language."
    )
    time_zone: str = Field(default="UTC", max_length=64, description="The IANA time zone dates are shown in.")


class UserPublic(BaseModel):
    """A web user as administrators see them (never the password or its hash)."""

    user_id: str
    email: str
    actor_id: str
    role: Role
    groups: list[str] | None
    organisation: str | None
    language: str | None
    time_zone: str
    active: bool = Field(description="False once deactivated: the user can no longer sign in.")

    @classmethod
    def from_user(cls, user: WebUser) -> UserPublic:
        """The public view of a user."""
        actor = user.principal.actor
        return cls(
            user_id=user.user_id,
            email=user.email,
            actor_id=actor.id,
            role=user.principal.role,
            groups=None if actor.groups is None else sorted(actor.groups),
            organisation=actor.organisation,
            language=user.language,
            time_zone=user.time_zone,
            active=user.active,
        )


class UserList(BaseModel):
    """The tenant's web users, by address."""

    items: list[UserPublic]
