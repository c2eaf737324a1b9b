"""Idempotency keys: the first response to a POST with a given key, kept so a retry gets it again.

A key is scoped to the API key that sent it. It is reserved before the request runs, so two
copies of a request racing each other cannot both act: the second waits its turn (409) and
then gets the stored response.
"""

from __future__ import annotations

import json
import threading
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import Enum
from typing import Any

Transaction = Callable[[], AbstractContextManager[Any]]


class Claim(Enum):
    """What a reservation attempt found."""

    RESERVED = "reserved"  # new: run the request
    IN_PROGRESS = "in_progress"  # another copy is running
    MISMATCH = "mismatch"  # the key was used for a different request
    DONE = "done"  # the stored response is the answer


@dataclass(frozen=True, slots=True)
class StoredResponse:
    """A response as it was sent."""

    status: int
    headers: dict[str, str]
    body: bytes


@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of claiming a key: what to do, and the stored response when there is one."""

    claim: Claim
    response: StoredResponse | None = None


class IdempotencyStore:
    """Keys and their responses, in a table beside the events (or in memory)."""

    def __init__(
        self, transaction: Transaction | None, *, placeholder: str, table: str, ttl: timedelta, is_postgres: bool
    ) -> None:
        self._transaction = transaction
        self._p = placeholder
        self._table = table
        self._ttl = ttl
        self._blob = "BYTEA" if is_postgres else "BLOB"
        self._memory: dict[str, tuple[str, datetime, StoredResponse | None]] = {}
        self._lock = threading.Lock()

    def create_table(self) -> None:
        """Create the table if it does not exist."""
        if self._transaction is None:
            return
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} (scope_key TEXT PRIMARY KEY, request_hash TEXT NOT NULL, "
                f"token TEXT NOT NULL, created_at TEXT NOT NULL, status INTEGER, headers TEXT, body {self._blob})"
            )

    def claim(self, scope_key: str, request_hash: str, now: datetime) -> Outcome:
        """Reserve the key for this request, or say why not."""
        if self._transaction is None:
            return self._claim_in_memory(scope_key, request_hash, now)
        p, token = self._p, uuid.uuid4().hex
        with self._transaction() as cursor:
            cursor.execute(
                f"DELETE FROM {self._table} WHERE scope_key = {p} AND created_at < {p}",
                (scope_key, (now - self._ttl).isoformat()),
            )
            cursor.execute(
                f"INSERT INTO {self._table} (scope_key, request_hash, token, created_at) VALUES ({p}, {p}, {p}, {p}) "
                "ON CONFLICT (scope_key) DO NOTHING",
                (scope_key, request_hash, token, now.isoformat()),
            )
            cursor.execute(
                f"SELECT request_hash, token, status, headers, body FROM {self._table} WHERE scope_key = {p}",
                (scope_key,),
            )
            row = cursor.fetchone()
        if row["token"] == token:
            return Outcome(Claim.RESERVED)
        if row["status"] is None:
            return Outcome(_in_progress_or_mismatch(row["request_hash"], request_hash))
        if row["request_hash"] != request_hash:
            return Outcome(Claim.MISMATCH)
        stored = StoredResponse(row["status"], json.loads(row["headers"]), bytes(row["body"]))
        return Outcome(Claim.DONE, stored)

    def complete(self, scope_key: str, response: StoredResponse) -> None:
        """Keep the response of a reserved key."""
        if self._transaction is None:
            with self._lock:
                request_hash, created, _ = self._memory[scope_key]
                self._memory[scope_key] = (request_hash, created, response)
            return
        p = self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET status = {p}, headers = {p}, body = {p} WHERE scope_key = {p}",
                (response.status, json.dumps(response.headers), response.body, scope_key),
            )

    def release(self, scope_key: str) -> None:
        """Forget a reservation whose request failed, so a retry runs it again."""
        if self._transaction is None:
            with self._lock:
                self._memory.pop(scope_key, None)
            return
        with self._transaction() as cursor:
            cursor.execute(f"DELETE FROM {self._table} WHERE scope_key = {self._p} AND status IS NULL", (scope_key,))

    def purge_mentioning(self, person_id: str) -> int:
        """Forget every kept response whose body names this person (erasure leaves no copy behind).

        Responses name people by id (`"requester_id": "bob"`), so matching the quoted id finds
        every response that could carry their data; a few more may go, which only costs a retry.
        """
        needle = json.dumps(person_id).encode()
        if self._transaction is None:
            with self._lock:
                doomed = [k for k, (_, _, r) in self._memory.items() if r is not None and needle in r.body]
                for key in doomed:
                    del self._memory[key]
            return len(doomed)
        p = self._p
        found = f"position({p} in body) > 0" if self._blob == "BYTEA" else f"instr(body, {p}) > 0"
        with self._transaction() as cursor:
            cursor.execute(
                f"DELETE FROM {self._table} WHERE body IS NOT NULL AND {found} RETURNING scope_key", (needle,)
            )
            return len(cursor.fetchall())

    def _claim_in_memory(self, scope_key: str, request_hash: str, now: datetime) -> Outcome:
        with self._lock:
            found = self._memory.get(scope_key)
            if found is None or found[1] < now - self._ttl:
                self._memory[scope_key] = (request_hash, now, None)
                return Outcome(Claim.RESERVED)
        stored_hash, _, response = found
        if response is None:
            return Outcome(_in_progress_or_mismatch(stored_hash, request_hash))
        if stored_hash != request_hash:
            return Outcome(Claim.MISMATCH)
        return Outcome(Claim.DONE, response)


def _in_progress_or_mismatch(stored_hash: str, request_hash: str) -> Claim:
    return Claim.IN_PROGRESS if stored_hash == request_hash else Claim.MISMATCH


def utc_now() -> datetime:
    """The current moment in UTC."""
    return datetime.now(UTC)
