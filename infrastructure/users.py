"""Web users and their sessions: who may sign in to the web pages, and who is signed in.

A user is a principal (the same actor, role, tenant, groups and organisation an API key names)
with an e-mail address and an Argon2id password hash. A session is a random id handed to the
browser in a cookie and stored here only as its SHA-256 hash (256 random bits need no slow
hash), with its expiry and the CSRF token of its forms. Sessions live in a table, not in a
signed cookie, so that signing out and revoking end them at once.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import time
from collections.abc import Collection
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from domain.access.policy import GROUP_SCOPED_ROLES, Role
from domain.actors import IDENTIFIER_PATTERN, Actor, ActorKind, identifier
from domain.errors import InvalidValueError
from infrastructure.keys import Principal
from infrastructure.webhooks.sql import Sql

#: The shortest password a user may be given: long passphrases beat composition rules (NIST SP 800-63B).
PASSWORD_MIN_LENGTH = 12
LANGUAGES = ("en", "zh_CN")
IDENTIFIER = re.compile(IDENTIFIER_PATTERN)
#: What a user's row holds, but the password's hash.
USER_COLUMNS = (
    "user_id, email, actor_id, actor_kind, role, tenant, organisation, groups, language, time_zone, deactivated_at"
)

_hasher = PasswordHasher()
# Checked against when the e-mail is unknown, so a wrong address costs as long as a wrong password.
_DECOY_HASH = _hasher.hash(secrets.token_urlsafe(16))


@dataclass(frozen=True, slots=True)
class WebUser:
    """A user who signs in: the principal it acts as, and its page settings."""

    user_id: str
    email: str
    principal: Principal
    language: str | None  # None: from the browser's Accept-Language
    time_zone: str
    active: bool = True  # a deactivated user signs in no more


@dataclass(frozen=True, slots=True)
class WebSession:
    """A live session: whose it is, and the token its forms must carry."""

    user: WebUser
    csrf_token: str


@dataclass(frozen=True, slots=True)
class StartedSession:
    """A new session: `secret` goes to the browser's cookie and is never stored."""

    secret: str
    session: WebSession


def normal_email(email: str) -> str:
    """The form of an address users are found by (case does not matter to people typing it)."""
    address = email.strip().lower()
    local, at, domain = address.partition("@")
    if not (local and at and "." in domain) or len(address) > 254 or any(c.isspace() for c in address):
        msg = f"an e-mail address such as someone@example.org is needed (got {email!r})"
        raise InvalidValueError(msg)
    return address


def default_actor_id(email: str) -> str:
    """The actor id a user's events carry when none is chosen: the address, if it is a usable id, else one made from it.

    Addresses may hold characters actor ids may not (`=`, letters beyond ASCII): those users act as
    `user-` and the first 16 hex digits of the address's SHA-256, the same for the same address.
    """
    address = email.strip().lower()
    if IDENTIFIER.fullmatch(address):
        return address
    return "user-" + hashlib.sha256(address.encode()).hexdigest()[:16]


def _time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        msg = f"time zone must be an IANA name such as UTC or Asia/Shanghai (got {name!r})"
        raise InvalidValueError(msg) from None
    return name


