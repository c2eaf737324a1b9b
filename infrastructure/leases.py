"""Leases: background work that one process at a time does, in log order, and where it got to.

Some work must follow the event log in order, one event after the other per ticket: a trigger
run on a ticket's later event before its earlier one would skip the earlier. Such a process holds
a lease (`ledgerdesk_leases`: name, holder, until when, position): whoever holds it does the work
and advances the position, every other process of that name stands by and takes over once the
lease has run out (a holder that died, or lost its database, stops renewing it). Each renewal
checks the holder still holds it, in the same statement that moves the position, so a holder that
lost the lease never moves it.

The holder renews at every batch and keeps batches shorter than half the lease, so a lease runs
out only when its holder stopped. Lease moments are wall-clock seconds (`time.time`), so the
clocks of the hosts must agree to well within `seconds` (NTP does).
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

Transaction = Callable[[], AbstractContextManager[Any]]


def holder_name() -> str:
    """The name of this process as a lease holder: host, pid and a random part (pids are reused)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


@dataclass(frozen=True, slots=True)
class LeaseState:
    """Where one kind of background work stands: its position, and until when its holder holds it."""

    name: str
    position: int
    until: float  # wall-clock seconds; the holder renews it at every batch


class Lease:
    """One named lease in the events' database (None as `transaction`: in memory, always held)."""

    def __init__(
        self,
        transaction: Transaction | None,
        *,
        placeholder: str,
        table: str,
        name: str,
        seconds: float = 10.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._transaction = transaction
        self._p = placeholder
        self.table = table
        self.name = name
        self.seconds = seconds
        self.holder = holder_name()
        self._clock = clock
        self._position = 0  # in memory

    def create_table(self) -> None:
        """Create the leases table (a schema step)."""
        if self._transaction is None:
            return
        with self._transaction() as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self.table} (name TEXT PRIMARY KEY, holder TEXT NOT NULL, "
                "until DOUBLE PRECISION NOT NULL, position BIGINT NOT NULL)"
            )

    def acquire(self) -> int | None:
        """Take or renew the lease; the position to go on from, or None while another process holds it."""
        if self._transaction is None:
            return self._position
        p, now = self._p, self._clock()
        with self._transaction() as cursor:
            cursor.execute(
                f"INSERT INTO {self.table} (name, holder, until, position) VALUES ({p}, {p}, {p}, 0) "
                f"ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, until = excluded.until "
                f"WHERE {self.table}.holder = excluded.holder OR {self.table}.until < {p} RETURNING position",
                [self.name, self.holder, now + self.seconds, now],
            )
            row = cursor.fetchone()
        return None if row is None else int(row["position"])

    def advance(self, position: int) -> bool:
        """Record the position reached and renew the lease; False if this process no longer holds it."""
        if self._transaction is None:
            self._position = max(self._position, position)
            return True
        p = self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET position = {p}, until = {p} WHERE name = {p} AND holder = {p} "
                "RETURNING position",
                [position, self._clock() + self.seconds, self.name, self.holder],
            )
            return cursor.fetchone() is not None

    def advance_within(self, cursor: Any, position: int) -> bool:
        """`advance` in the caller's transaction (`cursor`), so the position moves with what that transaction writes."""
        if self._transaction is None:
            self._position = max(self._position, position)
            return True
        p = self._p
        cursor.execute(
            f"UPDATE {self.table} SET position = {p}, until = {p} WHERE name = {p} AND holder = {p} RETURNING position",
            [position, self._clock() + self.seconds, self.name, self.holder],
        )
        return cursor.fetchone() is not None

    def states(self) -> list[LeaseState]:
        """Every lease in this lease's table, by name (the operators' metrics); none in memory."""
        if self._transaction is None:
            return []
        with self._transaction() as cursor:
            cursor.execute(f"SELECT name, position, until FROM {self.table} ORDER BY name")
            return [LeaseState(r["name"], int(r["position"]), float(r["until"])) for r in cursor.fetchall()]

    def release(self) -> None:
        """Give the lease up at once (a clean stop), so a standby takes over without waiting it out."""
        if self._transaction is None:
            return
        p = self._p
        with self._transaction() as cursor:
            cursor.execute(
                f"UPDATE {self.table} SET until = 0 WHERE name = {p} AND holder = {p}", [self.name, self.holder]
            )
