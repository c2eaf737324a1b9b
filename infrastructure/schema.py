"""The schema in one step: every table, function and index, made once, under a lock, with a version.

Processes started together used to race on start-up DDL (PostgreSQL answered `tuple concurrently
updated` to a second `CREATE OR REPLACE FUNCTION`, and duplicate keys to a second `CREATE TABLE`).
Now one step does all of it: `ledgerdesk migrate`, or any process that starts with
LEDGERDESK_CREATE_TABLES on. It holds a lock while it works (a PostgreSQL advisory lock per
schema; a lock file beside an SQLite database), so processes doing it at once take turns, and
the second finds the work done. It ends by recording SCHEMA_VERSION in `ledgerdesk_schema`.
A process started with LEDGERDESK_CREATE_TABLES off runs no DDL: it waits, for a bounded time,
until that table says the version it needs is there.
"""

from __future__ import annotations

import fcntl
import os
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from typing import Any

from infrastructure.database import Backend, Database, DatabaseUnavailableError

#: The schema this release needs. Raise it with any change to a table, index or function.
SCHEMA_VERSION = 10  # 2: workflow columns, routing tables and index, leases; 3: notifications outbox; 4: web users;
# 5: the analytics views (PostgreSQL); 6: the knowledge base (its articles, search and votes tables);
# 7: when each API key was last rotated; 8: the suggestion models' versions;
# 9: the search terms of tickets' titles, descriptions and comments (ticket_search);
# 10: customers' tiers for SLA policies (sla_customer_tiers)
VERSION_TABLE = "ledgerdesk_schema"
#: First key of the PostgreSQL advisory lock (the second is a hash of the schema's name).
LOCK_NAMESPACE = 0x1ED6
LOCK_POLL_SECONDS = 0.05
WAIT_POLL_SECONDS = (0.05, 1.0)  # first and longest pause between looks at the version

Step = Callable[[], None]


class SchemaNotReadyError(DatabaseUnavailableError):
    """The database does not (yet) hold the schema this release needs."""


