"""Idempotency keys: what the first POST with a key did, kept so a retry gets that outcome again.

A key is scoped to the authenticated caller: (tenant, API key id, Idempotency-Key). Before the
request runs the key is *leased* to it for a short time, renewed while it runs. The command's
events and the key's "this stored aggregate A at version V, position P" are written in the
same transaction (`Reservation.record`, called by the event recorders in
infrastructure/audit/chain.py), so after a crash at any moment exactly one of two things is
true: nothing was stored, or the key names what was. A retry that finds a lapsed lease then
either runs the request again (nothing stored) or is answered from what was stored; and a
request that lost its lease to such a retry cannot store anything any more (its insert fails).
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import threading
import uuid
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent

Transaction = Callable[[], AbstractContextManager[Any]]

SWEEP_EVERY = timedelta(minutes=1)
COLUMNS = "request_hash, token, lease_until, status, headers, body, aggregate_id, aggregate_version, position"


class LeaseLostError(IntegrityError):
    """The request's lease on its Idempotency-Key was taken over by a retry; its events are not stored."""


class Claim(Enum):
    """What a reservation attempt found."""

    RESERVED = "reserved"  # the lease is ours: run the request
    IN_PROGRESS = "in_progress"  # another copy holds a live lease
    MISMATCH = "mismatch"  # the key was used for a different request
    DONE = "done"  # the kept response is the answer
    STORED = "stored"  # the command was stored but its response is not kept: answer from what was stored
    PURGED = "purged"  # the kept response was forgotten by an erasure, and nothing stored can rebuild it


