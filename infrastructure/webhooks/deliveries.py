"""The deliveries: one row per (endpoint, event), its status, attempts and last answer.

A row is written when the webhook process enqueues the event (in the same transaction that moves
its position in the log), and claimed by a sender for each attempt. Rows hold no payload: the
body is the event as the feed shows it at the moment of the attempt, read from the log, so an
erased person's data is not kept here (nor sent after the erasure).

Order: a delivery is claimed only when no earlier delivery of the same aggregate (ticket) to the
same endpoint is still pending, so one endpoint sees one ticket's events in log order, each after
the one before was answered with 2xx or given up. Claims: any number of senders may claim at
once; on PostgreSQL `FOR UPDATE SKIP LOCKED` hands each due row to one of them, and a claim holds
the row for `hold` seconds (longer than an attempt can take), so a sender that died mid-attempt
leaves its rows to be claimed again once the hold runs out. An attempt's outcome is written only
by the sender holding the claim.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infrastructure.webhooks.sql import Sql

PENDING, DELIVERED, FAILED, PAUSED = "pending", "delivered", "failed", "paused"
_IDS = uuid.UUID("9d3e1b7a-2c4f-4a8e-b6d0-5f1e7c3a9b24")


def delivery_id(endpoint_id: str, position: int) -> str:
    """The id of the delivery of the event at `position` to an endpoint: its `webhook-id`, the same on every attempt."""
    return f"msg_{uuid.uuid5(_IDS, f'{endpoint_id}@{position}').hex}"


@dataclass(frozen=True, slots=True)
class NewDelivery:
    """A delivery to enqueue."""

    id: str
    endpoint_id: str
    tenant: str
    position: int
    aggregate_id: str
    event_type: str


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery as it stands."""

    id: str
    endpoint_id: str
    tenant: str
    position: int
    aggregate_id: str
    event_type: str
    status: str
    attempts: int  # every attempt made, manual redeliveries' too
    tries: int  # attempts since it was enqueued or redelivered: what the backoff and the give-up count
    next_attempt_at: float
    created_at: float
    last_attempt_at: float | None
    delivered_at: float | None
    response_status: int | None
    latency_ms: float | None
    last_error: str | None


_COLUMNS = (
    "id, endpoint_id, tenant, position, aggregate_id, event_type, status, attempts, tries, next_attempt_at, "
    "created_at, last_attempt_at, delivered_at, response_status, latency_ms, last_error"
)


