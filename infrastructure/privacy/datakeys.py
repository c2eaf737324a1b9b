"""Per-person data keys: the keys personal data is encrypted with, and their destruction.

One live 256-bit key per (tenant, person). Destroying it (erasure) sets the key to NULL and
stamps the row, so what was encrypted with it can never be read again; a person who writes
again afterwards gets a new key. Keys are cached for a short time per process
(`privacy_key_cache_seconds`): another process stops using a destroyed key within that time.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Collection
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from threading import Lock
from typing import Any, Protocol

from cachetools import TTLCache

KEY_BYTES = 32
_MISSING = object()
CACHE_ENTRIES = 10_000
PREFETCH_CHUNK = 500  # references per query (SQLite allows 999 parameters in older builds)


@dataclass(frozen=True, slots=True)
class DataKey:
    """A person's live data key and the reference stored beside everything encrypted with it."""

    ref: str
    secret: bytes


class DataKeys(Protocol):
    """Where data keys live."""

    def key_for(self, tenant: str, person_id: str) -> DataKey:
        """The person's live key, created on first use."""
        ...

    def secret(self, ref: str) -> bytes | None:
        """The key with this reference, or None once it was destroyed."""
        ...

    def destroy(self, tenant: str, person_id: str) -> int:
        """Destroy the person's keys; returns how many were live."""
        ...

    def prefetch(self, refs: Collection[str]) -> None:
        """Make `secret` answer these references from memory for a while (one query for all of them)."""
        ...


class _Cached:
    """The short-lived per-process cache both stores share."""

    def __init__(self, ttl_seconds: float) -> None:
        self._lock = Lock()
        self._by_person: TTLCache[tuple[str, str], DataKey] = TTLCache(CACHE_ENTRIES, ttl_seconds)
        self._by_ref: TTLCache[str, bytes | None] = TTLCache(CACHE_ENTRIES, ttl_seconds)

    def cached_key(self, tenant: str, person_id: str) -> DataKey | None:
        with self._lock:
            return self._by_person.get((tenant, person_id))

    def cached_secret(self, ref: str) -> tuple[bool, bytes | None]:
        with self._lock:
            # One lookup: between `in` and `[]` an entry can expire, and TTLCache then raises KeyError.
            found = self._by_ref.get(ref, _MISSING)
        return (False, None) if found is _MISSING else (True, found)  # type: ignore[return-value]

    def remember(self, tenant: str, person_id: str, key: DataKey) -> None:
        with self._lock:
            self._by_person[(tenant, person_id)] = key
            self._by_ref[key.ref] = key.secret

    def remember_secret(self, ref: str, secret: bytes | None) -> None:
        with self._lock:
            self._by_ref[ref] = secret

    def forget(self, tenant: str, person_id: str) -> None:
        prefix = _ref_prefix(tenant, person_id)
        with self._lock:
            self._by_person.pop((tenant, person_id), None)
            for ref in [r for r in self._by_ref if r.startswith(prefix)]:
                self._by_ref[ref] = None


def _ref_prefix(tenant: str, person_id: str) -> str:
    # References start with a digest of the person, so a process can drop its cached copies of their keys.
    return uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant}\x00{person_id}").hex[:12]


def _new_key(tenant: str, person_id: str) -> DataKey:
    return DataKey(
        ref=f"{_ref_prefix(tenant, person_id)}.{secrets.token_hex(8)}", secret=secrets.token_bytes(KEY_BYTES)
    )


class MemoryDataKeys:
    """Data keys in process memory (the in-memory event store's companion)."""

    def __init__(self) -> None:
        self._live: dict[tuple[str, str], DataKey] = {}
        self._secrets: dict[str, bytes | None] = {}

    def key_for(self, tenant: str, person_id: str) -> DataKey:
        """The person's live key, created on first use."""
        key = self._live.get((tenant, person_id))
        if key is None:
            key = self._live[(tenant, person_id)] = _new_key(tenant, person_id)
            self._secrets[key.ref] = key.secret
        return key

    def secret(self, ref: str) -> bytes | None:
        """The key with this reference, or None once it was destroyed."""
        return self._secrets.get(ref)

    def prefetch(self, refs: Collection[str]) -> None:
        """Nothing to fetch: every key is in memory."""

    def destroy(self, tenant: str, person_id: str) -> int:
        """Destroy the person's live key."""
        key = self._live.pop((tenant, person_id), None)
        if key is None:
            return 0
        self._secrets[key.ref] = None
        return 1


Transaction = Callable[[], AbstractContextManager[Any]]


