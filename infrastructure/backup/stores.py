"""Where a backup's sections come from and go to: their tables, on SQLite or PostgreSQL.

Reading takes one snapshot of the database for the whole backup (a REPEATABLE READ, read-only
transaction on PostgreSQL; one read transaction on SQLite, whose write-ahead log keeps it while
writers go on), and streams each table in position order (a server-side cursor on PostgreSQL),
so a backup taken while tickets are written holds a log that ends at one commit, with its chain
rows and every data key its events name (keys are committed before the events that use them).
Writing goes into one transaction, committed by the caller only once the whole file checked out.
"""

from __future__ import annotations

import sqlite3
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from uuid import UUID

import psycopg
from psycopg import IsolationLevel
from psycopg.sql import SQL, Composable, Identifier

from infrastructure.audit.chain import ChainedSQLiteApplicationRecorder
from infrastructure.backup.sections import API_KEYS, CHAIN, DATA_KEYS, EVENTS, SECTIONS, WEB_USERS, Section
from infrastructure.database import Backend, Database
from infrastructure.pool import application_name

#: The tables of the sections that are ledgerdesk's own (the events' and the chain's depend on the store).
OWN_TABLES = {DATA_KEYS: "ledgerdesk_person_keys", API_KEYS: "ledgerdesk_api_keys", WEB_USERS: "ledgerdesk_web_users"}
SQLITE_EVENTS = "stored_events"


class TargetNotEmptyError(Exception):
    """The database to restore into already holds rows of a section (events, keys or users)."""


@dataclass(frozen=True, slots=True)
class Tables:
    """The names of the sections' tables in one database."""

    database: Database
    schema: str  # PostgreSQL only
    events: str  # eventsourcing's events table ("stored_events" on SQLite)

    def name(self, section: Section) -> str:
        """The table a section is kept in (unqualified)."""
        if section is EVENTS:
            return self.events
        if section is CHAIN:
            return f"{self.events}_chain" if self.is_postgres else ChainedSQLiteApplicationRecorder.CHAIN_TABLE
        return OWN_TABLES[section]

    @property
    def is_postgres(self) -> bool:
        """Whether the tables are in PostgreSQL."""
        return self.database.backend is Backend.POSTGRES

    def qualified(self, section: Section) -> Composable:
        """The table's name for PostgreSQL statements, with its schema."""
        return Identifier(self.schema, self.name(section))

    def selected(self, section: Section) -> list[str]:
        """The columns to read, in the section's order (SQLite's notification id is the rowid)."""
        names = section.column_names
        if section is EVENTS and not self.is_postgres:
            return ["rowid", *names[1:]]
        return names


@contextmanager
def snapshot(tables: Tables) -> Iterator[Snapshot]:
    """One consistent, read-only view of the three tables for as long as the block runs."""
    if tables.is_postgres:
        connection = psycopg.connect(
            **tables.database.connect_kwargs(),  # type: ignore[arg-type]
            application_name=application_name(),
        )
        try:
            connection.isolation_level = IsolationLevel.REPEATABLE_READ
            connection.read_only = True
            with connection.transaction():
                yield PostgresSnapshot(tables, connection)
        finally:
            connection.close()
        return
    lite = sqlite3.connect(tables.database.path, isolation_level=None, timeout=30)
    try:
        lite.execute("BEGIN")  # deferred: the snapshot starts with the first read and lasts until the end
        try:
            yield SqliteSnapshot(tables, lite)
        finally:
            lite.execute("ROLLBACK")
    finally:
        lite.close()


class Snapshot(ABC):
    """The tables as one transaction sees them."""

    @abstractmethod
    def count(self, section: Section) -> int:
        """How many rows the section's table holds."""

    @abstractmethod
    def batches(self, section: Section, size: int) -> Iterator[list[Any]]:
        """The table's rows in order, `size` at a time."""

    @abstractmethod
    def head(self) -> tuple[int, str]:
        """The chain's last position and hash (hex); (0, "") for an empty log."""


class PostgresSnapshot(Snapshot):
    """A REPEATABLE READ transaction on its own connection."""

    def __init__(self, tables: Tables, connection: psycopg.Connection[Any]) -> None:
        self._tables = tables
        self._connection = connection

    def count(self, section: Section) -> int:
        """How many rows the section's table holds."""
        row = self._connection.execute(SQL("SELECT count(*) FROM {}").format(self._tables.qualified(section)))
        found = row.fetchone()
        return int(found[0]) if found else 0

    def batches(self, section: Section, size: int) -> Iterator[list[Any]]:
        """The rows through a server-side cursor: the server sends `size` at a time."""
        query = SQL("SELECT {} FROM {} ORDER BY {}").format(
            SQL(", ").join(Identifier(c) for c in self._tables.selected(section)),
            self._tables.qualified(section),
            Identifier(section.order),
        )
        with self._connection.cursor(name=f"backup_{section.name}") as cursor:
            cursor.itersize = size
            cursor.execute(query)
            while rows := cursor.fetchmany(size):
                yield rows

    def head(self) -> tuple[int, str]:
        """The chain's last row."""
        query = SQL("SELECT notification_id, chain_hash FROM {} ORDER BY notification_id DESC LIMIT 1")
        row = self._connection.execute(query.format(self._tables.qualified(CHAIN))).fetchone()
        return (0, "") if row is None else (int(row[0]), bytes(row[1]).hex())