def _hash(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class UserStore:
    """Users and sessions in two tables beside the events (or an in-memory SQLite for the memory store)."""

    def __init__(self, sql: Sql) -> None:
        self._sql = sql
        self._users = sql.table("ledgerdesk_web_users")
        self._sessions = sql.table("ledgerdesk_web_sessions")

    def create_tables(self) -> None:
        """Create both tables if they do not exist."""
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._users} ("
                "user_id TEXT PRIMARY KEY, email TEXT NOT NULL UNIQUE, password_hash TEXT NOT NULL, "
                "actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, role TEXT NOT NULL, tenant TEXT NOT NULL, "
                "organisation TEXT, groups TEXT, language TEXT, time_zone TEXT NOT NULL, created_at TEXT NOT NULL, "
                "deactivated_at TEXT)"
            )
            self._add_deactivated_at(cursor)
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._sessions} ("
                "session_hash TEXT PRIMARY KEY, user_id TEXT NOT NULL, csrf_token TEXT NOT NULL, "
                "expires_at DOUBLE PRECISION NOT NULL, created_at TEXT NOT NULL)"
            )

    def _add_deactivated_at(self, cursor: Any) -> None:
        """Tables made before users could be deactivated get the column (NULL: active)."""
        if self._sql.is_postgres:
            cursor.execute(f"ALTER TABLE {self._users} ADD COLUMN IF NOT EXISTS deactivated_at TEXT")
            return
        cursor.execute(f"PRAGMA table_info({self._users})")
        if "deactivated_at" not in {row["name"] for row in cursor.fetchall()}:
            cursor.execute(f"ALTER TABLE {self._users} ADD COLUMN deactivated_at TEXT")

    def create(
        self,
        *,
        email: str,
        password: str,
        actor_id: str,
        role: Role,
        tenant: str,
        organisation: str | None = None,
        groups: Collection[str] | None = None,
        language: str | None = None,
        time_zone: str = "UTC",
    ) -> WebUser:
        """Add a user; InvalidValueError for a short password, a taken address or settings that do not fit."""
        if len(password) < PASSWORD_MIN_LENGTH:
            msg = f"the password must be at least {PASSWORD_MIN_LENGTH} characters"
            raise InvalidValueError(msg)
        if language is not None and language not in LANGUAGES:
            msg = f"language must be one of {', '.join(LANGUAGES)} (got {language!r})"
            raise InvalidValueError(msg)
        user_id = secrets.token_hex(6)
        user = WebUser(
            user_id=user_id,
            email=normal_email(email),
            principal=_principal(user_id, actor_id, role, tenant, organisation, groups),
            language=language,
            time_zone=_time_zone(time_zone),
        )
        if self.find(user.email) is not None:
            msg = f"there is already a user {user.email}"
            raise InvalidValueError(msg)
        actor, p = user.principal.actor, self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self._users} (user_id, email, password_hash, actor_id, actor_kind, role, tenant, "
                "organisation, groups, language, time_zone, created_at) "
                f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
                (
                    user.user_id,
                    user.email,
                    _hasher.hash(password),
                    actor.id,
                    actor.kind.value,
                    user.principal.role.value,
                    user.principal.tenant,
                    actor.organisation,
                    None if actor.groups is None else ",".join(sorted(actor.groups)),
                    language,
                    user.time_zone,
                    datetime.now(UTC).isoformat(),
                ),
            )
        return user

    def find(self, email: str) -> WebUser | None:
        """The user with this address, or None."""
        row = self._user_row("email", email.strip().lower())
        return None if row is None else _user(row)

    def check_password(self, email: str, password: str) -> WebUser | None:
        """The active user if the password is theirs; None otherwise (as slowly for an unknown address)."""
        row = self._user_row("email", email.strip().lower())
        try:
            _hasher.verify(_DECOY_HASH if row is None else row["password_hash"], password)
        except (VerificationError, InvalidHashError):
            return None
        user = None if row is None else _user(row)
        return user if user is not None and user.active else None

    def get(self, user_id: str) -> WebUser | None:
        """The user with this id, or None."""
        row = self._user_row("user_id", user_id)
        return None if row is None else _user(row)

    def of_tenant(self, tenant: str) -> list[WebUser]:
        """The tenant's users, active or not, by address."""
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT {USER_COLUMNS} FROM {self._users} WHERE tenant = {self._sql.p} ORDER BY email", (tenant,)
            )
            return [_user(row) for row in cursor.fetchall()]

    def deactivate(self, user_id: str) -> bool:
        """Stop a user signing in, and end their sessions now; False if they were not active."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            lock = " FOR UPDATE" if self._sql.is_postgres else ""  # SQLite's writers take turns anyway
            cursor.execute(f"SELECT deactivated_at FROM {self._users} WHERE user_id = {p}{lock}", (user_id,))
            found = cursor.fetchone()
            changed = found is not None and found["deactivated_at"] is None
            if changed:
                cursor.execute(
                    f"UPDATE {self._users} SET deactivated_at = {p} WHERE user_id = {p}",
                    (datetime.now(UTC).isoformat(), user_id),
                )
            cursor.execute(f"DELETE FROM {self._sessions} WHERE user_id = {p}", (user_id,))
        return changed

    def set_access(self, user_id: str, *, role: Role, groups: Collection[str] | None) -> bool:
        """Give an active user a new role and groups; False if that changes nothing, InvalidValueError if unfit.

        A customer stays a customer and staff stay staff: the actor their events name is a requester
        or an agent, and that does not change under them (make a new user instead).
        """
        user = self.get(user_id)
        if user is None or not user.active:
            msg = f"no active user {user_id}"
            raise InvalidValueError(msg)
        actor = user.principal.actor
        if role.default_actor_kind() is not actor.kind:
            msg = "a customer stays a customer and staff stay staff: add a new user for the other kind"
            raise InvalidValueError(msg)
        changed = _principal(user_id, actor.id, role, user.principal.tenant, actor.organisation, groups)
        if (changed.role, changed.actor.groups) == (user.principal.role, actor.groups):
            return False
        p = self._sql.p
        kept = None if changed.actor.groups is None else ",".join(sorted(changed.actor.groups))
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._users} SET role = {p}, groups = {p} WHERE user_id = {p}", (role.value, kept, user_id)
            )
        return True

    def set_password(self, user_id: str, password: str) -> None:
        """Give an active user a new password, and end their sessions now."""
        if len(password) < PASSWORD_MIN_LENGTH:
            msg = f"the password must be at least {PASSWORD_MIN_LENGTH} characters"
            raise InvalidValueError(msg)
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._users} SET password_hash = {p} WHERE user_id = {p} AND deactivated_at IS NULL",
                (_hasher.hash(password), user_id),
            )
            cursor.execute(f"DELETE FROM {self._sessions} WHERE user_id = {p}", (user_id,))

    def start_session(self, user: WebUser, *, hours: float) -> StartedSession:
        """Open a session for a user who has just proved who they are."""
        secret, csrf, p = secrets.token_urlsafe(32), secrets.token_urlsafe(32), self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(f"DELETE FROM {self._sessions} WHERE expires_at < {p}", (time.time(),))
            cursor.execute(
                f"INSERT INTO {self._sessions} (session_hash, user_id, csrf_token, expires_at, created_at) "
                f"VALUES ({p}, {p}, {p}, {p}, {p})",
                (_hash(secret), user.user_id, csrf, time.time() + hours * 3600, datetime.now(UTC).isoformat()),
            )
        return StartedSession(secret, WebSession(user, csrf))

    def session(self, secret: str) -> WebSession | None:
        """The live session a cookie names, or None when it is unknown, ended or expired."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT user_id, csrf_token FROM {self._sessions} WHERE session_hash = {p} AND expires_at > {p}",
                (_hash(secret), time.time()),
            )
            found = cursor.fetchone()
        if found is None:
            return None
        row = self._user_row("user_id", found["user_id"])
        user = None if row is None else _user(row)
        return None if user is None or not user.active else WebSession(user, found["csrf_token"])

    def end_session(self, secret: str) -> None:
        """Sign out: the cookie's session stops working at once."""
        with self._sql.transaction() as cursor:
            cursor.execute(f"DELETE FROM {self._sessions} WHERE session_hash = {self._sql.p}", (_hash(secret),))

    def sessions_of(self, user_id: str) -> int:
        """How many live sessions a user has."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT COUNT(*) AS n FROM {self._sessions} WHERE user_id = {p} AND expires_at > {p}",
                (user_id, time.time()),
            )
            return int(cursor.fetchone()["n"])

    def _user_row(self, column: str, value: str) -> Any:
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT password_hash, {USER_COLUMNS} FROM {self._users} WHERE {column} = {self._sql.p}", (value,)
            )
            return cursor.fetchone()


def _principal(
    user_id: str, actor_id: str, role: Role, tenant: str, organisation: str | None, groups: Collection[str] | None
) -> Principal:
    """The principal a user acts as, checked as API keys' principals are (infrastructure/keys.py)."""
    if organisation is not None and role is not Role.CUSTOMER:
        msg = "only customers name an organisation (whose tickets the customer may read)"
        raise InvalidValueError(msg)
    if groups is not None and (role not in GROUP_SCOPED_ROLES or not groups):
        msg = "only agents and supervisors may be limited to groups, and to at least one"
        raise InvalidValueError(msg)
    actor = Actor(
        identifier(actor_id, "actor id"),
        role.default_actor_kind(),
        role.value,
        None if organisation is None else identifier(organisation, "organisation"),
        None if groups is None else frozenset(identifier(g, "group") for g in groups),
    )
    return Principal(key_id=f"user:{user_id}", actor=actor, role=role, tenant=identifier(tenant, "tenant"))


def _user(row: Any) -> WebUser:
    actor = Actor(
        row["actor_id"],
        ActorKind(row["actor_kind"]),
        row["role"],
        row["organisation"],
        None if row["groups"] is None else frozenset(row["groups"].split(",")),
    )
    principal = Principal(f"user:{row['user_id']}", actor, Role(row["role"]), row["tenant"])
    active = row["deactivated_at"] is None
    return WebUser(row["user_id"], row["email"], principal, row["language"], row["time_zone"], active)