@dataclass(frozen=True, slots=True)
class KeyScope:
    """Whose key it is: the authenticated caller's tenant and API key id, and the Idempotency-Key itself."""

    tenant: str
    key_id: str
    key: str

    @property
    def digest(self) -> str:
        """The row's primary key (a digest, so the client's free-form key is not stored as typed)."""
        return hashlib.sha256("\x00".join((self.tenant, self.key_id, self.key)).encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as it was sent (`body` is None once an erasure forgot it)."""

    status: int
    headers: dict[str, str]
    body: bytes | None


@dataclass(frozen=True, slots=True)
class StoredCommand:
    """What the key's request stored: its last event's aggregate and version, and the log position."""

    aggregate_id: str
    version: int
    position: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of claiming a key: what to do, and what is known of the first outcome."""

    claim: Claim
    response: StoredResponse | None = None
    command: StoredCommand | None = None
    token: str | None = None  # the lease's token, when RESERVED


@dataclass(frozen=True, slots=True)
class Reservation:
    """A lease held by the running request; the event recorders note its command in their transaction."""

    table: str
    placeholder: str
    scope_key: str
    token: str

    def record(self, cursor: Any, events: Sequence[StoredEvent], positions: Sequence[int]) -> None:
        """Note what this insert stored against the key, or fail the insert if the lease was taken over."""
        if not events or not positions:
            return
        last, p = events[-1], self.placeholder
        cursor.execute(
            f"UPDATE {self.table} SET aggregate_id = {p}, aggregate_version = {p}, position = {p} "
            f"WHERE scope_key = {p} AND token = {p} RETURNING scope_key",
            (str(last.originator_id), last.originator_version, max(positions), self.scope_key, self.token),
        )
        if len(cursor.fetchall()) != 1:
            msg = "a retry took over this request's Idempotency-Key; nothing of it was stored"
            raise LeaseLostError(msg)


_RESERVATION: contextvars.ContextVar[Reservation | None] = contextvars.ContextVar("idempotency", default=None)


def current_reservation() -> Reservation | None:
    """The lease of the request being served in this context, if it sent an Idempotency-Key."""
    return _RESERVATION.get()


@contextmanager
def reserved(reservation: Reservation | None) -> Iterator[None]:
    """Serve a request under this lease: events it stores are noted against the key."""
    token = _RESERVATION.set(reservation)
    try:
        yield
    finally:
        _RESERVATION.reset(token)


class IdempotencyStore:
    """Keys, their leases and their outcomes, in a table beside the events (or in memory)."""

    def __init__(
        self,
        transaction: Transaction | None,
        *,
        placeholder: str,
        table: str,
        ttl: timedelta,
        lease: timedelta,
        is_postgres: bool,
    ) -> None:
        self._transaction = transaction
        self._p = placeholder
        self._table = table
        self._ttl = ttl
        self.lease = lease
        self._blob = "BYTEA" if is_postgres else "BLOB"
        self._memory: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._swept: datetime | None = None

    def create_table(self) -> None:
        """Create the table if it does not exist."""
        if self._transaction is None:
            return
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (scope_key TEXT PRIMARY KEY, tenant TEXT NOT NULL, "
                "request_hash TEXT NOT NULL, token TEXT NOT NULL, created_at TEXT NOT NULL, "
                f"lease_until TEXT NOT NULL, status INTEGER, headers TEXT, body {self._blob}, "
                "aggregate_id TEXT, aggregate_version BIGINT, position BIGINT)"
            )
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS ledgerdesk_idempotency_keys_created ON {self._table} (created_at)"
            )

    def reservation(self, scope: KeyScope, token: str) -> Reservation | None:
        """The lease for the event recorders to note against (None in memory: nothing can die in between)."""
        if self._transaction is None:
            return None
        return Reservation(self._table, self._p, scope.digest, token)

    def claim(self, scope: KeyScope, request_hash: str, now: datetime) -> Outcome:
        """Lease the key to this request, or say what the first request with it did."""
        if self._transaction is None:
            return self._claim_in_memory(scope, request_hash, now)
        p, token, key = self._p, uuid.uuid4().hex, scope.digest
        expired = f"created_at < {p} AND (status IS NOT NULL OR lease_until < {p})"
        with self._transaction() as cursor:
            # An expired key is forgotten, but never while a request still holds its lease.
            cursor.execute(
                f"DELETE FROM {self._table} WHERE scope_key = {p} AND {expired}",
                (key, _iso(now - self._ttl), _iso(now)),
            )
            if self._sweep_due(now):  # keys never sent again go too, at most once a minute per process
                cursor.execute(f"DELETE FROM {self._table} WHERE {expired}", (_iso(now - self._ttl), _iso(now)))
            cursor.execute(
                f"INSERT INTO {self._table} (scope_key, tenant, request_hash, token, created_at, lease_until) "
                f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}) ON CONFLICT (scope_key) DO NOTHING",
                (key, scope.tenant, request_hash, token, _iso(now), _iso(now + self.lease)),
            )
            cursor.execute(f"SELECT {COLUMNS} FROM {self._table} WHERE scope_key = {p}", (key,))
            row = dict(cursor.fetchone())
            outcome = _decide(row, token, request_hash, now)
            if outcome is not None:
                return outcome
            return self._take_over(cursor, key, row["token"], now)

    def renew(self, scope: KeyScope, token: str, now: datetime) -> bool:
        """Extend the lease of a request that is still running; False if it is no longer ours."""
        until = _iso(now + self.lease)
        if self._transaction is None:
            return self._update_in_memory(scope.digest, token, lease_until=until)
        p = self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET lease_until = {p} WHERE scope_key = {p} AND token = {p} "
                "AND status IS NULL RETURNING scope_key",
                (until, scope.digest, token),
            )
            return len(cursor.fetchall()) == 1

    def complete(self, scope: KeyScope, token: str, response: StoredResponse) -> None:
        """Keep the response of the request holding the lease (a request that lost it keeps nothing)."""
        headers = json.dumps(response.headers)
        if self._transaction is None:
            self._update_in_memory(scope.digest, token, status=response.status, headers=headers, body=response.body)
            return
        p = self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET status = {p}, headers = {p}, body = {p} WHERE scope_key = {p} "
                f"AND token = {p}",
                (response.status, headers, response.body, scope.digest, token),
            )

    def release(self, scope: KeyScope, token: str, now: datetime) -> None:
        """Give up the lease of a request that failed: a retry runs it again, or, if it stored, is answered."""
        if self._transaction is None:
            with self._lock:
                if self._memory.get(scope.digest, {}).get("token") == token:
                    del self._memory[scope.digest]
            return
        p = self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"DELETE FROM {self._table} WHERE scope_key = {p} AND token = {p} AND status IS NULL "
                "AND aggregate_id IS NULL",
                (scope.digest, token),
            )
            cursor.execute(  # stored before failing: let the next retry be answered at once
                f"UPDATE {self._table} SET lease_until = {p} WHERE scope_key = {p} AND token = {p} AND status IS NULL",
                (_iso(now), scope.digest, token),
            )

    def purge_mentioning(self, tenant: str, person_id: str) -> int:
        """Forget every kept response body of `tenant` that names this person (erasure leaves no copy behind).

        Responses name people by id (`"requester_id": "bob"`), so matching the quoted id finds
        every response that could carry their data; a few more may go. The row itself stays,
        with its status, headers and what the command stored, so a retry is still answered
        (rebuilt from the stored, now erased, ticket) and never runs the command a second time.
        Other tenants' rows are not touched: a person id means nothing outside its tenant.
        """
        needle = json.dumps(person_id).encode()
        if self._transaction is None:
            with self._lock:
                doomed = [
                    row
                    for row in self._memory.values()
                    if row["tenant"] == tenant and row["body"] is not None and needle in row["body"]
                ]
                for row in doomed:
                    row["body"] = None
            return len(doomed)
        p = self._p
        found = f"position({p} in body) > 0" if self._blob == "BYTEA" else f"instr(body, {p}) > 0"
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET body = NULL WHERE tenant = {p} AND body IS NOT NULL AND {found} "
                "RETURNING scope_key",
                (tenant, needle),
            )
            return len(cursor.fetchall())

    def kept(self) -> int:
        """How many keys are kept (answered, running or lapsed)."""
        if self._transaction is None:
            return len(self._memory)
        with self._transaction() as cursor:
            cursor.execute(f"SELECT COUNT(*) AS n FROM {self._table}")
            return int(cursor.fetchone()["n"])

    def _sweep_due(self, now: datetime) -> bool:
        """Whether this process should forget all expired keys now (it last did a minute or more ago)."""
        with self._lock:
            if self._swept is not None and now - self._swept < SWEEP_EVERY:
                return False
            self._swept = now
            return True

    def _take_over(self, cursor: Any, key: str, lapsed: str, now: datetime) -> Outcome:
        """Take a lapsed lease whose request stored nothing; a racing recorder or retry makes this miss."""
        p, token = self._p, uuid.uuid4().hex
        cursor.execute(
            f"UPDATE {self._table} SET token = {p}, lease_until = {p} WHERE scope_key = {p} AND token = {p} "
            "AND status IS NULL AND aggregate_id IS NULL RETURNING scope_key",
            (token, _iso(now + self.lease), key, lapsed),
        )
        return Outcome(Claim.RESERVED, token=token) if cursor.fetchall() else Outcome(Claim.IN_PROGRESS)

    def _claim_in_memory(self, scope: KeyScope, request_hash: str, now: datetime) -> Outcome:
        key, token = scope.digest, uuid.uuid4().hex
        if self._sweep_due(now):
            with self._lock:
                for doomed in [k for k, row in self._memory.items() if self._expired(row, now)]:
                    del self._memory[doomed]
        with self._lock:
            row = self._memory.get(key)
            if row is None or self._expired(row, now):
                row = self._memory[key] = _new_row(scope.tenant, request_hash, token, now, now + self.lease)
            outcome = _decide(dict(row), token, request_hash, now)
            if outcome is not None:
                return outcome
            row["token"], row["lease_until"] = token, _iso(now + self.lease)
            return Outcome(Claim.RESERVED, token=token)

    def _expired(self, row: dict[str, Any], now: datetime) -> bool:
        """Past the TTL, and no request holds its lease (the SQL `expired` condition of `claim`)."""
        old = row["created_at"] < _iso(now - self._ttl)
        return bool(old and (row["status"] is not None or row["lease_until"] < _iso(now)))

    def _update_in_memory(self, key: str, token: str, **changes: Any) -> bool:
        with self._lock:
            row = self._memory.get(key)
            if row is None or row["token"] != token:
                return False
            row.update(changes)
            return True


