"""What the ticket page shows, read as the REST API reads it: the ticket, its moves, SLA targets, macros, history.

Nothing here decides who may see or do what: the ticket is read as `GET /tickets/{id}` reads it and
the access policy's `reaches` (domain/access/policy.py) says whether the visitor gets it at all;
which buttons appear is the policy's `may` for the action each calls, and the moves are the
workflow's (`Ticket.moves_for`), as `GET /tickets/{id}/transitions` lists them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from uuid import UUID

from api.schemas import HistoryEntry, TicketPublic
from api.sla_schemas import TargetOut
from domain.access import policy as access
from domain.actors import ActorKind
from domain.errors import TicketNotFoundError
from domain.mail.threads import short_ref
from domain.tickets.links import LINKABLE, UNLINKABLE, LinkType
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from infrastructure.composition import Services
from infrastructure.keys import Principal


@dataclass(frozen=True, slots=True)
class MoveChoice:
    """A workflow move the visitor may make now: the target state and what it counts as."""

    to: str
    category: str


@dataclass(frozen=True, slots=True)
class MacroChoice:
    """A macro of the tenant an agent may apply."""

    name: str
    title: str


@dataclass(frozen=True, slots=True)
class Actions:
    """The commands the visitor's role may call on this ticket now (each the REST API's route of that name)."""

    reply: bool = False
    note: bool = False
    claim: bool = False
    assign: bool = False
    transfer: bool = False
    rate: bool = False
    link: bool = False
    unlink: bool = False
    merge: bool = False
    moves: list[MoveChoice] = field(default_factory=list)
    macros: list[MacroChoice] = field(default_factory=list)
    agents: list[str] = field(default_factory=list)  # the directory's, offered as suggestions
    groups: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class Related:
    """Another ticket as this one's page names it: its short ref, and its title where the visitor reaches it."""

    id: UUID
    ref: str
    title: str | None  # None: a ticket the visitor does not reach (no link to its page)


@dataclass(frozen=True, slots=True)
class LinkShown:
    """One link of the ticket, from its side: the kind, the other ticket, and whether it may be removed by hand."""

    type: str
    other: Related
    removable: bool


@dataclass(frozen=True, slots=True)
class Relations:
    """How other tickets relate to this one: links, parent, children, and merges either way."""

    links: list[LinkShown] = field(default_factory=list)  # neither parent nor child
    parent: Related | None = None
    children: list[Related] = field(default_factory=list)
    merged_into: Related | None = None
    merged_in: list[Related] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.links or self.parent or self.children or self.merged_into or self.merged_in)


#: The kinds the link form offers, in its order (the inverse kinds follow on the other ticket).
LINK_KINDS = tuple(kind.value for kind in LINKABLE)


@dataclass(frozen=True, slots=True)
class TicketView:
    """The ticket page's content for one visitor."""

    ticket: TicketPublic
    staff: bool
    actions: Actions
    sla: list[TargetOut]
    history: bool  # whether the visitor may read the history tab
    relations: Relations = field(default_factory=Relations)


def readable(services: Services, principal: Principal, ticket_id: UUID) -> Ticket | None:
    """The ticket as `GET /tickets/{id}` reads it for this principal; None where the API says 404."""
    actor = principal.actor
    requester = actor.kind is ActorKind.REQUESTER
    try:
        ticket = services.desk.get_ticket(
            ticket_id,
            tenant=principal.tenant,
            requester=actor.id if requester else None,
            organisation=actor.organisation,
        )
    except TicketNotFoundError:
        return None
    return ticket if access.reaches(actor, ticket, tenant=principal.tenant) else None


def ticket_view(services: Services, principal: Principal, ticket_id: UUID) -> TicketView | None:
    """Everything the ticket page shows this principal; None where the API says 404."""
    ticket = readable(services, principal, ticket_id)
    if ticket is None:
        return None
    staff = principal.actor.kind is not ActorKind.REQUESTER
    return TicketView(
        ticket=TicketPublic.from_domain(ticket, for_requester=not staff),
        staff=staff,
        actions=_actions(services, principal, ticket),
        sla=_sla(services, principal, ticket) if access.may(principal.role, "ticket_sla") else [],
        history=access.may(principal.role, "get_history"),
        relations=_relations(services, principal, ticket) if staff else Relations(),
    )


