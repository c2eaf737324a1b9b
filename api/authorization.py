"""The access policy (domain/access/policy.py) enforced for every route, before its endpoint runs.

Each route is named by its endpoint function, the policy's action. A route the policy does not
list is refused to everyone. Which tickets a caller reaches is the policy's too: here for routes
of one ticket and keys limited to groups, in the application for commands, in the queries for lists.
"""

from __future__ import annotations

from uuid import UUID

from fastapi import Request
from starlette.concurrency import run_in_threadpool

from api.deps import PrincipalDep
from api.problems import ProblemError
from domain.access import policy
from domain.errors import TicketNotFoundError
from infrastructure.keys import Principal


def allowed(route_name: str, principal: Principal) -> bool:
    """Whether the principal's role may call the route."""
    return policy.may(principal.role, route_name)


async def authorize(request: Request, principal: PrincipalDep) -> Principal:
    """Refuse (403) a caller whose role the matrix does not admit to this route.

    It runs on the event loop, as a plain `def` would not (FastAPI would send every request of every
    route through the thread pool for it); only the check of a group-limited key, which may load a
    ticket, goes to the pool.
    """
    route = request.scope.get("route")
    name = getattr(route, "name", "")
    if not allowed(name, principal):
        who = principal.role.value
        raise ProblemError(403, "forbidden", f"the role {who} may not use {request.method} {request.url.path}")
    if principal.actor.groups is not None:
        await run_in_threadpool(_within_groups, request, name, principal)
    return principal


def _within_groups(request: Request, route_name: str, principal: Principal) -> None:
    """A key limited to groups reaches its groups' tickets and unrouted ones; another group's is not found."""
    if policy.reads_whole_tenant(route_name):
        raise ProblemError(403, "forbidden", "a key limited to groups cannot read across the whole tenant")
    ticket_id = request.path_params.get("ticket_id")
    if ticket_id is None:
        return
    desk = request.app.state.services.desk
    try:
        ticket = desk.get_ticket(UUID(str(ticket_id)), tenant=principal.tenant)
    except (ValueError, TicketNotFoundError):
        return  # the route answers for a malformed or unknown id itself
    if not policy.reaches(principal.actor, ticket, tenant=principal.tenant):
        raise ProblemError(404, "not-found", f"no ticket {ticket_id}")
