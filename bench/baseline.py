"""The raw baseline: a plain psycopg upsert loop, to state projection catch-up as a ratio of it.

It writes as many rows as the log has events into a scratch copy of the `tickets` read-model
table (same columns, same indexes), `executemany` INSERT ... ON CONFLICT DO UPDATE, one
transaction per batch. Rows come in runs of five per ticket, like a ticket's events, so most
statements update a row that the same transaction inserted. No events are read or decoded:
this is what writing costs, and nothing else.
"""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from psycopg.types.json import Jsonb

from infrastructure.readmodels.view import create_statements
from projections.sql import POSTGRES, TableNames
from projections.tickets.tables import TICKET_COLUMNS

ROWS_PER_TICKET = 5
STATUSES = ("new", "new", "new", "open", "solved")
SCRATCH = TableNames(prefix="raw_", qualifier='"public".')


def create_scratch_table(conn: psycopg.Connection[Any]) -> None:
    """The `tickets` read-model table and its indexes, under a scratch name."""
    for statement in create_statements(POSTGRES, SCRATCH):
        if SCRATCH.tickets in statement:
            conn.execute(statement)


def scratch_rows(count: int) -> list[tuple[Any, ...]]:
    """`count` rows in the shape of the tickets table, five successive versions per ticket.

    Columns are filled by name; any column the read model gains later is written as NULL.
    """
    base = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    rows = []
    for position in range(1, count + 1):
        ticket, step = divmod(position - 1, ROWS_PER_TICKET)
        at = base + timedelta(seconds=15 * ticket + 60 * step)
        values = {
            "ticket_id": uuid.UUID(int=ticket + 1),
            "tenant": "acme",
            "title": f"Request {ticket}: something stopped working",
            "status": STATUSES[step],
            "priority": "normal",
            "priority_rank": 1,
            "ticket_type": "incident",
            "group_id": "it" if step else None,
            "assignee": f"agent-{ticket % 40}" if step else None,
            "requester_id": f"requester-{ticket % 5000}",
            "organisation": None,
            "channel": "web",
            "tags": Jsonb(["printer"]),
            "custom_fields": Jsonb({}),
            "created_at": at,
            "updated_at": at,
            "solved_at": at if step == ROWS_PER_TICKET - 1 else None,
            "closed_at": None,
            "reopen_count": 0,
            "public_comments": 1 if step >= 2 else 0,
            "internal_notes": 0,
            "first_agent_reply_at": at if step >= 2 else None,
            "last_requester_activity_at": None,
            "version": step + 1,
            "stale": 0,
            "position": position,
        }
        rows.append(tuple(values.get(column) for column in TICKET_COLUMNS))
    return rows


def upsert_statement() -> str:
    """The statement the ticket view upserts with, aimed at the scratch table."""
    updates = ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:])
    placeholders = ", ".join(["%s"] * len(TICKET_COLUMNS))
    return (
        f"INSERT INTO {SCRATCH.tickets} ({', '.join(TICKET_COLUMNS)}) VALUES ({placeholders}) "
        f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}"
    )


def time_raw_upserts(database_url: str, rows: int, *, per_transaction: int = 1000) -> dict[str, Any]:
    """Upsert `rows` rows, `per_transaction` per transaction; return the figures."""
    values = scratch_rows(rows)
    statement = upsert_statement()
    with psycopg.connect(database_url, autocommit=True) as conn:
        create_scratch_table(conn)
        started = time.perf_counter()
        for start in range(0, len(values), per_transaction):
            with conn.transaction(), conn.cursor() as cursor:
                cursor.executemany(statement, values[start : start + per_transaction])
        seconds = time.perf_counter() - started
    return {
        "name": f"raw_upsert_batch_{per_transaction}",
        "batch_size": per_transaction,
        "events": rows,
        "seconds": round(seconds, 3),
        "events_per_s": round(rows / seconds, 1),
    }
