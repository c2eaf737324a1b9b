"""Parking: what the read models keep about an event they could not apply, so one bad event stops nobody else.

When folding an event, or writing the rows it produced, fails because of that event (a bug, an
old event shape nobody upcasts, a value the database refuses), the event's aggregate (a ticket,
a saved view, an SLA policy or calendar) is *parked*: the failure is recorded in the dead-letter
list, the aggregate's rows are marked stale, and its later events are skipped (their positions
kept) until `retry` replays them. Every other aggregate, of every tenant, carries on.

What is recorded never holds personal data: the event's topic and position, the error's class
and a reason with any quoted value removed. A database's own message can quote the value it
refused (a title, say), so only its primary message survives, scrubbed of quotes; for errors
raised in Python, only where they were raised.
"""

from __future__ import annotations

import re
import sqlite3
import traceback
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

#: SQLSTATE classes that mean "this data cannot be written" (not "the database is unwell"):
#: 22 data exception, 23 integrity constraint, 42 syntax or access rule, 54 program limit exceeded.
DATA_SQLSTATE_CLASSES = frozenset({"22", "23", "42", "54"})
#: SQLite errors about the statement or its values, not about the connection or locks.
SQLITE_DATA_ERRORS = (sqlite3.IntegrityError, sqlite3.DataError, sqlite3.ProgrammingError)
QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'|«[^»]*»")
REASON_MAX = 200


class Stage(StrEnum):
    """Where an event failed."""

    DECODE = "decode"  # its stored state could not be read into an event
    FOLD = "fold"  # the projection raised while folding it
    WRITE = "write"  # the database refused the rows it produced


@dataclass(frozen=True, slots=True)
class Failure:
    """Why an aggregate was parked: never personal data."""

    stage: Stage
    error_type: str
    reason: str


@dataclass(frozen=True, slots=True)
class Parking:
    """An aggregate set aside at the event `position` of type `topic`."""

    aggregate_id: UUID
    tenant: str  # '' when the read models do not know it (an event that could not even be decoded)
    position: int
    topic: str
    failure: Failure


@dataclass(frozen=True, slots=True)
class ParkedEntry:
    """One line of the dead-letter list."""

    aggregate_id: UUID
    tenant: str
    position: int
    topic: str
    stage: str
    error_type: str
    reason: str
    parked_at: datetime
    attempts: int  # how many times it was parked: 1, plus one per retry that failed again
    skipped: int  # how many of its events wait to be replayed (the failing one included)


@dataclass(frozen=True, slots=True)
class Undecodable:
    """Stands in the batch for a stored event that could not be read (it fails when folded)."""

    originator_id: UUID
    topic: str
    error: Exception


def failure_of(error: BaseException, stage: Stage) -> Failure:
    """What to record of an error: its class and a reason that quotes no value."""
    database = database_error(error)
    if database is not None:
        return Failure(stage, type(database).__name__, _database_reason(database))
    return Failure(stage, type(error).__name__, _raised_at(error))


def database_error(error: BaseException) -> BaseException | None:
    """The database driver's error behind `error` (psycopg's or sqlite3's), if there is one."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, sqlite3.Error) or getattr(current, "sqlstate", None) is not None:
            return current
        current = current.__cause__ or current.__context__
    return None


def caused_by_data(error: BaseException) -> bool:
    """Whether an error in writing a batch is about what was written (park) rather than the database (retry).

    Errors raised in Python while building rows are about the data; database errors only when
    their class says so. A lost connection, a lock timeout or a full disk parks nothing.
    """
    database = database_error(error)
    if database is None:
        return not isinstance(error, OSError)
    if isinstance(database, sqlite3.Error):
        return isinstance(database, SQLITE_DATA_ERRORS)
    sqlstate = str(getattr(database, "sqlstate", "") or "")
    return sqlstate[:2] in DATA_SQLSTATE_CLASSES


def scrub(text: str) -> str:
    """The text with every quoted part replaced by an ellipsis, on one line, shortened."""
    one_line = " ".join(QUOTED.sub('"…"', text).split())
    return one_line[:REASON_MAX]


def topic_of(event: Any) -> str:
    """An event's type as recorded: `Ticket.Opened`, or the stored topic of an undecodable event."""
    if isinstance(event, Undecodable):
        return event.topic
    return type(event).__qualname__


def _database_reason(error: BaseException) -> str:
    diag = getattr(error, "diag", None)
    primary = getattr(diag, "message_primary", None)
    sqlstate = getattr(error, "sqlstate", None)
    if sqlstate is not None:
        return scrub(f"SQLSTATE {sqlstate}: {primary or ''}".rstrip(": "))
    return scrub(str(error).splitlines()[0] if str(error) else type(error).__name__)


def _raised_at(error: BaseException) -> str:
    """Where in the code an error was raised (module, function, line): no values."""
    frames = traceback.extract_tb(error.__traceback__)
    if not frames:
        return "raised outside a traceback"
    last = frames[-1]
    module = last.filename.rsplit("/", 1)[-1]
    return f"raised in {module}:{last.lineno} ({last.name})"
