"""API keys: who a request acts as. Keys are shown once and stored only as SHA-256 hashes.

A key is 256 random bits, so a plain SHA-256 is enough to make the stored hash useless to a
thief (slow password hashes exist for low-entropy secrets, which these are not).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock
from typing import Any, Protocol

from cachetools import TTLCache

from domain.access.policy import GROUP_SCOPED_ROLES, Role
from domain.actors import Actor, ActorKind, identifier
from domain.errors import InvalidValueError

KEY_PREFIX = "ldk"


@dataclass(frozen=True, slots=True)
class Principal:
    """The authenticated caller: the actor recorded on events, its role and its tenant."""

    key_id: str
    actor: Actor
    role: Role
    tenant: str


@dataclass(frozen=True, slots=True)
class IssuedKey:
    """A freshly created key. `secret` is the whole bearer token and is never stored."""

    principal: Principal
    secret: str


class KeyStore(Protocol):
    """Creates keys and resolves bearer tokens to principals."""

    def create(
        self,
        *,
        actor_id: str,
        role: Role,
        tenant: str,
        kind: ActorKind | None = None,
        organisation: str | None = None,
        groups: Collection[str] | None = None,
    ) -> IssuedKey:
        """Issue a key for a principal."""
        ...

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None for an unknown or revoked token."""
        ...

    def remembered(self, token: str) -> Principal | None:
        """What `authenticate` would answer, when this process can tell without I/O; else None (then ask it)."""
        ...

    def revoke(self, key_id: str) -> bool:
        """Make a key unusable from now on; False if there is no such live key."""
        ...

    def rotate(self, key_id: str) -> IssuedKey | None:
        """Give a live key a new secret (the old one stops working); None if there is no such live key."""
        ...

    def records(self) -> list[KeyRecord]:
        """Every key's principal and dates (never the secret)."""
        ...


@dataclass(frozen=True, slots=True)
class KeyRecord:
    """What is known of a key: whose it is, when it was made, last rotated and revoked (never its secret)."""

    principal: Principal
    created_at: str
    revoked_at: str | None
    rotated_at: str | None = None


def _hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _new_key(
    actor_id: str,
    role: Role,
    tenant: str,
    kind: ActorKind | None,
    organisation: str | None,
    groups: Collection[str] | None,
) -> IssuedKey:
    if organisation is not None and role is not Role.CUSTOMER:
        msg = "only customer keys name an organisation (whose tickets the customer may read)"
        raise InvalidValueError(msg)
    if groups is not None and (role not in GROUP_SCOPED_ROLES or not groups):
        msg = "only agent and supervisor keys may be limited to groups, and to at least one"
        raise InvalidValueError(msg)
    limited = None if groups is None else frozenset(groups)
    actor = Actor(
        identifier(actor_id, "actor id"), kind or role.default_actor_kind(), role.value, organisation, limited
    )
    key_id = secrets.token_hex(6)
    principal = Principal(key_id=key_id, actor=actor, role=role, tenant=identifier(tenant, "tenant"))
    return IssuedKey(principal, _new_secret(key_id))


def _new_secret(key_id: str) -> str:
    """A bearer token naming `key_id`: the id travels in the clear, the 256 random bits are the secret."""
    return f"{KEY_PREFIX}_{key_id}_{secrets.token_urlsafe(32)}"


