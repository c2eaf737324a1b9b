"""Ticket commands and single-ticket reads. Thin: schema -> application call -> response model."""

from __future__ import annotations

from typing import Annotated, Literal
from uuid import UUID

from fastapi import APIRouter, Query, Response, status

from api.deps import ChannelDep, CommandDep, DeskDep, PrincipalDep, ServicesDep, etag
from api.field_schemas import LocationIn
from api.problems import problem_responses
from api.read_schemas import Moment
from api.schemas import (
    AnyLinkKind,
    AssignmentRequest,
    CommentCreate,
    FieldChangePublic,
    HistoryEntry,
    LinkRequest,
    MergeRequest,
    RatingCreate,
    TicketCreate,
    TicketDiff,
    TicketHistory,
    TicketPatch,
    TicketPublic,
    TransferRequest,
    TransitionRequest,
)
from domain.actors import Actor, ActorKind
from domain.directory.geo import Place
from domain.errors import InvalidValueError, NotPermittedError
from domain.pipeline import KEEP, Keep, Receipt
from domain.values import Attachment
from infrastructure.audit.chain import ChainRow
from infrastructure.audit.log import AuditLog, AuditUnavailableError
from infrastructure.composition import Services

router = APIRouter(prefix="/tickets", tags=["tickets"])

POSITION_HEADER = "Ledgerdesk-Position"
VERSION_MAX = 2**63 - 1  # versions and positions are 64-bit in both databases
_COMMAND_ERRORS = problem_responses(401, 403, 404, 409, 412, 422)


def _answer(response: Response, receipt: Receipt, by: Actor) -> TicketPublic:
    """The ticket after a command, with its ETag and the log position of the command's last event."""
    response.headers["ETag"] = etag(receipt.version)
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return TicketPublic.from_domain(receipt.ticket, for_requester=by.kind is ActorKind.REQUESTER)


