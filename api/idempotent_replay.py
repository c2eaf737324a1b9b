"""The first response to a keyed POST, rebuilt from what its command stored.

Used when the command's events were stored but its response was never kept (the process died
in between) or was forgotten by an erasure. The ticket commands answer with the ticket as it
was right after the command, so rendering the stored ticket at that version, with the route's
status and the same headers, gives the same response (or, after an erasure, the same one with
the person's data shown as erased). Other commands' responses cannot be rebuilt this way.
"""

from __future__ import annotations

from uuid import UUID

from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from api.deps import etag
from api.routers import tickets
from api.routers.tickets import POSITION_HEADER
from api.schemas import TicketPublic
from domain.actors import ActorKind
from domain.errors import DomainError
from infrastructure.composition import Services
from infrastructure.idempotency import StoredCommand, StoredResponse
from infrastructure.keys import Principal


def rebuilt(
    scope: Scope, services: Services, principal: Principal, command: StoredCommand, kept: StoredResponse | None
) -> StoredResponse | None:
    """The response again, from the ticket at the stored version; None if the route does not answer a ticket."""
    route = _route(scope)
    if route is None or route.response_model is not TicketPublic:
        return None
    try:
        ticket = services.desk.ticket_at_version(UUID(command.aggregate_id), command.version, tenant=principal.tenant)
    except (DomainError, ValueError):  # not a ticket after all
        return None
    model = TicketPublic.from_domain(ticket, for_requester=principal.actor.kind is ActorKind.REQUESTER)
    body = bytes(JSONResponse(model.model_dump(mode="json", by_alias=True)).body)
    if kept is not None:  # the response was kept, then its body forgotten: the rest is as it was
        return StoredResponse(kept.status, kept.headers, body)
    return StoredResponse(route.status_code or 200, _headers(route, command), body)


def _headers(route: APIRoute, command: StoredCommand) -> dict[str, str]:
    """The headers a ticket command answers with (`_answer` and `open_ticket` in api/routers/tickets.py)."""
    headers = {
        "content-type": "application/json",
        "etag": etag(command.version),
        POSITION_HEADER.lower(): str(command.position),
    }
    if route.name == "open_ticket":
        headers["location"] = f"/tickets/{command.aggregate_id}"
    return headers


def _route(scope: Scope) -> APIRoute | None:
    """The ticket command route that serves this request, if it is one."""
    for route in tickets.router.routes:
        if isinstance(route, APIRoute) and route.matches(scope)[0] is Match.FULL:
            return route
    return None
