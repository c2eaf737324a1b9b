"""The `tickets` table, its columns said once: its DDL, how a `TicketRow` is written and read back.

Every place that names the table's columns (the DDL, the batched upsert, the selects of the view
and of the queries) derives them from `COLUMNS`, so a new column is one line here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import MISSING, fields
from functools import cache
from typing import Any

from infrastructure.readmodels.dialect import Column, Dialect, Kind
from infrastructure.readmodels.names import TableNames
from projections.rows import TicketRow

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
)
#: The column names, in table order (for selects and upserts).
TICKET_COLUMNS = tuple(column.name for column in COLUMNS)
#: What a NULL reads as, where the row has a default of its own (a ticket with no running target is due never).
_DEFAULTS: dict[str, Any] = {f.name: f.default for f in fields(TicketRow) if f.default not in (None, MISSING)}


def create_tickets_table(d: Dialect, n: TableNames) -> str:
    """The DDL of one generation's `tickets` table."""
    return d.create_table(n.tickets, COLUMNS, primary_key=("ticket_id",))


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
