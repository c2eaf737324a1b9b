"""The live queue board of a group `/board/{group}`: its open tickets by state and SLA risk, kept current over SSE.

It reads what `GET /queues/groups/{group}` reads (the `tickets` read model, through the same
filter and SLA-due order as the queue page), so who may see it is that route's: the roles that
may take `group_queue`, and of a user limited to groups, only their groups' boards. The counts
come from the ticket list's queries (`counts_by`, `sla_risk_counts`), never from the rows shown.

`GET /board/{group}/live` is an event stream like a ticket page's (api/web/live.py): the process's
one poller of the read models' position wakes it, and it sends `changed` when the board's
figures moved, so the page fetches its region again (`?part=board`). SLA risk also changes with
time alone, so the page fetches it every minute besides.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.web.live import KEEP_ALIVE_SECONDS, RETRY_MILLISECONDS, STREAM_SECONDS, live_waiter
from api.web.pages import render, wants_fragment
from api.web.queue_page import QueueRow, countdown
from api.web.visitors import SignedInDep, VisitorDep
from domain.access import policy as access
from domain.actors import identifier
from domain.errors import InvalidValueError
from infrastructure.composition import Services
from infrastructure.keys import Principal
from infrastructure.readmodels.waiting import TooManyWaitsError
from projections.tickets.queries import Sort, TicketFilter
from projections.tickets.rows import UNSOLVED

router = APIRouter(include_in_schema=False)

#: How many of the group's tickets the board lists, earliest SLA due first.
BOARD_SIZE = 50


@dataclass(frozen=True, slots=True)
class Board:
    """A group's open tickets as the board shows them."""

    group: str
    by_state: dict[str, int]  # every unsolved state, in workflow order, zero or not
    at_risk: int
    breached: int
    rows: list[QueueRow]
    more: bool
    read_at: datetime

    @property
    def open(self) -> int:
        """Unsolved tickets of the group."""
        return sum(self.by_state.values())

    def figures(self) -> tuple[object, ...]:
        """What the live stream compares to tell a change worth showing: the counts, the listed tickets' versions."""
        listed = tuple((item.ticket.ticket_id, item.ticket.version) for item in self.rows)
        return (tuple(self.by_state.items()), self.at_risk, self.breached, listed)


def may_see(principal: Principal, group: str) -> bool:
    """Whether the principal may read this group's queue."""
    return access.may(principal.role, "group_queue") and access.may_route_to(principal.actor, group)


def read_board(services: Services, principal: Principal, group: str, language: str) -> Board:
    """The group's unsolved tickets: counted by state and SLA risk, and the most urgent listed."""
    now = services.desk.clock()
    where = TicketFilter(
        tenant=principal.tenant, categories=UNSOLVED, group=group, scope=access.list_scope(principal.actor)
    )
    tickets = services.read_models.tickets()
    counted = tickets.counts_by(where, "status")
    by_state = {state: counted.pop(state, 0) for state in UNSOLVED}
    by_state.update(sorted((str(state), n) for state, n in counted.items()))  # a custom workflow's own states
    at_risk, breached = tickets.sla_risk_counts(now, where)
    page = tickets.list_tickets(where, sort=Sort.SLA_DUE, limit=BOARD_SIZE)
    rows = [countdown(row, now, language) for row in page.rows]
    return Board(group, by_state, at_risk, breached, rows, page.next_cursor is not None, now)


def _group(name: str) -> str | None:
    try:
        return identifier(name, "group")
    except InvalidValueError:
        return None


@router.get("/board/{group}", response_class=HTMLResponse)
async def board_page(
    request: Request, group: str, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The board (or, to htmx, its region alone)."""
    chosen = _group(group)
    if chosen is None or not may_see(principal, chosen):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    position = await run_in_threadpool(services.read_models.position)  # before the board: a later change is sent
    board = await run_in_threadpool(read_board, services, principal, chosen, visitor.language)
    template = "_board.html" if wants_fragment(request) or request.query_params.get("part") == "board" else "board.html"
    return render(request, visitor, template, board=board, position=position)


@router.get("/board/{group}/live")
async def board_live(
    request: Request,
    group: str,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    position: int | None = None,
) -> Response:
    """`changed` each time the group's board changes, for as long as the page is open.

    `position` is the read models' position the page was drawn at (then the stream's last event id):
    if they moved on since, the stream says `changed` at once, so nothing done meanwhile is missed.
    """
    chosen = _group(group)
    if chosen is None or not may_see(principal, chosen):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    last_event_id = request.headers.get("last-event-id", "")
    seen = int(last_event_id) if last_event_id.isdigit() else position
    stream = board_changes(request, services, principal, chosen, visitor.language, seen)
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


async def board_changes(
    request: Request, services: Services, principal: Principal, group: str, language: str, seen: int | None
) -> AsyncIterator[str]:
    """One open board's event stream: `changed` whenever the read models moved and the board's figures with them."""
    waiter = live_waiter(request)
    position = await run_in_threadpool(services.read_models.position)
    figures = (await run_in_threadpool(read_board, services, principal, group, language)).figures()
    yield f"retry: {RETRY_MILLISECONDS}\n: open\n\n"
    if seen is not None and seen < position:
        yield f"id: {position}\nevent: changed\ndata: {position}\n\n"
    ends = time.monotonic() + STREAM_SECONDS
    caller = f"board:{principal.key_id}"
    while time.monotonic() < ends:
        try:
            reached = await waiter.wait(position + 1, KEEP_ALIVE_SECONDS, caller=caller)
        except TooManyWaitsError:
            yield f"retry: {RETRY_MILLISECONDS * 10}\n\n"
            return
        if reached is None:
            yield ": still here\n\n"
            continue
        position = reached
        now = (await run_in_threadpool(read_board, services, principal, group, language)).figures()
        if now != figures:
            figures = now
            yield f"id: {position}\nevent: changed\ndata: {position}\n\n"