@router.post(
    "",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketPublic,
    responses=problem_responses(401, 403, 422),
)
def open_ticket(
    body: TicketCreate, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> TicketPublic:
    """Open a ticket, in the initial state of its workflow (and `group`'s queue); with `Location` and `ETag`.

    Through channel `chat`, a chat bot hands its conversation over with the ticket (`transcript`): its
    messages become the ticket's first comments, in order, in the same save (docs/field-service.md).
    """
    actor = principal.actor
    requester_id, organisation = body.requester_id, body.organisation
    if actor.kind is ActorKind.REQUESTER:
        if requester_id not in (None, actor.id):
            raise NotPermittedError("requesters can only open tickets for themselves")
        if organisation not in (None, actor.organisation):
            raise NotPermittedError("requesters open tickets for their own organisation only")
        requester_id, organisation = actor.id, actor.organisation
        if body.group is not None:
            raise NotPermittedError("requesters cannot choose the group of their ticket")
    if requester_id is None:
        raise InvalidValueError("requester_id is required when an agent opens a ticket")
    receipt = desk.open_ticket(
        tenant=principal.tenant,
        title=body.title,
        description=body.description,
        requester_id=requester_id,
        requester_name=body.requester_name,
        requester_email=body.requester_email,
        organisation=organisation,
        priority=body.priority.value,
        ticket_type=body.type,
        tags=body.tags,
        custom_fields={name: value.to_domain() for name, value in body.custom_fields.items()},
        group=body.group,
        parent_id=body.parent_id,
        transcript=[message.to_domain() for message in body.transcript],
        location=None if body.location is None else body.location.to_domain(),
        by=actor,
        via=body.channel or via,
    )
    response.headers["Location"] = f"/tickets/{receipt.ticket_id}"
    return _answer(response, receipt, actor)


@router.get("/{ticket_id}", response_model=TicketPublic, responses=problem_responses(401, 404, 422))
def get_ticket(
    ticket_id: UUID,
    desk: DeskDep,
    principal: PrincipalDep,
    response: Response,
    as_of: Annotated[
        Moment | None, Query(description="Show the ticket as it was at this moment (ISO-8601 with offset).")
    ] = None,
    version: Annotated[
        int | None, Query(ge=1, le=VERSION_MAX, description="Show the ticket as it was at this version.")
    ] = None,
) -> TicketPublic:
    """A ticket now, or as it was at a past moment (`as_of`) or version (`version`).

    Requesters see only their own tickets (and their organisation's, if their key names one),
    now, without internal notes.
    """
    if as_of is not None and version is not None:
        raise InvalidValueError("give either as_of or version, not both")
    tenant, requester = principal.tenant, principal.actor.kind is ActorKind.REQUESTER
    if requester and (as_of is not None or version is not None):
        raise NotPermittedError("requesters see their tickets as they are now")
    if as_of is not None:
        ticket = desk.ticket_as_of(ticket_id, as_of, tenant=tenant)
    elif version is not None:
        ticket = desk.ticket_at_version(ticket_id, version, tenant=tenant)
    else:
        actor = principal.actor
        ticket = desk.get_ticket(
            ticket_id, tenant=tenant, requester=actor.id if requester else None, organisation=actor.organisation
        )
    response.headers["ETag"] = etag(ticket.version)
    return TicketPublic.from_domain(ticket, for_requester=requester)


@router.get("/{ticket_id}/history", response_model=TicketHistory, responses=problem_responses(401, 404))
def get_history(ticket_id: UUID, services: ServicesDep, principal: PrincipalDep) -> TicketHistory:
    """Every change to the ticket, oldest first.

    Each entry: position in the log, version, who, when, through which channel, what changed
    old -> new, and the hash chain's digest at that position.
    """
    changes = services.desk.history(ticket_id, tenant=principal.tenant)
    chain = _chain_of(services, ticket_id)
    items = [
        HistoryEntry.from_domain(
            change,
            position=chain[change.version].position if change.version in chain else None,
            chain_hash=chain[change.version].chain_hash.hex() if change.version in chain else None,
        )
        for change in changes
    ]
    return TicketHistory(ticket_id=ticket_id, items=items)


def _chain_of(services: Services, ticket_id: UUID) -> dict[int, ChainRow]:
    try:
        return AuditLog(services.desk).chain_of(ticket_id)
    except AuditUnavailableError:  # events kept in memory carry no chain
        return {}


@router.get("/{ticket_id}/diff", response_model=TicketDiff, responses=problem_responses(401, 404, 422))
def get_diff(
    ticket_id: UUID,
    desk: DeskDep,
    principal: PrincipalDep,
    from_version: Annotated[int, Query(ge=1, le=VERSION_MAX, description="The earlier version.")],
    to_version: Annotated[int, Query(ge=1, le=VERSION_MAX, description="The later version.")],
) -> TicketDiff:
    """What differs between two versions of a ticket, field by field (old -> new)."""
    changes = desk.diff(ticket_id, from_version, to_version, tenant=principal.tenant)
    return TicketDiff(
        ticket_id=ticket_id,
        from_version=from_version,
        to_version=to_version,
        changes=[FieldChangePublic(field=c.field, old=c.old, new=c.new) for c in changes],
    )


@router.post("/{ticket_id}/assignment", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def assign(ticket_id: UUID, body: AssignmentRequest, call: CommandDep, response: Response) -> TicketPublic:
    """Assign or reassign to an agent and/or a group. Assigning what is already assigned records nothing."""
    receipt = call.desk.assign(ticket_id, assignee=body.assignee, group=body.group, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.delete("/{ticket_id}/assignment", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def unassign(ticket_id: UUID, call: CommandDep, response: Response) -> TicketPublic:
    """Take the ticket away from its agent; it stays in its group's queue."""
    return _answer(response, call.desk.unassign(ticket_id, **call.provenance), call.provenance["by"])


@router.post("/{ticket_id}/claim", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def claim(ticket_id: UUID, call: CommandDep, response: Response) -> TicketPublic:
    """Take an unassigned ticket (抢单): the first agent to claim it has it.

    A ticket someone has already is 409 `already-claimed` naming them (`assignee`), also for the
    second of two claims at the same moment. Claiming a ticket one has already changes nothing.
    """
    # Of two claims at once the store takes one; the other is carried out again and finds the winner.
    receipt = call.desk.claim(ticket_id, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.post("/{ticket_id}/check-in", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def check_in(ticket_id: UUID, body: LocationIn, call: CommandDep, response: Response) -> TicketPublic:
    """The calling agent arrives on site (上门服务), at this moment and `body`'s position: a visit begins.

    One visit at a time: 409 while someone is checked in. The position is the agent's personal data.
    The ticket's `on_site` adds the visits up (time to arrive, time on site; docs/field-service.md).
    """
    receipt = call.desk.check_in(ticket_id, body.to_domain(), **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.post("/{ticket_id}/check-out", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def check_out(ticket_id: UUID, body: LocationIn, call: CommandDep, response: Response) -> TicketPublic:
    """The calling agent, checked in, leaves the site, at this moment and `body`'s position: their visit ends."""
    receipt = call.desk.check_out(ticket_id, body.to_domain(), **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.post("/{ticket_id}/transfer", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def transfer(ticket_id: UUID, body: TransferRequest, call: CommandDep, response: Response) -> TicketPublic:
    """Hand the ticket on (转派) to an agent and/or a group; the reason is kept beside it as an internal note."""
    receipt = call.desk.transfer(
        ticket_id, assignee=body.assignee, group=body.group, reason=body.reason, **call.provenance
    )
    return _answer(response, receipt, call.provenance["by"])


@router.post("/{ticket_id}/links", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def link_tickets(ticket_id: UUID, body: LinkRequest, call: CommandDep, response: Response) -> TicketPublic:
    """Link the ticket to another (both record it, each from its side, in one save); the caller must reach both."""
    receipt = call.desk.link_tickets(ticket_id, body.ticket_id, body.type, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.post("/{ticket_id}/merge", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def merge_tickets(ticket_id: UUID, body: MergeRequest, call: CommandDep, response: Response) -> TicketPublic:
    """Merge the ticket into another (`into`); both are saved together. The answer is this ticket, closed.

    This ticket moves to the first closed state of its workflow, from whatever state it is in,
    and says where it went (`merged_into`); the other lists it in `merged_sources` and takes a
    copy of each of its comments, numbered after its own, each keeping its author, kind,
    attachments and `created_at`, and naming in `origin` the ticket, number and channel it was
    first written with. Merging into itself, or into a ticket the caller cannot reach (another
    tenant's is as absent as a missing one), is 422; merging a closed ticket (one merged
    already) or into a closed one is 409 `ticket-closed`. None of these stores anything.
    """
    receipt = call.desk.merge_tickets(ticket_id, body.into, reason=body.reason, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.delete("/{ticket_id}/links/{link_type}/{other_id}", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def unlink_tickets(
    ticket_id: UUID, link_type: AnyLinkKind, other_id: UUID, call: CommandDep, response: Response
) -> TicketPublic:
    """Remove a link from both tickets (the removal is recorded on each)."""
    receipt = call.desk.unlink_tickets(ticket_id, other_id, link_type, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.post("/{ticket_id}/transitions", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def transition(ticket_id: UUID, body: TransitionRequest, call: CommandDep, response: Response) -> TicketPublic:
    """Move the ticket through its workflow.

    A move the workflow does not define is 409 naming the allowed targets (`allowed`); one the
    caller's role may not make, 403; one whose required custom fields are not set (on the ticket
    or in `fields`), 422 naming them (`missing`). None of these stores anything.
    """
    fields = {k: v.to_domain() for k, v in body.fields.items()}
    receipt = call.desk.transition(ticket_id, body.to, fields=fields, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])


@router.post(
    "/{ticket_id}/comments",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketPublic,
    responses=_COMMAND_ERRORS,
)
def add_comment(ticket_id: UUID, body: CommentCreate, call: CommandDep, response: Response) -> TicketPublic:
    """Add a public reply or an internal note; @mentions in the body are recorded as a list."""
    attachments = [Attachment(a.name, a.size, a.content_type) for a in body.attachments]
    receipt = call.desk.add_comment(
        ticket_id, body.body, public=body.public, attachments=attachments, **call.provenance
    )
    return _answer(response, receipt, call.provenance["by"])


@router.patch("/{ticket_id}", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def update_ticket(ticket_id: UUID, body: TicketPatch, call: CommandDep, response: Response) -> TicketPublic:
    """Change title, description, priority, type, tags, custom fields and location; stored together or not at all.

    Each change records its own event, old -> new (`TitleChanged`, `DescriptionChanged`, ...).
    """
    if not body.model_fields_set:
        raise InvalidValueError(
            "the patch changes nothing; give title, description, priority, type, add_tags, remove_tags, "
            "custom_fields or location"
        )
    receipt = call.desk.update_ticket(
        ticket_id,
        title=body.title,
        description=body.description,
        priority=None if body.priority is None else body.priority.value,
        ticket_type=body.type if "type" in body.model_fields_set else KEEP,
        add_tags=body.add_tags,
        remove_tags=body.remove_tags,
        custom_fields={k: None if v is None else v.to_domain() for k, v in body.custom_fields.items()},
        location=_location_change(body),
        **call.provenance,
    )
    return _answer(response, receipt, call.provenance["by"])


def _location_change(body: TicketPatch) -> Place | Literal[Keep.KEEP] | None:
    if "location" not in body.model_fields_set:
        return KEEP
    return None if body.location is None else body.location.to_domain()


@router.post("/{ticket_id}/rating", response_model=TicketPublic, responses=_COMMAND_ERRORS)
def rate_ticket(ticket_id: UUID, body: RatingCreate, call: CommandDep, response: Response) -> TicketPublic:
    """The requester rates a solved ticket (good/bad or 1-5, with an optional comment); rating again changes it."""
    receipt = call.desk.rate(ticket_id, body.rating, body.comment, **call.provenance)
    return _answer(response, receipt, call.provenance["by"])