def _related(services: Services, principal: Principal, other_id: UUID) -> Related:
    other = readable(services, principal, other_id)
    return Related(other_id, short_ref(other_id), None if other is None else other.title)


def _relations(services: Services, principal: Principal, ticket: Ticket) -> Relations:
    """The ticket's links and merges, each other ticket read as the visitor reads it (its title only if reached)."""

    def related(other_id: str) -> Related:
        return _related(services, principal, UUID(other_id))

    family = (LinkType.CHILD_OF, LinkType.PARENT_OF)
    return Relations(
        links=[
            LinkShown(k.type.value, related(k.ticket_id), k.type in UNLINKABLE)
            for k in ticket.links
            if k.type not in family
        ],
        parent=None if ticket.parent() is None else related(str(ticket.parent())),
        children=[related(str(child)) for child in ticket.children()],
        merged_into=None if ticket.merged_into is None else related(ticket.merged_into),
        merged_in=[related(source) for source in ticket.merged_sources],
    )


def _actions(services: Services, principal: Principal, ticket: Ticket) -> Actions:
    role, actor, desk = principal.role, principal.actor, services.desk
    if not access.may_change(actor, ticket):
        return Actions()
    closed = ticket.category is Status.CLOSED
    moves: list[MoveChoice] = []
    if access.may(role, "transition"):
        lifecycle = desk.lifecycle_of(ticket)
        moves = [
            MoveChoice(m.target, lifecycle.category_of(m.target).value) for m in ticket.moves_for(actor, lifecycle)
        ]
    macros: list[MacroChoice] = []
    if access.may(role, "apply_macro") and access.may(role, "list_macros") and not closed:
        book = desk.rule_book(principal.tenant)
        shown = [] if book is None else sorted(book.macros.items())
        macros = [MacroChoice(name, str(entry.get("title") or name)) for name, entry in shown]
    directory = desk.directory(principal.tenant) if access.may(role, "assign") else None
    staff = actor.kind is not ActorKind.REQUESTER
    return Actions(
        reply=access.may(role, "add_comment") and not closed,
        note=staff and access.may(role, "add_comment") and not closed,
        claim=actor.kind is ActorKind.AGENT and access.may(role, "claim") and ticket.assignee is None and not closed,
        assign=access.may(role, "assign") and not closed,
        transfer=access.may(role, "transfer") and not closed,
        rate=access.may(role, "rate_ticket") and ticket.category is Status.SOLVED,
        link=staff and access.may(role, "link_tickets"),
        unlink=staff and access.may(role, "unlink_tickets"),
        merge=staff and access.may(role, "merge_tickets") and not closed,
        moves=moves,
        macros=macros,
        agents=[] if directory is None else sorted(directory.agents),
        groups=[] if directory is None else sorted(directory.groups),
    )


def _sla(services: Services, principal: Principal, ticket: Ticket) -> list[TargetOut]:
    """The SLA targets as `GET /tickets/{id}/sla` shows the stored ones, judged now."""
    now = services.desk.clock()
    rows = services.read_models.sla().targets(principal.tenant, ticket.id)
    return [TargetOut.judged(row, now) for row in rows]


def history_view(services: Services, principal: Principal, ticket_id: UUID) -> TicketView | None:
    """What the history tab shows beside the events (the ticket's title, the tabs); None where the API says 404."""
    ticket = readable(services, principal, ticket_id)
    if ticket is None:
        return None
    shown = TicketPublic.from_domain(ticket, for_requester=principal.actor.kind is ActorKind.REQUESTER)
    return TicketView(ticket=shown, staff=True, actions=Actions(), sla=[], history=True)


def history(services: Services, principal: Principal, ticket_id: UUID) -> list[HistoryEntry]:
    """Every change to a ticket the principal reaches (`ticket_view` found), as `GET /tickets/{id}/history` has it."""
    changes = services.desk.history(ticket_id, tenant=principal.tenant)
    return [HistoryEntry.from_domain(change) for change in changes]


def shown_value(value: Any) -> str:
    """A field's old or new value as the history shows it: text as it is, anything else as compact JSON."""
    if value is None:
        return "—"
    if isinstance(value, str):
        return value
    if isinstance(value, datetime):
        return value.isoformat()
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)
