"""Queues as they were: which tickets a group or an agent had at a past moment, rebuilt by replay."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, ServicesDep
from api.plain_text import IdentifierParam, Slug
from api.problems import problem_responses
from api.read_schemas import Moment
from domain.errors import TicketNotFoundError
from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from projections.tickets.rows import UNSOLVED

router = APIRouter(prefix="/audit", tags=["audit"])
MAX_TICKETS = 1000


class PastQueueQuery(BaseModel):
    """Which queue, at which moment. Moments without an offset are UTC."""

    model_config = ConfigDict(extra="forbid")

    as_of: Moment = Field(description="The moment to look at.")
    group: IdentifierParam | None = None
    assignee: IdentifierParam | None = None
    unassigned: bool = False
    status: list[Slug] = Field(default_factory=list, description="States; default: those of the unsolved categories.")
    max_tickets: int = Field(
        default=200, ge=1, le=MAX_TICKETS, description="How many candidate tickets to replay at most (newest first)."
    )


class PastTicket(BaseModel):
    """A ticket as it was at the moment."""

    id: UUID
    title: str
    status: str
    status_category: Status
    priority: str
    group: str | None
    assignee: str | None
    version: int = Field(description="Its version at the moment.")
    updated_at: datetime = Field(description="Its last change at or before the moment.")


class PastQueue(BaseModel):
    """A queue at a past moment, most urgent first."""

    as_of: datetime
    items: list[PastTicket]
    candidates: int = Field(description="Tickets that existed and were not closed at the moment.")
    examined: int = Field(description="How many of them were replayed (newest first, up to max_tickets).")
    complete: bool = Field(description="True when every candidate was examined.")


@router.get("/queues", response_model=PastQueue, responses=problem_responses(401, 403, 422))
def past_queue(services: ServicesDep, auditor: PrincipalDep, query: Annotated[PastQueueQuery, Query()]) -> PastQueue:
    """What was in a queue at a past moment ("group X at 09:00 yesterday").

    Each candidate ticket (opened by then and not closed by then, per the read model) is replayed
    to the moment, then filtered. The cost is one as-of replay per candidate: a few
    milliseconds each, so `max_tickets` bounds it; `complete` says whether the bound was hit.
    """
    moment = query.as_of if query.as_of.tzinfo else query.as_of.replace(tzinfo=UTC)
    ids, candidates = services.read_models.tickets().present_at(auditor.tenant, moment, query.max_tickets)
    found = [t for t in _replay(services.desk, ids, moment) if _in_queue(t, query)]
    found.sort(key=lambda t: (-t.priority.rank, t.created_on))
    return PastQueue(
        as_of=moment,
        items=[_past(t) for t in found],
        candidates=candidates,
        examined=len(ids),
        complete=len(ids) == candidates,
    )


def _replay(desk: HelpDesk, ids: list[UUID], moment: datetime) -> list[Ticket]:
    tickets = []
    for ticket_id in ids:
        try:
            tickets.append(desk.ticket_as_of(ticket_id, moment))
        except TicketNotFoundError:
            continue
    return tickets


def _in_queue(ticket: Ticket, query: PastQueueQuery) -> bool:
    if ticket.status not in query.status if query.status else ticket.category.value not in UNSOLVED:
        return False
    if query.group is not None and ticket.group != query.group:
        return False
    if query.unassigned and ticket.assignee is not None:
        return False
    return query.assignee is None or ticket.assignee == query.assignee


def _past(ticket: Ticket) -> PastTicket:
    return PastTicket(
        id=ticket.id,
        title=ticket.title,
        status=ticket.status,
        status_category=ticket.category,
        priority=ticket.priority.value,
        group=ticket.group,
        assignee=ticket.assignee,
        version=ticket.version,
        updated_at=ticket.modified_on,
    )
