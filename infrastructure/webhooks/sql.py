"""Where the webhook tables live: beside the events, on the event store's connections.

Secrets, deliveries and endpoint health are kept in the events' database, so the webhook process
enqueues deliveries and moves its position in the log in one transaction of that database. With
the in-memory event store (tests) they live in an in-memory SQLite database of their own.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from typing import Any

Transaction = Callable[[], AbstractContextManager[Any]]


@dataclass(frozen=True, slots=True)
class Sql:
    """How to reach the tables: a transaction yielding a DB-API cursor whose rows read by name, and the dialect."""

    transaction: Transaction
    is_postgres: bool
    schema: str = ""  # PostgreSQL: the schema of every table

    @property
    def p(self) -> str:
        """The parameter placeholder."""
        return "%s" if self.is_postgres else "?"

    def table(self, name: str) -> str:
        """A table's name as statements write it."""
        return f'"{self.schema}".{name}' if self.is_postgres and self.schema else name


def memory_sql() -> Sql:
    """Tables in an in-memory SQLite database, for the in-memory event store."""
    connection = sqlite3.connect(":memory:", check_same_thread=False, isolation_level=None)
    connection.row_factory = sqlite3.Row
    lock = threading.Lock()

    @contextmanager
    def transaction() -> Iterator[sqlite3.Cursor]:
        with lock:
            cursor = connection.cursor()
            cursor.execute("BEGIN")
            try:
                yield cursor
            except BaseException:
                connection.rollback()
                raise
            connection.commit()

    return Sql(transaction, is_postgres=False)
