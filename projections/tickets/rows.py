"""One row per ticket (`tickets`, with its tags in `ticket_tags`): what the row holds, which statuses queues show."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.tickets.workflow import Status
from domain.values import ERASED
from projections.sla.rows import NO_DUE

#: Status categories in which a ticket still needs work (what queues show by default).
UNSOLVED = (Status.NEW.value, Status.OPEN.value, Status.PENDING.value, Status.ON_HOLD.value)


@dataclass
class TicketRow:
    """One ticket as the `tickets` read model holds it."""

    ticket_id: UUID
    tenant: str
    title: str
    status: str  # a state of the ticket's workflow
    status_category: str  # what that state counts as: new, open, pending, on_hold, solved or closed
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
    workflow: str = "default"  # the workflow and version the ticket runs under
    workflow_version: int = 1
    stale: bool = False  # the ticket is parked: events after this row's position wait for a retry
    status_since: datetime | None = None  # when the ticket entered its state (timed rules count from it)
    last_contact_agent_at: datetime | None = None  # the latest public reply by an agent

    @property
    def last_contact_customer_at(self) -> datetime | None:
        """The requester's latest public message (their opening of the ticket counts)."""
        return self.last_requester_activity_at


def erase_from_row(row: TicketRow, person_id: str) -> None:
    """Scrub a person's data from a ticket row: the title if they asked, the personal custom fields they own."""
    if row.requester_id == person_id:
        row.title = ERASED
    row.custom_fields = {
        name: {**value, "value": ERASED} if value.get("owner") == person_id else value
        for name, value in row.custom_fields.items()
    }
