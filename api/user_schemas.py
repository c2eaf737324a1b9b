"""Request and response bodies of the web users' administration (`/users`)."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from api.plain_text import Identifier
from domain.access.policy import Role
from infrastructure.users import PASSWORD_MIN_LENGTH, WebUser

UserIdPath = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[0-9a-f]+$")]
#: An address as users are found by: something@somewhere.tld, no spaces or control characters
#: (infrastructure/users.py `normal_email`, whose `isspace` also counts the separators U+001C-U+001F).
_PART = r"[^@\s\x00-\x1f\x7f-\x9f]"
EMAIL_PATTERN = rf"^{_PART}+@{_PART}*\.{_PART}*$"


class UserCreate(BaseModel):
    """A web user of the caller's tenant: who they are, what they may do, and their first password."""

    model_config = ConfigDict(extra="forbid")

    email: str = Field(
        min_length=3, max_length=254, pattern=EMAIL_PATTERN, description="The address the user signs in with."
    )
    password: SecretStr = Field(
        min_length=PASSWORD_MIN_LENGTH, max_length=1024, description="The first password (never shown again)."
    )
    role: Role = Field(description="What the user may do, as an API key's role.")
    actor_id: Identifier | None = Field(
        default=None,
        description="The actor id on the user's events (default: the address, or an id made from it).",
    )
    groups: list[Identifier] | None = Field(
        default=None,
        min_length=1,
        max_length=50,
        description="Agents and supervisors only: the groups they are limited to (none: every group).",
    )
    organisation: Identifier | None = Field(
        default=None, description="Customers only: their organisation, whose tickets they may also read."
    )
    language: Literal["en", "zh_CN"] | None = Field(default=None, description="None: the browser's language.")
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


class UserAccess(BaseModel):
    """What a user may do: their role, and the groups they are limited to."""

    model_config = ConfigDict(extra="forbid")

    role: Role = Field(description="The new role; a customer stays a customer and staff stay staff.")
    groups: list[Identifier] | None = Field(
        min_length=1,
        max_length=50,
        description="Agents and supervisors only: the groups they are limited to; null: every group.",
    )


class PasswordReset(BaseModel):
    """A user given a new password: the password, shown in this answer only, to pass on to them."""

    user: UserPublic
    password: str = Field(description="Made by the server, at least 20 characters; only its hash is kept.")


class UserList(BaseModel):
    """The tenant's web users, by address."""

    items: list[UserPublic]
