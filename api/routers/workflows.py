"""Workflows: admins publish versions of a tenant's lifecycles; tickets move to a newer version by migration.

Definitions are read from the tenant's workflow catalogue itself (an aggregate), not a read model: a
version is there the moment its PUT answers. Which tickets to migrate is read from the ticket list.
"""

from __future__ import annotations

from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Query, Response

from api.deps import ChannelDep, DeskDep, PrincipalDep, ViewReadDep
from api.plain_text import Slug
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from api.workflow_schemas import (
    MigratedTicket,
    MigrationIn,
    MigrationOut,
    MoveOut,
    TicketMoves,
    WorkflowIn,
    WorkflowList,
    WorkflowOut,
)
from domain.actors import ActorKind

router = APIRouter(tags=["workflows"])
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="A version; default: the latest.")]


@router.put("/workflows/{name}", response_model=WorkflowOut, responses=problem_responses(401, 403, 422))
def put_workflow(
    name: Slug, body: WorkflowIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> WorkflowOut:
    """Publish a new version of a workflow (an identical definition records nothing).

    Open tickets keep their version until migrated (`POST /workflows/{name}/migrations`); new
    tickets of the types it serves run under the new version at once. Version 1 of `default` is
    the standard workflow every tenant starts with, so a tenant's own `default` starts at 2.
    """
    receipt = desk.publish_workflow(
        tenant=principal.tenant, name=name, definition=body.definition(), by=principal.actor, via=via
    )
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return WorkflowOut.of(desk.workflow(principal.tenant, name, receipt.version))


@router.get("/workflows", response_model=WorkflowList, responses=problem_responses(401, 403))
def list_workflows(desk: DeskDep, principal: PrincipalDep) -> WorkflowList:
    """The latest version of each workflow of the tenant, `default` first."""
    return WorkflowList(items=[WorkflowOut.of(v) for v in desk.workflows(principal.tenant)])


@router.get("/workflows/{name}", response_model=WorkflowOut, responses=problem_responses(401, 403, 404, 422))
def get_workflow(name: Slug, desk: DeskDep, principal: PrincipalDep, version: VersionQuery = None) -> WorkflowOut:
    """A workflow as it is, or as it was at `version`."""
    return WorkflowOut.of(desk.workflow(principal.tenant, name, version))


@router.post(
    "/workflows/{name}/migrations", response_model=MigrationOut, responses=problem_responses(401, 403, 404, 422)
)
def migrate_workflow(
    name: Slug, body: MigrationIn, desk: DeskDep, read: ViewReadDep, principal: PrincipalDep, via: ChannelDep
) -> MigrationOut:
    """Move tickets from one version of the workflow to a later one, each state mapped to one of the new version.

    An incomplete mapping (a state that is not closed, absent from the new version and not mapped)
    is refused with 422 and migrates nothing. Each ticket is then its own recorded change
    (`WorkflowMigrated`); one that moved on meanwhile is reported and the others still move.
    """
    target = desk.workflow(principal.tenant, name, body.to_version)
    if body.tickets is None:
        read.position()  # the list read model, as of the caller's Ledgerdesk-Min-Position
        tickets = read.read_models.tickets().on_workflow_version(principal.tenant, name, body.from_version)
    else:
        tickets = body.tickets
    results = desk.migrate_tickets(
        tenant=principal.tenant,
        name=name,
        from_version=body.from_version,
        to_version=target.version,
        mapping=body.mapping,
        ticket_ids=tickets,
        by=principal.actor,
        via=via,
    )
    positions = [r.position for r in results if r.position is not None]
    if positions:
        read.response.headers[POSITION_HEADER] = str(positions[-1])
    return MigrationOut(
        workflow=name,
        from_version=body.from_version,
        to_version=target.version,
        migrated=sum(1 for r in results if r.error is None),
        tickets=[
            MigratedTicket(
                ticket_id=r.ticket_id, migrated=r.error is None, problem=None if r.error is None else str(r.error)
            )
            for r in results
        ],
        position=positions[-1] if positions else None,
    )


@router.get(
    "/tickets/{ticket_id}/transitions", response_model=TicketMoves, responses=problem_responses(401, 403, 404, 422)
)
def list_transitions(ticket_id: UUID, desk: DeskDep, principal: PrincipalDep) -> TicketMoves:
    """The moves the caller may make now from the ticket's state, as its workflow version defines them."""
    actor = principal.actor
    requester = actor.kind is ActorKind.REQUESTER
    ticket = desk.get_ticket(
        ticket_id, tenant=principal.tenant, requester=actor.id if requester else None, organisation=actor.organisation
    )
    lifecycle = desk.lifecycle_of(ticket)
    moves = [
        MoveOut(
            to=m.target,
            category=lifecycle.category_of(m.target),
            requires=list(lifecycle.requirements(m)),
            missing=[f for f in lifecycle.requirements(m) if f not in ticket.custom_fields],
        )
        for m in ticket.moves_for(actor, lifecycle)
    ]
    return TicketMoves(
        ticket_id=ticket.id,
        workflow=ticket.workflow,
        workflow_version=ticket.workflow_version,
        status=ticket.status,
        status_category=ticket.category,
        moves=moves,
    )


def _why(error: Exception | None) -> str | None:
    return None if error is None else str(error)