def _new_row(tenant: str, request_hash: str, token: str, now: datetime, lease_until: datetime) -> dict[str, Any]:
    return {
        "tenant": tenant,
        "request_hash": request_hash,
        "token": token,
        "created_at": _iso(now),
        "lease_until": _iso(lease_until),
        "status": None,
        "headers": None,
        "body": None,
        "aggregate_id": None,
        "aggregate_version": None,
        "position": None,
    }


def _decide(row: dict[str, Any], token: str, request_hash: str, now: datetime) -> Outcome | None:
    """What the key's row says; None when its lease lapsed with nothing stored (take it over)."""
    if row["token"] == token:
        return Outcome(Claim.RESERVED, token=token)
    if row["request_hash"] != request_hash:
        return Outcome(Claim.MISMATCH)
    command = _command_of(row)
    if row["status"] is not None:
        return _answered(row, command)
    if row["lease_until"] >= _iso(now):
        return Outcome(Claim.IN_PROGRESS)
    if command is not None:  # the holder died (or failed) after storing, before its response was kept
        return Outcome(Claim.STORED, None, command)
    return None


def _answered(row: dict[str, Any], command: StoredCommand | None) -> Outcome:
    """The outcome of a key whose response was kept (and perhaps since forgotten by an erasure)."""
    response = StoredResponse(row["status"], json.loads(row["headers"]), _bytes_or_none(row["body"]))
    if response.body is not None:
        return Outcome(Claim.DONE, response, command)
    return Outcome(Claim.STORED if command else Claim.PURGED, response, command)


def _command_of(row: dict[str, Any]) -> StoredCommand | None:
    if row["aggregate_id"] is None:
        return None
    return StoredCommand(str(row["aggregate_id"]), int(row["aggregate_version"]), int(row["position"]))


def _bytes_or_none(body: Any) -> bytes | None:
    return None if body is None else bytes(body)


def _iso(moment: datetime) -> str:
    """A moment as text that sorts as time does (always with microseconds, always UTC)."""
    return moment.astimezone(UTC).isoformat(timespec="microseconds")


def utc_now() -> datetime:
    """The current moment in UTC."""
    return datetime.now(UTC)
