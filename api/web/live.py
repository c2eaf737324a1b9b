"""Live updates of an open ticket page: server-sent events fed by the event log's positions.

`GET /t/{id}/live` is an event stream (htmx's SSE extension listens to it). It holds no thread:
each open page is a future on the event loop, waiting (infrastructure/readmodels/waiting.py) for
the read models to apply a position past the last one it saw; one shared poller thread per
process reads that position, every LIVE_STEP_SECONDS while any page is open, instead of each page
asking the database. When the ticket's row in the `tickets` read model shows a newer version, the
stream sends `changed`, and the page fetches its regions again (the same route a reload would
use). Who may open the stream is the access policy's, checked when it opens and at every change:
a ticket moved out of the visitor's reach ends the stream.

A stream ends after STREAM_SECONDS (so a server that stops waits no longer than that for open
pages) and the browser opens it again, sending the last version it was told of (`Last-Event-ID`;
the page's own version, `?version=`, the first time): a change made in between is sent at once.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from uuid import UUID

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.web.pages import render
from api.web.ticket_view import readable
from api.web.visitors import SignedInDep, VisitorDep
from domain.access import policy as access
from infrastructure.composition import Services
from infrastructure.keys import Principal
from infrastructure.readmodels.waiting import PositionWaiter, TooManyWaitsError

router = APIRouter(include_in_schema=False)

#: How often the shared poller reads the read models' position while pages are open.
LIVE_STEP_SECONDS = 0.25
#: A comment line this often keeps proxies from closing a quiet stream.
KEEP_ALIVE_SECONDS = 15.0
#: A stream ends after this long; the browser opens a new one (and the session is checked again).
STREAM_SECONDS = 60.0
#: Open pages one user may have at once per process; beyond it a page is told to retry later.
PAGES_PER_USER = 32
RETRY_MILLISECONDS = 3000


def live_waiter(request: Request) -> PositionWaiter:
    """The process's one waiter on the read models' position, shared by every open page."""
    waiter: PositionWaiter = request.app.state.live_waiter
    return waiter


@router.get("/t/{ticket_id}/live")
async def live(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    version: int | None = None,
) -> Response:
    """`changed` each time the ticket changes, for as long as the page is open (and the visitor reaches it)."""
    if not access.may(principal.role, "get_ticket"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    ticket = await run_in_threadpool(readable, services, principal, ticket_id)
    if ticket is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    position = await run_in_threadpool(services.read_models.position)
    seen = _last_seen(request.headers.get("last-event-id"), version)
    stream = changes(
        live_waiter(request), services, principal, ticket_id, seen=seen, version=ticket.version, position=position
    )
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(stream, media_type="text/event-stream", headers=headers)


def _last_seen(last_event_id: str | None, version: int | None) -> int | None:
    """The version the page last showed: the stream's last event id, else the page's own; None if neither."""
    if last_event_id is not None and last_event_id.isdigit():
        return int(last_event_id)
    return version


async def changes(
    waiter: PositionWaiter,
    services: Services,
    principal: Principal,
    ticket_id: UUID,
    *,
    seen: int | None,
    version: int,
    position: int,
) -> AsyncIterator[str]:
    """The event stream of one open page: `changed` (with the new version) whenever the ticket moves on.

    `seen` is the version the page shows, `version` the ticket's now: when they differ, the page missed a change.
    """
    yield f"retry: {RETRY_MILLISECONDS}\n: open\n\n"
    if seen is not None and seen != version:
        yield f"id: {version}\nevent: changed\ndata: {version}\n\n"
    ends = time.monotonic() + STREAM_SECONDS
    caller = f"live:{principal.key_id}"
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
        row = await run_in_threadpool(services.read_models.tickets().get_ticket, principal.tenant, ticket_id)
        if row is None or not access.reaches(principal.actor, row, tenant=principal.tenant):
            yield "event: changed\ndata: gone\n\n"
            return
        if row.version > version:  # the row may trail the ticket read at the start, never lead it
            version = row.version
            yield f"id: {version}\nevent: changed\ndata: {version}\n\n"


def install_live(app: FastAPI) -> None:
    """Serve the live streams, with the process's one poller of the read models' position."""

    def position() -> int:
        services: Services = app.state.services
        return services.read_models.position()

    app.state.live_waiter = PositionWaiter(position, per_caller=PAGES_PER_USER, step_seconds=LIVE_STEP_SECONDS)
    app.include_router(router)