class SqliteSnapshot(Snapshot):
    """One read transaction on its own connection."""

    def __init__(self, tables: Tables, connection: sqlite3.Connection) -> None:
        self._tables = tables
        self._connection = connection

    def count(self, section: Section) -> int:
        """How many rows the section's table holds."""
        return int(self._connection.execute(f"SELECT count(*) FROM {self._tables.name(section)}").fetchone()[0])

    def batches(self, section: Section, size: int) -> Iterator[list[Any]]:
        """The rows from one statement, `size` at a time (SQLite steps through them; nothing is loaded first)."""
        columns = ", ".join(self._tables.selected(section))
        order = "rowid" if section is EVENTS else section.order
        cursor = self._connection.execute(f"SELECT {columns} FROM {self._tables.name(section)} ORDER BY {order}")
        while rows := cursor.fetchmany(size):
            yield rows

    def head(self) -> tuple[int, str]:
        """The chain's last row."""
        table = self._tables.name(CHAIN)
        row = self._connection.execute(
            f"SELECT notification_id, chain_hash FROM {table} ORDER BY notification_id DESC LIMIT 1"
        ).fetchone()
        return (0, "") if row is None else (int(row[0]), bytes(row[1]).hex())


@contextmanager
def restoring(tables: Tables) -> Iterator[Target]:
    """One write transaction into tables that must be empty; committed only if the block ends normally."""
    if tables.is_postgres:
        connection = psycopg.connect(
            **tables.database.connect_kwargs(),  # type: ignore[arg-type]
            application_name=application_name(),
        )
        try:
            with connection.transaction():
                target = PostgresTarget(tables, connection)
                target.lock_and_check()
                yield target
                target.advance_sequence()
        finally:
            connection.close()
        return
    lite = sqlite3.connect(tables.database.path, isolation_level=None, timeout=30)
    try:
        lite.execute("BEGIN IMMEDIATE")  # the write lock now: nobody writes between the check and the commit
        try:
            target_lite = SqliteTarget(tables, lite)
            target_lite.check_empty()
            yield target_lite
        except BaseException:
            lite.execute("ROLLBACK")
            raise
        lite.execute("COMMIT")
    finally:
        lite.close()


class Target(ABC):
    """Tables being restored in one transaction."""

    @abstractmethod
    def write(self, section: Section, batches: Iterable[list[list[Any]]]) -> None:
        """Insert every row of the section's batches."""


_NOUNS = {"events": "events", "chain": "chain rows", "data_keys": "data keys", "api_keys": "API keys"}


def _refuse_unless_empty(tables: Tables, counts: dict[Section, int]) -> None:
    if not any(counts.values()):
        return
    held = ", ".join(f"{n} {_NOUNS.get(s.name, s.name.replace('_', ' '))}" for s, n in counts.items())
    msg = f"{tables.database.describe()} is not empty (it holds {held}); restore only into an empty database"
    raise TargetNotEmptyError(msg)


class PostgresTarget(Target):
    """COPY into the tables, in the caller's transaction."""

    def __init__(self, tables: Tables, connection: psycopg.Connection[Any]) -> None:
        self._tables = tables
        self._connection = connection

    def lock_and_check(self) -> None:
        """Keep writers out until the commit (the lock they take themselves), then check nothing is there."""
        self._connection.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(self._tables.qualified(EVENTS)))
        counts = {}
        for section in SECTIONS:
            row = self._connection.execute(SQL("SELECT count(*) FROM {}").format(self._tables.qualified(section)))
            found = row.fetchone()
            counts[section] = int(found[0]) if found else 0
        _refuse_unless_empty(self._tables, counts)

    def write(self, section: Section, batches: Iterable[list[list[Any]]]) -> None:
        """One COPY for the whole section, fed batch by batch."""
        statement = SQL("COPY {} ({}) FROM STDIN").format(
            self._tables.qualified(section), SQL(", ").join(Identifier(c) for c in section.column_names)
        )
        with self._connection.cursor() as cursor, cursor.copy(statement) as copy:
            for batch in batches:
                for row in batch:
                    copy.write_row(row)

    def advance_sequence(self) -> None:
        """New events continue after the restored ones."""
        table = (
            SQL(".")
            .join([Identifier(self._tables.schema), Identifier(self._tables.events)])
            .as_string(self._connection)
        )
        self._connection.execute(
            SQL(
                "SELECT setval(pg_get_serial_sequence(%s, 'notification_id'), "
                "coalesce((SELECT max(notification_id) FROM {}), 0) + 1, false)"
            ).format(self._tables.qualified(EVENTS)),
            [table],
        )


class SqliteTarget(Target):
    """Inserts in the caller's transaction; ids as eventsourcing keeps them on SQLite (UUIDs as hex)."""

    def __init__(self, tables: Tables, connection: sqlite3.Connection) -> None:
        self._tables = tables
        self._connection = connection

    def check_empty(self) -> None:
        """Refuse a database that holds rows of any section."""
        counts = {
            section: int(self._connection.execute(f"SELECT count(*) FROM {self._tables.name(section)}").fetchone()[0])
            for section in SECTIONS
        }
        _refuse_unless_empty(self._tables, counts)

    def write(self, section: Section, batches: Iterable[list[list[Any]]]) -> None:
        """One prepared insert per batch."""
        columns = self._tables.selected(section)
        marks = ", ".join("?" * len(columns))
        statement = f"INSERT INTO {self._tables.name(section)} ({', '.join(columns)}) VALUES ({marks})"
        for batch in batches:
            self._connection.executemany(statement, [[_sqlite_value(v) for v in row] for row in batch])


def _sqlite_value(value: Any) -> Any:
    return value.hex if isinstance(value, UUID) else value
