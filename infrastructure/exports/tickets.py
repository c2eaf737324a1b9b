"""The `tickets` dataset: one row per ticket, from the tickets read model, a keyset page at a time."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pyarrow as pa

from infrastructure.exports.columns import UTC_TIME, column, json_text, paged_batches
from infrastructure.exports.personal import impersonal_fields
from infrastructure.exports.scope import PAGE, ExportScope, Progress
from infrastructure.readmodels.store import ReadModels
from projections.sla.rows import NO_DUE
from projections.sql import Reader
from projections.tickets.rows import TicketRow
from projections.tickets.tables import TICKET_COLUMNS, ticket_row

SCHEMA = pa.schema(
    [
        column("ticket_id", pa.string(), nullable=False, meaning="the ticket's id (UUID)"),
        column("tenant", pa.string(), nullable=False, meaning="the tenant the ticket belongs to"),
        column("status", pa.string(), nullable=False, meaning="its state in its workflow"),
        column("status_category", pa.string(), meaning="new, open, pending, on_hold, solved or closed"),
        column("priority", pa.string(), nullable=False, meaning="low, normal, high or urgent"),
        column("priority_rank", pa.int32(), nullable=False, meaning="the priority as a number, higher is more urgent"),
        column("ticket_type", pa.string(), meaning="the ticket's type, if it has one"),
        column("group_id", pa.string(), meaning="the group it is routed to"),
        column("assignee", pa.string(), meaning="the agent it is assigned to"),
        column("requester_id", pa.string(), nullable=False, meaning="the requester's id (a pseudonym)"),
        column("organisation", pa.string(), meaning="the requester's organisation"),
        column("channel", pa.string(), nullable=False, meaning="the channel the request came through"),
        column("tags", pa.string(), nullable=False, meaning="its tags, a JSON array of text"),
        column("custom_fields", pa.string(), nullable=False, meaning="custom fields, a JSON object (personal: null)"),
        column("workflow", pa.string(), meaning="the workflow it runs"),
        column("workflow_version", pa.int32(), meaning="the version of that workflow"),
        column("created_at", UTC_TIME, nullable=False, meaning="when it was opened"),
        column("updated_at", UTC_TIME, nullable=False, meaning="its last change"),
        column("status_since", UTC_TIME, meaning="when it entered its current state"),
        column("solved_at", UTC_TIME, meaning="when it was last solved"),
        column("closed_at", UTC_TIME, meaning="when it was closed"),
        column("first_agent_reply_at", UTC_TIME, meaning="the first public reply of an agent"),
        column("last_contact_agent_at", UTC_TIME, meaning="the latest public reply of an agent"),
        column("last_requester_activity_at", UTC_TIME, meaning="the requester's latest reply"),
        column("reopen_count", pa.int32(), nullable=False, meaning="how often it was reopened"),
        column("public_comments", pa.int32(), nullable=False, meaning="public replies"),
        column("internal_notes", pa.int32(), nullable=False, meaning="internal notes"),
        column("sla_due_at", UTC_TIME, meaning="the earliest due moment of a running SLA target"),
        column("sla_breached_at", UTC_TIME, meaning="when an SLA target was first breached"),
        column("version", pa.int64(), nullable=False, meaning="the ticket's version (events recorded)"),
        column("position", pa.int64(), nullable=False, meaning="the log position of its last event"),
    ]
)


class TicketPages(Reader):
    """The tickets read model in ticket-id order, a page after a ticket id (keyset, never OFFSET)."""

    def page(self, scope: ExportScope, after: UUID | None, limit: int) -> list[TicketRow]:
        """Up to `limit` rows in `scope` after the ticket `after`."""
        clauses, params = self._where(scope)
        if after is not None:
            clauses.append(f"ticket_id > {self.d.placeholder}")
            params.append(self.d.uuid(after))
        sql = f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.names.tickets}{_joined(clauses)} ORDER BY ticket_id"
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(f"{sql} LIMIT {int(limit)}", params)
            return [ticket_row(self.d, r) for r in cursor.fetchall()]

    def count(self, scope: ExportScope) -> int:
        """How many rows are in `scope`."""
        clauses, params = self._where(scope)
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(f"SELECT COUNT(*) AS n FROM {self.names.tickets}{_joined(clauses)}", params)
            return int(cursor.fetchone()["n"])

    def _where(self, scope: ExportScope) -> tuple[list[str], list[Any]]:
        p, clauses, params = self.d.placeholder, list[str](), list[Any]()
        if scope.tenant is not None:
            clauses.append(f"tenant = {p}")
            params.append(scope.tenant)
        if scope.since is not None:
            clauses.append(f"updated_at >= {p}")
            params.append(self.d.time(scope.since))
        return clauses, params


def _joined(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def batches(
    read_models: ReadModels, scope: ExportScope, progress: Progress | None = None, *, page: int = PAGE
) -> Iterator[pa.RecordBatch]:
    """The tickets in `scope` as record batches of SCHEMA, a page each."""
    view = read_models.active_view()
    pages = TicketPages(view.datastore, view.dialect, view.names)
    yield from paged_batches(pages, scope, SCHEMA, _record, (lambda r: r.ticket_id), progress, page)


def _record(row: TicketRow) -> dict[str, Any]:
    return {
        "ticket_id": str(row.ticket_id),
        "tenant": row.tenant,
        "status": row.status,
        "status_category": row.status_category,
        "priority": row.priority,
        "priority_rank": row.priority_rank,
        "ticket_type": row.ticket_type,
        "group_id": row.group,
        "assignee": row.assignee,
        "requester_id": row.requester_id,
        "organisation": row.organisation,
        "channel": row.channel,
        "tags": json_text(sorted(row.tags)),
        "custom_fields": json_text(impersonal_fields(row.custom_fields)),
        "workflow": row.workflow,
        "workflow_version": row.workflow_version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "status_since": row.status_since,
        "solved_at": row.solved_at,
        "closed_at": row.closed_at,
        "first_agent_reply_at": row.first_agent_reply_at,
        "last_contact_agent_at": row.last_contact_agent_at,
        "last_requester_activity_at": row.last_requester_activity_at,
        "reopen_count": row.reopen_count,
        "public_comments": row.public_comments,
        "internal_notes": row.internal_notes,
        "sla_due_at": None if row.sla_due_at == NO_DUE else row.sla_due_at,
        "sla_breached_at": row.sla_breached_at,
        "version": row.version,
        "position": row.position,
    }
