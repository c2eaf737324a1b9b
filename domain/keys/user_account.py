"""Web users created, changed and deactivated, on record.

A user signs in to the web pages with an e-mail address and a password, and then acts as a
principal exactly as an API key's holder does. Creating one grants access, so, like issuing a
key, it is an event an auditor can see. Neither the password nor its hash is part of an event,
and neither is the e-mail address (personal data): a user is named by its public id only.
"""

from __future__ import annotations

import uuid

from eventsourcing.domain import event

from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned

_USERS = uuid.UUID("5d0c2a8e-4b7f-4c61-9a3e-7f1b2c8d6e40")


class UserAccount(TenantOwned):
    """The life of one web user: created for a principal. Its id follows from the user id."""

    class Event(TenantOwned.Event):
        """Base of user events: whose user, who administered it, and how."""

    class UserCreated(Event, Recorded.Created):
        user_id: str
        holder_id: str  # the principal the user acts as
        holder_kind: str
        role: str

    class UserDeactivated(Event):
        user_id: str

    class UserAccessChanged(Event):
        """What the user may do changed: their role, and the groups they are limited to (None: every group)."""

        user_id: str
        role: str
        groups: list[str] | None

    class UserPasswordReset(Event):
        """An administrator gave the user a new password (never part of the event); their sessions ended."""

        user_id: str

    @staticmethod
    def create_id(user_id: str) -> uuid.UUID:
        """The aggregate id of the user with public id `user_id`."""
        return uuid.uuid5(_USERS, user_id)

    @classmethod
    def create(cls, *, tenant: str, user_id: str, holder_id: str, holder_kind: str, role: str) -> UserAccount:
        """Record that a user was created (its password is never recorded)."""
        return cls(
            tenant=identifier(tenant, "tenant"),
            user_id=identifier(user_id, "user id"),
            holder_id=identifier(holder_id, "holder id"),
            holder_kind=holder_kind,
            role=role,
        )

    @event(UserCreated)
    def __init__(self, *, tenant: str, user_id: str, holder_id: str, holder_kind: str, role: str) -> None:
        self.tenant = tenant
        self.user_id = user_id
        self.holder_id = holder_id
        self.role = role
        self.active = True

    def deactivate(self) -> None:
        """Record that the user may no longer sign in (deactivating an inactive user records nothing)."""
        if self.active:
            self._deactivated(user_id=self.user_id)

    def change_access(self, *, role: str, groups: list[str] | None) -> None:
        """Record the user's new role and groups (the caller has checked they fit and differ)."""
        if not self.active:
            msg = f"user {self.user_id} is deactivated"
            raise InvalidValueError(msg)
        self._access_changed(user_id=self.user_id, role=role, groups=None if groups is None else sorted(groups))

    @event(UserAccessChanged)
    def _access_changed(self, *, user_id: str, role: str, groups: list[str] | None) -> None:
        self.role = role

    def reset_password(self) -> None:
        """Record that the user was given a new password."""
        if not self.active:
            msg = f"user {self.user_id} is deactivated"
            raise InvalidValueError(msg)
        self._password_reset(user_id=self.user_id)

    @event(UserPasswordReset)
    def _password_reset(self, *, user_id: str) -> None:
        pass  # the password is never on record; that it changed, and by whom, is

    @event(UserDeactivated)
    def _deactivated(self, *, user_id: str) -> None:
        self.active = False
