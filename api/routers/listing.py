"""Ticket lists and queues, read from the `tickets` read model (never from rehydrated tickets).

The endpoints are `async def` and run their database work in one thread-pool call. A plain `def`
endpoint would cost the request a second hop to the pool, because FastAPI then also validates the
response model there; these are the pages agents poll all day, so the hop is worth saving.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Annotated

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from api.deps import ViewRead, ViewReadDep
from api.plain_text import Identifier
from api.problems import problem_responses
from api.read_schemas import (
    QueueQuery,
    TicketFilters,
    TicketListQuery,
    TicketPage,
    TicketSummary,
    UnassignedQueueQuery,
)
from domain import values
from domain.access import policy as access
from domain.actors import identifier
from domain.tickets import field_search
from projections.tickets.queries import UNASSIGNED, Page, TicketFilter, Unassigned
from projections.tickets.rows import UNSOLVED

router = APIRouter(tags=["lists and queues"])
_READ_ERRORS = problem_responses(401, 422)


def _filter(
    tenant: str,
    filters: TicketFilters,
    *,
    default_categories: tuple[str, ...] = (),
    group: str | None = None,
    assignee: str | Unassigned | None = None,
) -> TicketFilter:
    return TicketFilter(
        tenant=tenant,
        statuses=tuple(values.slug(s, "status") for s in filters.status),
        categories=tuple(c.value for c in filters.status_category) or (() if filters.status else default_categories),
        priorities=tuple(p.value for p in filters.priority),
        types=tuple(values.slug(t, "type") for t in filters.type),
        tags=tuple(values.slug(t, "tag") for t in filters.tag),
        requester_id=filters.requester_id,
        organisation=filters.organisation,
        channel=filters.channel,
        sla=filters.sla,
        group=group,
        assignee=assignee,
        text=filters.q,
    )


def _page(request: Request, page: Page, view_position: int) -> TicketPage:
    next_url = None
    if page.next_cursor is not None:
        next_url = str(request.url.include_query_params(after=page.next_cursor))
    return TicketPage(
        items=[TicketSummary.from_row(row) for row in page.rows],
        next_cursor=page.next_cursor,
        next=next_url,
        view_position=view_position,
    )


async def _read(read: ViewRead, request: Request, query: QueueQuery, where: TicketFilter) -> TicketPage:
    """The page `where` selects; its database work in one thread-pool call (see the module docstring)."""
    return await run_in_threadpool(_read_page, read, request, query, where)


def _read_page(read: ViewRead, request: Request, query: QueueQuery, where: TicketFilter) -> TicketPage:
    filters = field_search.searched(query.model_dump(include=set(field_search.PARAMETERS)))
    if filters:  # read against the tenant's field definitions (their kinds, options, which are personal)
        where = replace(where, fields=read.services.desk.field_conditions(read.principal.tenant, filters))
    if where.sla is not None:  # judged at the service's clock
        where = replace(where, now=read.services.desk.clock())
    # The part of the tenant this caller's lists may show: the access policy's (domain/access/policy.py).
    where = replace(where, scope=access.list_scope(read.principal.actor))
    # The page and the position it was read at come in one statement (one round trip, one snapshot).
    page, read_at = read.read_models.ticket_page(where, sort=query.sort, limit=query.limit, after=query.after)
    position = read.read_at(read_at)
    if page.next_cursor is not None:
        read.response.headers["Link"] = f'<{request.url.include_query_params(after=page.next_cursor)}>; rel="next"'
    return _page(request, page, position)


@router.get("/tickets", response_model=TicketPage, responses=_READ_ERRORS)
async def list_tickets(query: Annotated[TicketListQuery, Query()], read: ViewReadDep, request: Request) -> TicketPage:
    """Search the tenant's tickets with filters; newest first unless `sort` says otherwise. Cursor-paginated.

    Custom fields are searched with `field=name:value` (and `field_gte`, `field_lte` for number and
    date fields); the queues take the same filters.
    """
    assignee: str | Unassigned | None = UNASSIGNED if query.unassigned else query.assignee
    where = _filter(read.principal.tenant, query, group=query.group, assignee=assignee)
    return await _read(read, request, query, where)


@router.get("/queues/groups/{group}", response_model=TicketPage, responses=_READ_ERRORS)
async def group_queue(
    group: Identifier, query: Annotated[QueueQuery, Query()], read: ViewReadDep, request: Request
) -> TicketPage:
    """A group's unsolved tickets (assigned or not), most urgent first."""
    where = _filter(read.principal.tenant, query, default_categories=UNSOLVED, group=identifier(group, "group"))
    return await _read(read, request, query, where)


@router.get("/queues/assignees/{agent}", response_model=TicketPage, responses=_READ_ERRORS)
async def agent_queue(
    agent: Identifier, query: Annotated[QueueQuery, Query()], read: ViewReadDep, request: Request
) -> TicketPage:
    """An agent's unsolved tickets, most urgent first."""
    where = _filter(read.principal.tenant, query, default_categories=UNSOLVED, assignee=identifier(agent, "agent"))
    return await _read(read, request, query, where)


@router.get("/queues/unassigned", response_model=TicketPage, responses=_READ_ERRORS)
async def unassigned_queue(
    query: Annotated[UnassignedQueueQuery, Query()], read: ViewReadDep, request: Request
) -> TicketPage:
    """Unsolved tickets nobody is assigned to, most urgent first (optionally of one group)."""
    where = _filter(read.principal.tenant, query, default_categories=UNSOLVED, group=query.group, assignee=UNASSIGNED)
    return await _read(read, request, query, where)
