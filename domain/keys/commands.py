"""API keys and web users put on record: keys issued and revoked, users created."""

from __future__ import annotations

from typing import Unpack

from eventsourcing.application import AggregateNotFoundError

from domain.keys.api_key import ApiKey
from domain.keys.user_account import UserAccount
from domain.pipeline import Acting, CommandPipeline


class KeyCommands(CommandPipeline):
    """The record of API keys (their secrets are infrastructure's: infrastructure/keys.py)."""

    # --- administration --------------------------------------------------------------------------

    def record_key_issued(
        self, *, tenant: str, key_id: str, holder_id: str, holder_kind: str, role: str, **how: Unpack[Acting]
    ) -> int:
        """Put the issue of an API key on record; returns its log position."""
        with self._acting(tenant=tenant, **how):
            key = ApiKey.issue(tenant=tenant, key_id=key_id, holder_id=holder_id, holder_kind=holder_kind, role=role)
        return int(self.save(key)[-1].notification.id)

    def record_user_created(
        self, *, tenant: str, user_id: str, holder_id: str, holder_kind: str, role: str, **how: Unpack[Acting]
    ) -> int:
        """Put the creation of a web user on record; returns its log position."""
        with self._acting(tenant=tenant, **how):
            user = UserAccount.create(
                tenant=tenant, user_id=user_id, holder_id=holder_id, holder_kind=holder_kind, role=role
            )
        return int(self.save(user)[-1].notification.id)

    def record_user_deactivated(self, *, user_id: str, **how: Unpack[Acting]) -> int | None:
        """Put a web user's deactivation on record; None if the user was not on record or already inactive."""
        try:
            user: UserAccount = self.repository.get(UserAccount.create_id(user_id))
        except AggregateNotFoundError:
            return None
        with self._acting(tenant=user.tenant, **how):
            user.deactivate()
        recordings = self.save(user)
        return recordings[-1].notification.id if recordings else None

    def record_key_rotated(self, *, key_id: str, **how: Unpack[Acting]) -> int | None:
        """Put the rotation of an API key's secret on record; None if the key's issue was not on record."""
        try:
            key: ApiKey = self.repository.get(ApiKey.create_id(key_id))
        except AggregateNotFoundError:
            return None
        with self._acting(tenant=key.tenant, **how):
            key.rotate()
        return int(self.save(key)[-1].notification.id)

    def record_user_access_changed(
        self, *, user_id: str, role: str, groups: list[str] | None, **how: Unpack[Acting]
    ) -> int | None:
        """Put a web user's new role and groups on record; None if the user's creation was not on record."""
        try:
            user: UserAccount = self.repository.get(UserAccount.create_id(user_id))
        except AggregateNotFoundError:
            return None
        with self._acting(tenant=user.tenant, **how):
            user.change_access(role=role, groups=groups)
        return int(self.save(user)[-1].notification.id)

    def record_password_reset(self, *, user_id: str, **how: Unpack[Acting]) -> int | None:
        """Put a web user's new password on record (never the password); None if the user was not on record."""
        try:
            user: UserAccount = self.repository.get(UserAccount.create_id(user_id))
        except AggregateNotFoundError:
            return None
        with self._acting(tenant=user.tenant, **how):
            user.reset_password()
        return int(self.save(user)[-1].notification.id)

    def record_key_revoked(self, *, key_id: str, **how: Unpack[Acting]) -> int | None:
        """Put the revocation of an API key on record; None if it was not on record or already revoked."""
        try:
            key: ApiKey = self.repository.get(ApiKey.create_id(key_id))
        except AggregateNotFoundError:
            return None
        with self._acting(tenant=key.tenant, **how):
            key.revoke()
        recordings = self.save(key)
        return recordings[-1].notification.id if recordings else None