class SqlDataKeys(_Cached):
    """Data keys in a table of the event store's database (SQLite or PostgreSQL).

    `reclaim` runs after keys are destroyed: on PostgreSQL it vacuums the table, so the old row
    versions that still held the keys are removed rather than left for autovacuum. `read` yields
    a cursor for one read-only statement (autocommit on PostgreSQL: one round trip).
    """

    def __init__(
        self,
        transaction: Transaction,
        *,
        placeholder: str,
        table: str,
        is_postgres: bool,
        ttl_seconds: float,
        reclaim: Callable[[], None] = lambda: None,
        read: Transaction | None = None,
    ) -> None:
        super().__init__(ttl_seconds)
        self._transaction = transaction
        self._read = read or transaction
        self._reclaim = reclaim
        self._p = placeholder
        self._table = table
        self._is_postgres = is_postgres

    def create_table(self) -> None:
        """Create the key table; at most one live key per person (a partial unique index)."""
        blob = "BYTEA" if self._is_postgres else "BLOB"
        index = self._table.replace("ledgerdesk_person_keys", "ledgerdesk_person_keys_live")
        index_name = index.rsplit(".", 1)[-1]
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (key_ref TEXT PRIMARY KEY, tenant TEXT NOT NULL, "
                f"person_id TEXT NOT NULL, data_key {blob}, created_at TEXT NOT NULL, erased_at TEXT)"
            )
            cursor.execute(
                f"CREATE UNIQUE INDEX IF NOT EXISTS {index_name} ON {self._table} (tenant, person_id) "
                "WHERE data_key IS NOT NULL"
            )

    def key_for(self, tenant: str, person_id: str) -> DataKey:
        """The person's live key: cached, else read, else created (two racing creators agree on one)."""
        key = self.cached_key(tenant, person_id)
        if key is not None:
            return key
        key = self._live_key(tenant, person_id) or self._create(tenant, person_id)
        self.remember(tenant, person_id, key)
        return key

    def secret(self, ref: str) -> bytes | None:
        """The key with this reference, or None once it was destroyed (or never existed)."""
        known, secret = self.cached_secret(ref)
        if known:
            return secret
        with self._read() as cursor:
            cursor.execute(f"SELECT data_key FROM {self._table} WHERE key_ref = {self._p}", [ref])
            row = cursor.fetchone()
        secret = None if row is None or row["data_key"] is None else bytes(row["data_key"])
        self.remember_secret(ref, secret)
        return secret

    def prefetch(self, refs: Collection[str]) -> None:
        """Read the secrets of those references not in the cache, in chunks of a query each."""
        missing = sorted({ref for ref in refs if not self.cached_secret(ref)[0]})
        for start in range(0, len(missing), PREFETCH_CHUNK):
            chunk = missing[start : start + PREFETCH_CHUNK]
            marks = ", ".join([self._p] * len(chunk))
            with self._read() as cursor:
                cursor.execute(f"SELECT key_ref, data_key FROM {self._table} WHERE key_ref IN ({marks})", chunk)
                found = {row["key_ref"]: row["data_key"] for row in cursor.fetchall()}
            for ref in chunk:
                secret = found.get(ref)
                self.remember_secret(ref, None if secret is None else bytes(secret))

    def destroy(self, tenant: str, person_id: str) -> int:
        """Overwrite the person's live keys with NULL and stamp them erased."""
        p = self._p
        with self._transaction() as cursor:
            if not self._is_postgres:
                cursor.execute("PRAGMA secure_delete = ON")  # overwrite the freed bytes, not just unlink them
            cursor.execute(
                f"UPDATE {self._table} SET data_key = NULL, erased_at = {p} "
                f"WHERE tenant = {p} AND person_id = {p} AND data_key IS NOT NULL RETURNING key_ref",
                [datetime.now(UTC).isoformat(), tenant, person_id],
            )
            destroyed = len(cursor.fetchall())
        self.forget(tenant, person_id)
        self._reclaim()
        return destroyed

    def _live_key(self, tenant: str, person_id: str) -> DataKey | None:
        with self._read() as cursor:
            cursor.execute(
                f"SELECT key_ref, data_key FROM {self._table} "
                f"WHERE tenant = {self._p} AND person_id = {self._p} AND data_key IS NOT NULL",
                [tenant, person_id],
            )
            row = cursor.fetchone()
        return None if row is None else DataKey(ref=row["key_ref"], secret=bytes(row["data_key"]))

    def _create(self, tenant: str, person_id: str) -> DataKey:
        key, p = _new_key(tenant, person_id), self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self._table} (key_ref, tenant, person_id, data_key, created_at) "
                f"VALUES ({p}, {p}, {p}, {p}, {p}) ON CONFLICT DO NOTHING",
                [key.ref, tenant, person_id, key.secret, datetime.now(UTC).isoformat()],
            )
        live = self._live_key(tenant, person_id)
        if live is None:  # pragma: no cover - destroyed between our insert and read; the caller retries
            msg = f"the data key of {person_id!r} was destroyed while it was being created"
            raise RuntimeError(msg)
        return live
