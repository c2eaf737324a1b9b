"""The rows of the ticket read models, as the projections fold them and the queries read them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from projections.sla import NO_DUE


@dataclass
class TicketRow:
    """One ticket as the `tickets` read model holds it."""

    ticket_id: UUID
    tenant: str
    title: str
    status: str
    priority: str
    priority_rank: int
    ticket_type: str | None
    group: str | None
    assignee: str | None
    requester_id: str
    organisation: str | None
    channel: str
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None = None
    closed_at: datetime | None = None
    reopen_count: int = 0
    public_comments: int = 0
    internal_notes: int = 0
    first_agent_reply_at: datetime | None = None
    last_requester_activity_at: datetime | None = None
    version: int = 1
    position: int = 0
    sla_due_at: datetime = NO_DUE  # earliest due moment of a running SLA target
    sla_warn_at: datetime | None = None  # earliest warning moment of a running target
    sla_breached_at: datetime | None = None  # earliest breach among the targets now breached
    stale: bool = False  # the ticket is parked: events after this row's position wait for a retry


@dataclass
class SavedViewRow:
    """A named, stored set of ticket-list filters."""

    view_id: UUID
    tenant: str
    name: str
    filters: dict[str, Any]
    created_by: str
    created_at: datetime
