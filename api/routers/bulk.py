"""`POST /tickets/bulk`: one change applied to many tickets, each its own recorded command.

Partial failure is normal: the answer says per ticket what happened, with the status and problem
type its own request would have had. Nothing is rolled back for another ticket's refusal.
"""

from __future__ import annotations

from collections.abc import Callable
from uuid import UUID

from fastapi import APIRouter, Response
from pydantic import BaseModel, Field, model_validator

from api.deps import ChannelDep, DeskDep, PrincipalDep, Provenance
from api.plain_text import Identifier, Slug
from api.problems import ProblemError, problem_responses, status_of
from api.routers.tickets import POSITION_HEADER
from domain import values
from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.pipeline import Receipt
from domain.values import Priority

router = APIRouter(tags=["tickets"])
#: Other methods at /tickets/bulk: without it they would reach /tickets/{ticket_id} and be told "bulk" is no id.
wrong_methods = APIRouter(include_in_schema=False)
BULK_MAX = 500


class BulkAssignment(BaseModel):
    """Assign each ticket to an agent, a group, or both."""

    model_config = {"extra": "forbid"}

    assignee: Identifier | None = None
    group: Identifier | None = None


class BulkChange(BaseModel):
    """One change for up to 500 tickets: exactly one of assign, transition, tags and priority."""

    model_config = {"extra": "forbid"}

    tickets: list[UUID] = Field(min_length=1, max_length=BULK_MAX)
    assign: BulkAssignment | None = None
    transition: Slug | None = Field(default=None, description="Move each ticket to this state of its workflow.")
    add_tags: list[Slug] = Field(default_factory=list, max_length=50)
    remove_tags: list[Slug] = Field(default_factory=list, max_length=50)
    priority: Priority | None = None

    @model_validator(mode="after")
    def one_change(self) -> BulkChange:
        """Exactly one kind of change."""
        kinds = [self.assign is not None, self.transition is not None, bool(self.add_tags or self.remove_tags)]
        kinds.append(self.priority is not None)
        if sum(kinds) != 1:
            msg = "a bulk change is exactly one of assign, transition, add_tags/remove_tags, priority"
            raise ValueError(msg)
        return self


class BulkOutcome(BaseModel):
    """What happened to one ticket."""

    ticket_id: UUID
    status: int = Field(description="The HTTP status the ticket's own request would have had.")
    version: int | None = Field(default=None, description="The ticket's version after the change.")
    type: str | None = Field(default=None, description="The problem type, when refused.")
    detail: str | None = None


class BulkResult(BaseModel):
    """Per ticket, what happened; and the log position of the last change stored."""

    changed: int
    results: list[BulkOutcome]
    position: int | None


@router.post("/tickets/bulk", response_model=BulkResult, responses=problem_responses(401, 403, 422))
def bulk_change(
    body: BulkChange, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> BulkResult:
    """Apply one change to each ticket as its own command; the answer reports each outcome (partial failure is normal).

    Each ticket's outcome has the status its own request would have had (200, 403, 404, 409, 422).
    """
    provenance = Provenance(by=principal.actor, via=via, expected_version=None, tenant=principal.tenant)
    change = _change(desk, body)
    results, position = [], None
    for ticket_id in dict.fromkeys(body.tickets):  # each ticket once, in the order given
        outcome, stored = _apply(change, ticket_id, provenance)
        results.append(outcome)
        position = stored if stored is not None else position
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)
    return BulkResult(changed=sum(1 for r in results if r.status == 200), results=results, position=position)


@wrong_methods.api_route("/tickets/bulk", methods=["GET", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
def bulk_takes_post_only() -> None:
    """405: the bulk endpoint takes POST only."""
    raise ProblemError(405, "method-not-allowed", "POST /tickets/bulk takes POST only", headers={"Allow": "POST"})


Change = Callable[[UUID, Provenance], Receipt]


def _change(desk: HelpDesk, body: BulkChange) -> Change:
    if body.assign is not None:
        assignee, group = body.assign.assignee, body.assign.group
        return lambda t, how: desk.assign(t, assignee=assignee, group=group, **how)
    if body.transition is not None:
        to = values.slug(body.transition, "state")  # bad input is refused whole, before any ticket
        return lambda t, how: desk.transition(t, to, **how)
    if body.priority is not None:
        priority = body.priority.value
        return lambda t, how: desk.update_ticket(t, priority=priority, **how)
    add, remove = values.tags(body.add_tags), values.tags(body.remove_tags)
    return lambda t, how: desk.update_ticket(t, add_tags=add, remove_tags=remove, **how)


def _apply(change: Change, ticket_id: UUID, how: Provenance) -> tuple[BulkOutcome, int | None]:
    try:
        receipt = change(ticket_id, how)
    except DomainError as error:
        status, slug = status_of(error)
        return _refused(ticket_id, status, slug, str(error)), None
    return BulkOutcome(ticket_id=ticket_id, status=200, version=receipt.ticket.version), receipt.position


def _refused(ticket_id: UUID, status: int, slug: str, detail: str) -> BulkOutcome:
    return BulkOutcome(ticket_id=ticket_id, status=status, type=f"urn:ledgerdesk:problem:{slug}", detail=detail)
