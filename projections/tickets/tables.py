"""The `tickets` and `ticket_tags` tables: their DDL, how a batch's rows are written and loaded back.

The `tickets` columns are said once, in `COLUMNS`: every place that names them (the DDL, the
batched upsert, the selects of the view and of the queries) derives them from it, so a new
column is one line here.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import MISSING, fields
from datetime import datetime
from functools import cache
from typing import Any
from uuid import UUID

from projections.sla.rows import NO_DUE
from projections.sql import SELECT_CHUNK, Column, Dialect, Kind, TableNames, chunks
from projections.tickets.rows import TicketRow, erase_from_row

COLUMNS = (
    Column("ticket_id", Kind.UUID),
    Column("tenant", Kind.TEXT),
    Column("title", Kind.TEXT),
    Column("status", Kind.TEXT),
    Column("priority", Kind.TEXT),
    Column("priority_rank", Kind.INTEGER),
    Column("ticket_type", Kind.TEXT, required=False),
    Column("group_id", Kind.TEXT, required=False, field="group"),
    Column("assignee", Kind.TEXT, required=False),
    Column("requester_id", Kind.TEXT),
    Column("organisation", Kind.TEXT, required=False),
    Column("channel", Kind.TEXT),
    Column("tags", Kind.JSON),
    Column("custom_fields", Kind.JSON),
    Column("created_at", Kind.TIME),
    Column("updated_at", Kind.TIME),
    Column("solved_at", Kind.TIME, required=False),
    Column("closed_at", Kind.TIME, required=False),
    Column("reopen_count", Kind.INTEGER),
    Column("public_comments", Kind.INTEGER),
    Column("internal_notes", Kind.INTEGER),
    Column("first_agent_reply_at", Kind.TIME, required=False),
    Column("last_requester_activity_at", Kind.TIME, required=False),
    Column("version", Kind.INTEGER),
    Column("position", Kind.BIGINT),
    # Added after the first release (`add_missing_columns`): NULL in rows written before.
    Column("sla_due_at", Kind.TIME, required=False),
    Column("sla_warn_at", Kind.TIME, required=False),
    Column("sla_breached_at", Kind.TIME, required=False),
    Column("stale", Kind.FLAG),
    # Added with workflows (`add_missing_columns`): rows written before ran the standard workflow.
    Column("status_category", Kind.TEXT, required=False),
    Column("workflow", Kind.TEXT, required=False),
    Column("workflow_version", Kind.INTEGER, required=False),
    # Added with timed rules (`add_missing_columns`): rows written before take their last change's moment.
    Column("status_since", Kind.TIME, required=False),
    # Added with the contact moments (`add_missing_columns`): rows written before take the first agent reply.
    Column("last_contact_agent_at", Kind.TIME, required=False),
)
#: The column names, in table order (for selects and upserts).
TICKET_COLUMNS = tuple(column.name for column in COLUMNS)
#: What a NULL reads as, where the row has a default of its own (a ticket with no running target is due never).
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TicketRow) if f.default not in (None, MISSING)}


#: Columns added to `tickets` after its first release, with their defaults: added in place on start.
ADDED_COLUMNS: tuple[tuple[str, datetime | None], ...] = (
    ("sla_due_at", NO_DUE),
    ("sla_warn_at", None),
    ("sla_breached_at", None),
)
UNSOLVED_SQL = "('new', 'open', 'pending', 'on_hold')"
#: Columns added with workflows: TEXT or INTEGER, NULL in rows written before (`add_missing_columns` fills them).
WORKFLOW_COLUMNS = (("status_category", "TEXT"), ("workflow", "TEXT"), ("workflow_version", "INTEGER"))


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's `tickets` and `ticket_tags` tables and their indexes."""
    t = n.tickets
    return [
        d.create_table(t, COLUMNS, primary_key=("ticket_id",)),
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_created')} ON {t} (tenant, created_at, ticket_id)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_status')} ON {t} (tenant, status, priority_rank, created_at)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_group')} ON {t} (tenant, group_id, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_assignee')} ON {t} (tenant, assignee, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_requester')} ON {t} (tenant, requester_id)",
        f"CREATE TABLE IF NOT EXISTS {n.tags} (ticket_id {d.uuid_type} NOT NULL, tag TEXT NOT NULL, "
        "tenant TEXT NOT NULL, PRIMARY KEY (ticket_id, tag))",
        f"CREATE INDEX IF NOT EXISTS {n.index('ticket_tags_by_tag')} ON {n.tags} (tenant, tag)",
    ]