class Schema:
    """Makes the schema in one locked step, or waits for another process to have made it."""

    def __init__(self, database: Database, datastore: Any, *, wait_seconds: float) -> None:
        self.database = database
        self._datastore = datastore  # eventsourcing's datastore of the events (None in memory)
        self._wait_seconds = wait_seconds
        self._memory_lock = threading.Lock()
        if database.backend is Backend.POSTGRES:
            schema = datastore.schema
            self._table = f'"{schema}".{VERSION_TABLE}'
            self._p = "%s"
        else:
            self._table = VERSION_TABLE
            self._p = "?"

    # --- what other modules call ------------------------------------------------------------

    def migrate(self, steps: Sequence[Step]) -> tuple[int, int]:
        """Run the steps under the lock unless the version is already there; (version before, after)."""
        with self.locked():
            found = self._stored_version()
            if found >= SCHEMA_VERSION:
                return found, found
            for step in steps:
                step()
            self._record_version()
        return found, SCHEMA_VERSION

    def wait(self) -> int:
        """Wait until another process has made the schema; its version. SchemaNotReadyError on timeout."""
        deadline = time.monotonic() + self._wait_seconds
        pause = WAIT_POLL_SECONDS[0]
        while True:
            found = self._stored_version()
            if found >= SCHEMA_VERSION:
                return found
            if time.monotonic() >= deadline:
                raise SchemaNotReadyError(self._not_ready(found))
            time.sleep(pause)
            pause = min(pause * 2, WAIT_POLL_SECONDS[1])

    def locked(self) -> AbstractContextManager[None]:
        """Hold the schema lock (for DDL outside `migrate`, such as a new read-model generation)."""
        if self.database.backend is Backend.POSTGRES:
            return self._postgres_lock()
        if self.database.backend is Backend.SQLITE:
            return self._file_lock()
        return self._thread_lock()

    @contextmanager
    def _thread_lock(self) -> Iterator[None]:
        with self._memory_lock:  # events in memory: only this process's threads can meet
            yield

    # --- the lock -----------------------------------------------------------------------------

    @contextmanager
    def _postgres_lock(self) -> Iterator[None]:
        # A session lock on one pooled (autocommit) connection: the steps commit on their own
        # connections while it is held; a process that dies mid-way loses its session, and the lock.
        with self._datastore.get_connection() as conn:
            key = (LOCK_NAMESPACE, f"ledgerdesk:{self._datastore.schema}")
            self._poll_for_lock(lambda: bool(conn.execute(_TRY_LOCK, key).fetchone()["locked"]))
            try:
                conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{self._datastore.schema}"')
                yield
            finally:
                conn.execute(_UNLOCK, key)

    @contextmanager
    def _file_lock(self) -> Iterator[None]:
        # SQLite would serialise each statement anyway; the file lock makes the whole step one turn
        # (a column check and its ALTER TABLE must not interleave with another process's).
        descriptor = os.open(f"{self.database.path}.schema-lock", os.O_RDWR | os.O_CREAT, 0o600)
        try:
            self._poll_for_lock(lambda: _try_flock(descriptor))
            try:
                yield
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)

    def _poll_for_lock(self, try_lock: Callable[[], bool]) -> None:
        deadline = time.monotonic() + self._wait_seconds
        while not try_lock():
            if time.monotonic() >= deadline:
                msg = (
                    f"another process has been changing the schema of {self.database.describe()} for more than "
                    f"{self._wait_seconds:g} s (LEDGERDESK_SCHEMA_WAIT_SECONDS); is a `ledgerdesk migrate` stuck?"
                )
                raise SchemaNotReadyError(msg)
            time.sleep(LOCK_POLL_SECONDS)

    # --- the version table --------------------------------------------------------------------

    def _stored_version(self) -> int:
        """The recorded schema version; 0 when there is none (nothing made yet, or made before versions)."""
        if self.database.backend is Backend.MEMORY:
            return 0
        with self._datastore.transaction(commit=False) as cursor:
            if self.database.backend is Backend.POSTGRES:
                cursor.execute("SELECT to_regclass(%s) IS NOT NULL AS present", [self._table])
            else:
                cursor.execute("SELECT count(*) > 0 AS present FROM sqlite_master WHERE name = ?", [VERSION_TABLE])
            if not cursor.fetchone()["present"]:
                return 0
            cursor.execute(f"SELECT version FROM {self._table} WHERE name = 'ledgerdesk'")
            row = cursor.fetchone()
        return 0 if row is None else int(row["version"])

    def _record_version(self) -> None:
        if self.database.backend is Backend.MEMORY:
            return
        with self._datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"CREATE TABLE IF NOT EXISTS {self._table} "
                "(name TEXT PRIMARY KEY, version INTEGER NOT NULL, migrated_at TEXT NOT NULL)"
            )
            cursor.execute(
                f"INSERT INTO {self._table} (name, version, migrated_at) VALUES ('ledgerdesk', {self._p}, {self._p}) "
                "ON CONFLICT (name) DO UPDATE SET version = excluded.version, migrated_at = excluded.migrated_at",
                [SCHEMA_VERSION, datetime.now(UTC).isoformat()],
            )

    def _not_ready(self, found: int) -> str:
        state = f"is at version {found}" if found else "has not been made"
        return (
            f"the database schema is not ready: {self.database.describe()} {state}, this release needs version "
            f"{SCHEMA_VERSION}; run `ledgerdesk migrate` (or start with LEDGERDESK_CREATE_TABLES on). "
            f"Waited {self._wait_seconds:g} s (LEDGERDESK_SCHEMA_WAIT_SECONDS)"
        )


_TRY_LOCK = "SELECT pg_try_advisory_lock(%s, hashtext(%s)) AS locked"
_UNLOCK = "SELECT pg_advisory_unlock(%s, hashtext(%s))"


def _try_flock(descriptor: int) -> bool:
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True
