"""The outbox: one row per notification (event, recipient), its status and attempts; no address, no text.

A row is written when the notifier reads its event (in the transaction that moves the notifier's
position in the log), and claimed by a sender for each attempt: `FOR UPDATE SKIP LOCKED` on
PostgreSQL hands each due row to one sender, and a claim holds the row for `hold` seconds, so a
sender that died mid-attempt leaves its rows to be claimed again once the hold runs out. The
address and the text are found at the attempt (from the ticket, the directory, the templates),
so an erased person's address is not kept here.

A row is `sent` from the moment the server's 250 is recorded (then never sent again), `failed`
when the server refused it for good or it ran out of attempts, `skipped` when the recipient had
no address by then. `recorded` says its record is on the ticket's history.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from infrastructure.webhooks.sql import Sql

PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"


@dataclass(frozen=True, slots=True)
class Notification:
    """One notification to send (or being sent): its Message-ID, what it tells of, and to whom."""

    message_id: str
    tenant: str
    position: int  # of the event it tells of
    ticket_id: str
    cause_version: int  # that event's version of the ticket
    recipient_id: str
    audience: str  # requester or agent
    kind: str
    tries: int = 0


_COLUMNS = "id, tenant, position, ticket_id, cause_version, recipient_id, audience, kind, tries"


class Outbox:
    """The notifications table, on SQLite or PostgreSQL."""

    def __init__(self, sql: Sql, name: str = "ledgerdesk_notifications") -> None:
        self._sql = sql
        self._name = name
        self.table = sql.table(name)

    def create_table(self) -> None:
        """Create the table and its index (a schema step)."""
        t, name = self.table, self._name
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {t} (id TEXT PRIMARY KEY, tenant TEXT NOT NULL, "
                "position BIGINT NOT NULL, ticket_id TEXT NOT NULL, cause_version INTEGER NOT NULL, "
                "recipient_id TEXT NOT NULL, audience TEXT NOT NULL, kind TEXT NOT NULL, status TEXT NOT NULL, "
                "recorded INTEGER NOT NULL DEFAULT 0, "
                "tries INTEGER NOT NULL DEFAULT 0, next_attempt_at DOUBLE PRECISION NOT NULL, "
                "created_at DOUBLE PRECISION NOT NULL, sent_at DOUBLE PRECISION, last_error TEXT, claimed_by TEXT, "
                "claimed_until DOUBLE PRECISION NOT NULL DEFAULT 0, UNIQUE (position, recipient_id))"
            )
            cursor.execute(f"CREATE INDEX IF NOT EXISTS {name}_due ON {t} (next_attempt_at) WHERE status = 'pending'")
            cursor.execute(
                f"CREATE INDEX IF NOT EXISTS {name}_unrecorded ON {t} (position) "
                "WHERE recorded = 0 AND status <> 'pending'"
            )

    def enqueue(self, cursor: Any, notifications: Sequence[Notification], *, now: float) -> None:
        """Write new notifications, due now, in the caller's transaction; one already there is left as it is."""
        if not notifications:
            return
        p = self._sql.p
        cursor.executemany(
            f"INSERT INTO {self.table} (id, tenant, position, ticket_id, cause_version, recipient_id, audience, "
            f"kind, status, next_attempt_at, created_at) "
            f"VALUES ({p}, {p}, {p}, {p}, {p}, {p}, {p}, {p}, '{PENDING}', {p}, {p}) "
            "ON CONFLICT DO NOTHING",
            [(*_values(n), now, now) for n in notifications],
        )

    def claim(self, *, holder: str, now: float, limit: int, hold: float) -> list[Notification]:
        """Claim up to `limit` due notifications, oldest event first."""
        p, t = self._sql.p, self.table
        lock = " FOR UPDATE SKIP LOCKED" if self._sql.is_postgres else ""  # SQLite: one writer at a time anyway
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {t} SET claimed_by = {p}, claimed_until = {p} WHERE id IN (SELECT id FROM {t} "
                f"WHERE status = '{PENDING}' AND next_attempt_at <= {p} AND claimed_until < {p} "
                f"ORDER BY next_attempt_at, position LIMIT {p}{lock}) RETURNING {_COLUMNS}",
                (holder, now + hold, now, now, limit),
            )
            rows = cursor.fetchall()
        return sorted((_notification(row) for row in rows), key=lambda n: n.position)

    def sent(self, notification: Notification, *, holder: str, now: float) -> bool:
        """Record the server's acceptance; False if the claim was lost meanwhile (another sender has the row)."""
        p = self._sql.p
        return self._outcome(f"status = '{SENT}', sent_at = {p}, last_error = NULL", (now,), notification, holder)

    def retry(self, notification: Notification, *, holder: str, at: float, error: str) -> bool:
        """Record a failed attempt, due again at `at`; False if the claim was lost."""
        p = self._sql.p
        return self._outcome(f"next_attempt_at = {p}, last_error = {p}", (at, error[:1000]), notification, holder)

    def give_up(self, notification: Notification, *, holder: str, error: str, skipped: bool = False) -> bool:
        """Record that it will not be sent (failed; skipped: no address); False if the claim was lost."""
        p = self._sql.p
        status = SKIPPED if skipped else FAILED
        changes = f"status = '{status}', last_error = {p}, next_attempt_at = {p}"  # when it was given up
        return self._outcome(changes, (error[:1000], time.time()), notification, holder)

    def _outcome(self, changes: str, values: tuple[Any, ...], notification: Notification, holder: str) -> bool:
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET {changes}, tries = tries + 1, claimed_by = NULL, claimed_until = 0 "
                f"WHERE id = {p} AND claimed_by = {p} AND status = '{PENDING}' RETURNING id",
                (*values, notification.message_id, holder),
            )
            return cursor.fetchone() is not None

    def unrecorded(self, *, limit: int, before: float | None = None) -> list[tuple[Notification, str, str | None]]:
        """Notifications sent or failed (before `before`) whose record is not on the ticket: (it, status, error)."""
        p = self._sql.p
        ended = "COALESCE(sent_at, next_attempt_at)"
        with self._sql.transaction() as cursor:
            cursor.execute(
                f"SELECT {_COLUMNS}, status, last_error FROM {self.table} WHERE recorded = 0 "
                f"AND status IN ('{SENT}', '{FAILED}') AND {ended} < {p} ORDER BY position LIMIT {p}",
                (float("inf") if before is None else before, limit),
            )
            rows = cursor.fetchall()
        return [(_notification(row), str(row["status"]), row["last_error"]) for row in rows]

    def mark_recorded(self, message_id: str) -> None:
        """Note that the notification's record is on the ticket."""
        p = self._sql.p
        with self._sql.transaction() as cursor:
            cursor.execute(f"UPDATE {self.table} SET recorded = 1 WHERE id = {p}", (message_id,))

    def statuses(self) -> dict[str, str]:
        """Every notification's status by Message-ID (for tests, benches and operators)."""
        with self._sql.transaction() as cursor:
            cursor.execute(f"SELECT id, status FROM {self.table}")
            return {str(row["id"]): str(row["status"]) for row in cursor.fetchall()}


def _values(n: Notification) -> tuple[Any, ...]:
    return (n.message_id, n.tenant, n.position, n.ticket_id, n.cause_version, n.recipient_id, n.audience, n.kind)


def _notification(row: Any) -> Notification:
    return Notification(
        message_id=str(row["id"]),
        tenant=str(row["tenant"]),
        position=int(row["position"]),
        ticket_id=str(row["ticket_id"]),
        cause_version=int(row["cause_version"]),
        recipient_id=str(row["recipient_id"]),
        audience=str(row["audience"]),
        kind=str(row["kind"]),
        tries=int(row["tries"]),
    )