def add_missing_columns(cursor: Any, d: Dialect, n: TableNames) -> None:
    """Add the columns later releases gave `tickets`, filled as the rows written before them stand.

    No SLA policy existed before the SLA columns, and every ticket ran the standard workflow,
    whose states are their own categories, before the workflow columns. Indexes on added columns
    come after them.
    """
    present = n.columns(cursor, d, "tickets")
    for column, default in ADDED_COLUMNS:
        if column not in present:
            value = "" if default is None else f" DEFAULT '{d.time(default)}'"  # a constant, never input
            cursor.execute(f"ALTER TABLE {n.tickets} ADD COLUMN {column} {d.time_type}{value}")
    if "stale" not in present:
        cursor.execute(f"ALTER TABLE {n.tickets} ADD COLUMN stale INTEGER NOT NULL DEFAULT 0")
    added = [(column, kind) for column, kind in WORKFLOW_COLUMNS if column not in present]
    for column, kind in added:
        cursor.execute(f"ALTER TABLE {n.tickets} ADD COLUMN {column} {kind}")
    if added:
        cursor.execute(
            f"UPDATE {n.tickets} SET status_category = status, workflow = 'default', workflow_version = 1 "
            "WHERE status_category IS NULL"
        )
    if "status_since" not in present:
        cursor.execute(f"ALTER TABLE {n.tickets} ADD COLUMN status_since {d.time_type}")
        cursor.execute(f"UPDATE {n.tickets} SET status_since = updated_at")
    if "last_contact_agent_at" not in present:
        # The latest agent reply was not kept before: the first is the closest the row knows (a rebuild
        # of the read model, `ledgerdesk projections rebuild`, makes it exact).
        cursor.execute(f"ALTER TABLE {n.tickets} ADD COLUMN last_contact_agent_at {d.time_type}")
        cursor.execute(f"UPDATE {n.tickets} SET last_contact_agent_at = first_agent_reply_at")
    for statement in category_indexes(n):
        cursor.execute(statement)


def category_indexes(n: TableNames) -> list[str]:
    """Queues read unsolved tickets most urgent first: partial indexes in that order avoid sorting the backlog."""
    t, unsolved = n.tickets, f"status_category IN {UNSOLVED_SQL}"
    return [
        # Before workflows these partial indexes were over `status`, which queues no longer read.
        f"DROP INDEX IF EXISTS {n.qualifier}{n.index('tickets_unsolved_by_group')}",
        f"DROP INDEX IF EXISTS {n.qualifier}{n.index('tickets_unsolved_by_assignee')}",
        f"CREATE INDEX IF NOT EXISTS {n.index('unsolved_tickets_by_group')} ON {t} "
        f"(tenant, group_id, priority_rank DESC, created_at, ticket_id) WHERE {unsolved}",
        f"CREATE INDEX IF NOT EXISTS {n.index('unsolved_tickets_by_assignee')} ON {t} "
        f"(tenant, assignee, priority_rank DESC, created_at, ticket_id) WHERE {unsolved}",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_workflow')} ON {t} (tenant, workflow, workflow_version)",
        # The router's sweeps read only the tickets waiting in a queue, in the order it routes them.
        f"CREATE INDEX IF NOT EXISTS {n.index('waiting_tickets_by_group')} ON {t} "
        f"(tenant, group_id, priority_rank DESC, created_at, ticket_id) "
        f"WHERE {unsolved} AND assignee IS NULL AND group_id IS NOT NULL",
    ]