class Deliveries:
    """The deliveries table, on SQLite or PostgreSQL."""

    def __init__(self, sql: Sql, name: str = "ledgerdesk_webhook_deliveries") -> None:
        self._sql = sql
        self._name = name
        self._table = sql.table(name)

    def create_table(self) -> None:
        """Create the table and its indexes (a schema step)."""
        t, name = self._table, self._name
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {t} (id TEXT PRIMARY KEY, endpoint_id TEXT NOT NULL, "
                "tenant TEXT NOT NULL, position BIGINT NOT NULL, aggregate_id TEXT NOT NULL, event_type TEXT NOT NULL, "
                "status TEXT NOT NULL, attempts INTEGER NOT NULL DEFAULT 0, tries INTEGER NOT NULL DEFAULT 0, "
                "next_attempt_at DOUBLE PRECISION NOT NULL, created_at DOUBLE PRECISION NOT NULL, "
                "last_attempt_at DOUBLE PRECISION, delivered_at DOUBLE PRECISION, response_status INTEGER, "
                "latency_ms DOUBLE PRECISION, last_error TEXT, claimed_by TEXT, "
                "claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0, UNIQUE (endpoint_id, position))"
            )
            # What the senders look for: due rows, and the pending rows of one ticket before a row.
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name}_due ON {t} (next_attempt_at) WHERE status = 'pending'")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name}_chain ON {t} (endpoint_id, aggregate_id, position) "
                "WHERE status = 'pending'"
            )

    def enqueue(self, cursor: Any, deliveries: Sequence[NewDelivery], *, now: float) -> None:
        """Write new deliveries, due now, in the caller's transaction; one already there is left as it is."""
        if not deliveries:
            return
        p = self._sql.p
        cursor.executemany(
            f"INSERT INTO {self._table} (id, endpoint_id, tenant, position, aggregate_id, event_type, status, "
            f"next_attempt_at, created_at) VALUES ({p}, {p}, {p}, {p}, {p}, {p}, '{PENDING}', {p}, {p}) "
            "ON CONFLICT (endpoint_id, position) DO NOTHING",
            [(d.id, d.endpoint_id, d.tenant, d.position, d.aggregate_id, d.event_type, now, now) for d in deliveries],
        )

    def claim(self, *, holder: str, now: float, limit: int, hold: float) -> list[Delivery]:
        """Claim up to `limit` due deliveries, each the first pending one of its ticket at its endpoint."""
        p, t = self._sql.p, self._table
        lock = " FOR UPDATE SKIP LOCKED" if self._sql.is_postgres else ""  # SQLite: one writer at a time anyway
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {t} SET claimed_by = {p}, claimed_until = {p} WHERE id IN ("
                f"SELECT d.id FROM {t} d WHERE d.status = '{PENDING}' AND d.next_attempt_at <= {p} "
                f"AND d.claimed_until < {p} AND NOT EXISTS (SELECT 1 FROM {t} e WHERE e.status = '{PENDING}' "
                "AND e.endpoint_id = d.endpoint_id AND e.aggregate_id = d.aggregate_id AND e.position < d.position) "
                f"ORDER BY d.next_attempt_at, d.position LIMIT {p}{lock}) RETURNING {_COLUMNS}",
                (holder, now + hold, now, now, limit),
            )
            rows = cursor.fetchall()
        return sorted((_delivery(row) for row in rows), key=lambda d: d.position)

    def delivered(self, delivery: Delivery, *, holder: str, now: float, status: int, latency_ms: float) -> bool:
        """Record a 2xx answer; False if the claim was lost meanwhile (then another sender has the row)."""
        p = self._sql.p
        return self._outcome(
            f"status = '{DELIVERED}', delivered_at = {p}, response_status = {p}, latency_ms = {p}, last_error = NULL",
            (now, status, latency_ms),
            delivery,
            holder=holder,
            now=now,
        )

    def failed(
        self,
        delivery: Delivery,
        *,
        holder: str,
        now: float,
        status: int | None,
        latency_ms: float | None,
        error: str,
        retry_at: float | None,
    ) -> bool:
        """Record a failed attempt: due again at `retry_at`, or given up (None); False if the claim was lost."""
        p = self._sql.p
        state = PENDING if retry_at is not None else FAILED
        return self._outcome(
            f"status = '{state}', next_attempt_at = {p}, response_status = {p}, latency_ms = {p}, last_error = {p}",
            (retry_at if retry_at is not None else now, status, latency_ms, error[:1000]),
            delivery,
            holder=holder,
            now=now,
        )

    def _outcome(self, changes: str, values: tuple[Any, ...], delivery: Delivery, *, holder: str, now: float) -> bool:
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET {changes}, attempts = attempts + 1, tries = tries + 1, "
                f"last_attempt_at = {p}, claimed_by = NULL, claimed_until = 0 "
                f"WHERE id = {p} AND claimed_by = {p} AND status = '{PENDING}' RETURNING id",
                (*values, now, delivery.id, holder),
            )
            return cursor.fetchone() is not None

    def release(self, delivery: Delivery, *, holder: str) -> None:
        """Give a claim back without an attempt (the endpoint was disabled or deleted meanwhile)."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET claimed_by = NULL, claimed_until = 0 WHERE id = {p} AND claimed_by = {p}",
                (delivery.id, holder),
            )

    def pause(self, endpoint_id: str) -> int:
        """Hold back an endpoint's pending deliveries (it was disabled); how many."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET status = '{PAUSED}', claimed_by = NULL, claimed_until = 0 "
                f"WHERE endpoint_id = {p} AND status = '{PENDING}' RETURNING id",
                (endpoint_id,),
            )
            return len(cursor.fetchall())

    def resume(self, endpoint_id: str, *, now: float) -> int:
        """Let an endpoint's held-back deliveries go again, due now, their backoff started afresh; how many."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET status = '{PENDING}', next_attempt_at = {p}, tries = 0 "
                f"WHERE endpoint_id = {p} AND status = '{PAUSED}' RETURNING id",
                (now, endpoint_id),
            )
            return len(cursor.fetchall())

    def redeliver(self, endpoint_id: str, delivery_id: str, *, now: float) -> Delivery | None:
        """Make a delivery due again now, with the same id (a manual redelivery); None if there is none."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self._table} SET status = '{PENDING}', next_attempt_at = {p}, tries = 0, delivered_at = NULL "
                f"WHERE id = {p} AND endpoint_id = {p} RETURNING {_COLUMNS}",
                (now, delivery_id, endpoint_id),
            )
            row = cursor.fetchone()
        return None if row is None else _delivery(row)

    def of_endpoint(self, endpoint_id: str, *, limit: int, before: int | None = None) -> list[Delivery]:
        """An endpoint's deliveries, newest event first, those of events before `before` if given."""
        p = self._sql.p
        below = "" if before is None else f" AND position < {p}"
        arguments: tuple[Any, ...] = (endpoint_id,) if before is None else (endpoint_id, before)
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT {_COLUMNS} FROM {self._table} WHERE endpoint_id = {p}{below} ORDER BY position DESC LIMIT {p}",
                (*arguments, limit),
            )
            return [_delivery(row) for row in cursor.fetchall()]

    def forget(self, endpoint_id: str) -> None:
        """Remove every delivery of a deleted endpoint."""
        with self._sql.transaction() as cursor:
            cursor.execute(f"DELETE FROM {self._table} WHERE endpoint_id = {self._sql.p}", (endpoint_id,))


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row["id"],
        endpoint_id=row["endpoint_id"],
        tenant=row["tenant"],
        position=int(row["position"]),
        aggregate_id=row["aggregate_id"],
        event_type=row["event_type"],
        status=row["status"],
        attempts=int(row["attempts"]),
        tries=int(row["tries"]),
        next_attempt_at=float(row["next_attempt_at"]),
        created_at=float(row["created_at"]),
        last_attempt_at=row["last_attempt_at"],
        delivered_at=row["delivered_at"],
        response_status=row["response_status"],
        latency_ms=row["latency_ms"],
        last_error=row["last_error"],
    )