class MemoryKeyStore:
    """Keys held in process memory, for the in-memory backend used in tests."""

    def __init__(self) -> None:
        self._by_hash: dict[str, Principal] = {}
        self._records: dict[str, KeyRecord] = {}
        self._lock = Lock()

    def create(
        self,
        *,
        actor_id: str,
        role: Role,
        tenant: str,
        kind: ActorKind | None = None,
        organisation: str | None = None,
        groups: Collection[str] | None = None,
    ) -> IssuedKey:
        """Issue a key for a principal."""
        issued = _new_key(actor_id, role, tenant, kind, organisation, groups)
        with self._lock:
            self._by_hash[_hash(issued.secret)] = issued.principal
            self._records[issued.principal.key_id] = KeyRecord(issued.principal, _now(), None)
        return issued

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None."""
        principal = self._by_hash.get(_hash(token))
        if principal is None or self._records[principal.key_id].revoked_at is not None:
            return None
        return principal

    def remembered(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None: everything is in memory here."""
        return self.authenticate(token)

    def revoke(self, key_id: str) -> bool:
        """Revoke a live key."""
        with self._lock:
            record = self._records.get(key_id)
            if record is None or record.revoked_at is not None:
                return False
            self._records[key_id] = KeyRecord(record.principal, record.created_at, _now(), record.rotated_at)
            return True

    def rotate(self, key_id: str) -> IssuedKey | None:
        """Give a live key a new secret; the old one stops working at once."""
        with self._lock:
            record = self._records.get(key_id)
            if record is None or record.revoked_at is not None:
                return None
            for digest in [d for d, p in self._by_hash.items() if p.key_id == key_id]:
                del self._by_hash[digest]
            issued = IssuedKey(record.principal, _new_secret(key_id))
            self._by_hash[_hash(issued.secret)] = record.principal
            self._records[key_id] = KeyRecord(record.principal, record.created_at, None, _now())
            return issued

    def records(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        return sorted(self._records.values(), key=lambda r: r.created_at)


Transaction = Callable[[], AbstractContextManager[Any]]


class SqlKeyStore:
    """Keys in a table beside the events, on SQLite or PostgreSQL.

    It borrows the event store's connections (`transaction` yields a DB-API cursor), so the
    service holds one pool per process, not two. `read` yields a cursor for one read-only
    statement (on PostgreSQL an autocommit connection: one round trip, not BEGIN, SELECT and
    COMMIT); every request authenticates, so this is on every request's path.
    """

    def __init__(
        self,
        transaction: Transaction,
        *,
        placeholder: str,
        table: str = "ledgerdesk_api_keys",
        read: Transaction | None = None,
    ) -> None:
        self._transaction = transaction
        self._read = read or transaction
        self._p = placeholder
        self._table = table

    def create_table(self) -> None:
        """Create the key table if it does not exist."""
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} ("
                "key_id TEXT PRIMARY KEY, key_hash TEXT NOT NULL UNIQUE, actor_id TEXT NOT NULL, "
                "actor_kind TEXT NOT NULL, role TEXT NOT NULL, tenant TEXT NOT NULL, "
                "created_at TEXT NOT NULL, revoked_at TEXT, organisation TEXT, groups TEXT, rotated_at TEXT)"
            )
        self._add_columns("organisation", "groups", "rotated_at")

    def _add_columns(self, *columns: str) -> None:
        """Tables made before these columns existed lack them (organisations, group-limited agents, rotation)."""
        with self._transaction() as cursor:
            present: list[str] = []
            if self._p != "%s":  # SQLite has no ADD COLUMN IF NOT EXISTS
                cursor.execute(f"PRAGMA table_info({self._table})")
                present = [row["name"] for row in cursor.fetchall()]
            for column in columns:
                if column not in present:
                    if_absent = "IF NOT EXISTS " if self._p == "%s" else ""
                    cursor.execute(f"ALTER TABLE {self._table} ADD COLUMN {if_absent}{column} TEXT")

    def create(
        self,
        *,
        actor_id: str,
        role: Role,
        tenant: str,
        kind: ActorKind | None = None,
        organisation: str | None = None,
        groups: Collection[str] | None = None,
    ) -> IssuedKey:
        """Issue a key for a principal and store its hash."""
        issued = _new_key(actor_id, role, tenant, kind, organisation, groups)
        p, who = self._p, issued.principal
        with self._transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} "
                "(key_id, key_hash, actor_id, actor_kind, role, tenant, created_at, organisation, groups) "
                f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, {p})",
                (
                    who.key_id,
                    _hash(issued.secret),
                    who.actor.id,
                    who.actor.kind.value,
                    who.role.value,
                    who.tenant,
                    _now(),
                    who.actor.organisation,
                    None if who.actor.groups is None else ",".join(sorted(who.actor.groups)),
                ),
            )
        return issued

    def revoke(self, key_id: str) -> bool:
        """Revoke a live key."""
        p = self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET revoked_at = {p} WHERE key_id = {p} AND revoked_at IS NULL RETURNING key_id",
                (_now(), key_id),
            )
            return cursor.fetchone() is not None

    def rotate(self, key_id: str) -> IssuedKey | None:
        """Give a live key a new secret: its stored hash is replaced, so the old secret stops working."""
        p = self._p
        secret = _new_secret(key_id)
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET key_hash = {p}, rotated_at = {p} "
                f"WHERE key_id = {p} AND revoked_at IS NULL "
                "RETURNING key_id, actor_id, actor_kind, role, tenant, organisation, groups",
                (_hash(secret), _now(), key_id),
            )
            row = cursor.fetchone()
        return None if row is None else IssuedKey(_principal(row), secret)

    def records(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        with self._read() as cursor:
            cursor.execute(
                "SELECT key_id, actor_id, actor_kind, role, tenant, created_at, revoked_at, organisation, groups, "
                f"rotated_at FROM {self._table} "
                "ORDER BY created_at"
            )
            rows = cursor.fetchall()
        return [KeyRecord(_principal(row), row["created_at"], row["revoked_at"], row["rotated_at"]) for row in rows]

    def remembered(self, token: str) -> Principal | None:
        """None: every answer of this store is a database read."""
        return None

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None for an unknown or revoked token."""
        with self._read() as cursor:
            cursor.execute(
                f"SELECT key_id, actor_id, actor_kind, role, tenant, organisation, groups FROM {self._table} "
                f"WHERE key_hash = {self._p} AND revoked_at IS NULL",
                (_hash(token),),
            )
            row = cursor.fetchone()
        return None if row is None else _principal(row)


def _principal(row: Any) -> Principal:
    return Principal(
        key_id=row["key_id"],
        actor=Actor(
            row["actor_id"],
            ActorKind(row["actor_kind"]),
            row["role"],
            row["organisation"],
            None if row["groups"] is None else frozenset(row["groups"].split(",")),
        ),
        role=Role(row["role"]),
        tenant=row["tenant"],
    )


def _now() -> str:
    return datetime.now(UTC).isoformat()


class CachedKeyStore:
    """A SQL key store whose successful authentications are kept in this process for `seconds`.

    Every request authenticates, and without this each costs a database round trip. A key revoked
    or rotated through this process is forgotten here at once; one revoked by another process, or
    the old secret of one rotated there, is refused here within `seconds`
    (`LEDGERDESK_KEY_CACHE_SECONDS`, 1 s). Unknown tokens are never kept, so a key made anywhere
    works at once, and failed authentications keep meeting their limit
    (`LEDGERDESK_AUTH_FAILURE_LIMIT`) before any lookup.
    """

    def __init__(
        self, store: SqlKeyStore, *, seconds: float, size: int = 10_000, timer: Callable[[], float] = time.monotonic
    ) -> None:
        self.store = store
        self._known: TTLCache[str, Principal] = TTLCache(maxsize=size, ttl=seconds, timer=timer)
        self._lock = Lock()  # the API authenticates from many threads

    def create_table(self) -> None:
        """Create the key table if it does not exist."""
        self.store.create_table()

    def create(
        self,
        *,
        actor_id: str,
        role: Role,
        tenant: str,
        kind: ActorKind | None = None,
        organisation: str | None = None,
        groups: Collection[str] | None = None,
    ) -> IssuedKey:
        """Issue a key for a principal and store its hash."""
        return self.store.create(
            actor_id=actor_id, role=role, tenant=tenant, kind=kind, organisation=organisation, groups=groups
        )

    def remembered(self, token: str) -> Principal | None:
        """The principal this process verified the token as within `seconds`, or None (then `authenticate`).

        A hash and a dictionary look-up: the API calls it on the event loop, saving the thread-pool
        hop that `authenticate` needs for its database read.
        """
        digest = _hash(token)
        with self._lock:
            return self._known.get(digest)

    def authenticate(self, token: str) -> Principal | None:
        """The principal a token belongs to, or None for an unknown or revoked token (revoked elsewhere: soon)."""
        known = self.remembered(token)
        if known is not None:
            return known
        digest = _hash(token)
        found = self.store.authenticate(token)
        if found is not None:
            with self._lock:
                self._known[digest] = found
        return found

    def revoke(self, key_id: str) -> bool:
        """Revoke a live key, and forget it here at once."""
        revoked = self.store.revoke(key_id)
        self._forget(key_id)
        return revoked

    def rotate(self, key_id: str) -> IssuedKey | None:
        """Give a live key a new secret, and forget the old one here at once (elsewhere within `seconds`)."""
        rotated = self.store.rotate(key_id)
        self._forget(key_id)
        return rotated

    def _forget(self, key_id: str) -> None:
        with self._lock:
            for digest in [d for d, principal in self._known.items() if principal.key_id == key_id]:
                del self._known[digest]

    def records(self) -> list[KeyRecord]:
        """Every key, oldest first."""
        return self.store.records()