def load(cursor: Any, d: Dialect, n: TableNames, into: dict[UUID, TicketRow], ids: Sequence[UUID]) -> None:
    """Put the stored rows of these tickets into `into` (missing ones are skipped)."""
    cursor.execute(
        f"SELECT {', '.join(TICKET_COLUMNS)} FROM {n.tickets} WHERE ticket_id IN ({d.params(len(ids))})",
        [d.uuid(i) for i in ids],
    )
    for row in cursor.fetchall():
        loaded = ticket_row(d, row)
        into[loaded.ticket_id] = loaded


def write(cursor: Any, d: Dialect, n: TableNames, rows: dict[UUID, TicketRow], retagged: set[UUID]) -> None:
    """Upsert the batch's ticket rows, and rewrite the tag rows of those whose tags changed."""
    if rows:
        updates = ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:])
        d.insert_rows(
            cursor,
            n.tickets,
            TICKET_COLUMNS,
            [ticket_values(d, r) for r in rows.values()],
            f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
        )
    if retagged:
        tagged = [rows[i] for i in retagged]
        d.delete_where_in(cursor, n.tags, "ticket_id", [d.uuid(r.ticket_id) for r in tagged])
        tags = [(d.uuid(r.ticket_id), tag, r.tenant) for r in tagged for tag in r.tags]
        d.insert_rows(cursor, n.tags, ("ticket_id", "tag", "tenant"), tags)


def mark_stale(cursor: Any, d: Dialect, n: TableNames, ticket_ids: Sequence[UUID]) -> None:
    """Mark the rows of parked tickets stale: events after their position wait for a retry."""
    ids = [d.uuid(i) for i in ticket_ids]
    for chunk in chunks(ids, SELECT_CHUNK):
        cursor.execute(f"UPDATE {n.tickets} SET stale = 1 WHERE ticket_id IN ({d.params(len(chunk))})", chunk)


def scrub(cursor: Any, d: Dialect, n: TableNames, ticket_id: UUID, person_id: str) -> None:
    """Erase a person from a parked ticket's stored row now: its erasure must not wait for a retry."""
    p = d.placeholder
    cursor.execute(f"SELECT {', '.join(TICKET_COLUMNS)} FROM {n.tickets} WHERE ticket_id = {p}", [d.uuid(ticket_id)])
    found = cursor.fetchone()
    if found is None:
        return
    row = ticket_row(d, found)
    erase_from_row(row, person_id)
    cursor.execute(
        f"UPDATE {n.tickets} SET title = {p}, custom_fields = {p} WHERE ticket_id = {p}",
        [row.title, d.json(row.custom_fields), d.uuid(ticket_id)],
    )


@cache
def _writers(d: Dialect) -> tuple[tuple[str, Callable[[Any], Any]], ...]:
    """(TicketRow field, how `d` stores it) per column, in table order: worked out once per dialect."""
    by_kind: dict[Kind, Callable[[Any], Any]] = {
        Kind.UUID: d.uuid,
        Kind.JSON: d.json,
        Kind.TIME: d.time,
        Kind.FLAG: int,
    }
    return tuple((c.attribute, by_kind.get(c.kind, _same)) for c in COLUMNS)


@cache
def _readers(d: Dialect) -> tuple[tuple[str, str, Callable[[Any], Any]], ...]:
    """(column, TicketRow field, how `d` reads it back) per column: worked out once per dialect."""
    by_kind: dict[Kind, Callable[[Any], Any]] = {
        Kind.UUID: d.to_uuid,
        Kind.JSON: d.to_json,
        Kind.TIME: d.to_time,
        Kind.FLAG: bool,
    }
    return tuple((c.name, c.attribute, by_kind.get(c.kind, _same)) for c in COLUMNS)


def _same(value: Any) -> Any:
    return value


def ticket_values(d: Dialect, r: TicketRow) -> tuple[Any, ...]:
    """A row's values, in `TICKET_COLUMNS` order, as `d` stores them."""
    return tuple(write(getattr(r, attribute)) for attribute, write in _writers(d))


def ticket_row(d: Dialect, row: Any) -> TicketRow:
    """A TicketRow from a stored row (a mapping of column name to value)."""
    values: dict[str, Any] = {}
    for column, attribute, read in _readers(d):
        value = read(row[column])
        values[attribute] = _DEFAULTS.get(attribute) if value is None else value
    return TicketRow(**values)
