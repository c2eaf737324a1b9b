"""Who may call what: the authorization matrix, enforced in this one place for every route.

Each route is named by its endpoint function. A route missing from the matrix is refused to
everyone, so a new endpoint is closed until someone decides who may use it. Tenant scoping is
separate and applies to everyone: a caller sees only its own tenant's data (see docs/security.md).
"""

from __future__ import annotations

from uuid import UUID

from fastapi import Request

from api.deps import PrincipalDep
from api.problems import ProblemError
from domain.errors import TicketNotFoundError
from infrastructure.keys import Principal, Role

C, A, S, U, N, D = Role.CUSTOMER, Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ANALYST, Role.ADMIN
STAFF = frozenset({A, S, D})
READERS = frozenset({A, S, U, N, D})
REPORTERS = frozenset({S, N, D})

MATRIX: dict[str, frozenset[Role]] = {
    # Ticket commands.
    "open_ticket": frozenset({C, A, S, D}),
    "assign": STAFF,
    "unassign": STAFF,
    "transition": frozenset({C, A, S, D}),  # requesters may only reopen (a domain rule)
    "add_comment": frozenset({C, A, S, D}),  # requesters write public replies only (a domain rule)
    "rate_ticket": frozenset({C}),
    "update_ticket": STAFF,
    # Reads of one ticket.
    "get_ticket": READERS | {C},  # requesters: their own tickets, without internal notes
    "get_history": READERS,
    "get_diff": READERS,
    # Read models.
    "list_tickets": READERS | {C},  # requesters: their own tickets only
    "group_queue": frozenset({A, S, N, D}),
    "agent_queue": frozenset({A, S, N, D}),
    "unassigned_queue": frozenset({A, S, N, D}),
    "list_views": frozenset({A, S, N, D}),
    "save_view": STAFF,
    "workload": frozenset({A, S, N, D}),
    "feed": READERS,
    # Auditing.
    "verify": frozenset({U, D}),
    "export": frozenset({U, D}),
    "past_queue": frozenset({U, D}),
    "actor_report": frozenset({U, D}),
    "organisation_report": frozenset({U, D}),
    "period_report": frozenset({U, D}),
    "privileged_report": frozenset({U, D}),
    # Service metrics: for managing the service (not agents: per-agent figures; not auditors: not the record).
    "volume_report": REPORTERS,
    "response_time_report": REPORTERS,
    "sla_compliance_report": REPORTERS,
    "backlog_report": REPORTERS,
    "reopen_report": REPORTERS,
    "agent_report": REPORTERS,
    "csat_report": REPORTERS,
    # Privacy.
    "erase_person": frozenset({D}),
    # The projection's dead-letter list of the tenant: what the read models could not apply, and its retry.
    "list_parked": frozenset({D}),
    "retry_parked": frozenset({D}),
    # Custom-field definitions: admins define (whether a field is personal is a privacy decision); staff read.
    "put_field": frozenset({D}),
    "list_fields": READERS,
    "get_field": READERS,
    # SLA: admins configure; everyone but customers reads.
    "put_calendar": frozenset({D}),
    "import_holidays": frozenset({D}),
    "list_calendars": READERS,
    "get_calendar": READERS,
    "calendar_due": READERS,
    "calendar_minutes": READERS,
    "put_policy": frozenset({D}),
    "list_policies": READERS,
    "get_policy": READERS,
    "apply_policy": frozenset({D}),
    "ticket_sla": READERS,
}


#: Routes that read across the whole tenant: not for keys limited to groups.
TENANT_WIDE = frozenset(
    {
        "feed",
        "volume_report",
        "response_time_report",
        "sla_compliance_report",
        "backlog_report",
        "reopen_report",
        "agent_report",
        "csat_report",
    }
)


def allowed(route_name: str, principal: Principal) -> bool:
    """Whether the principal's role may call the route."""
    return principal.role in MATRIX.get(route_name, frozenset())


def authorize(request: Request, principal: PrincipalDep) -> Principal:
    """Refuse (403) a caller whose role the matrix does not admit to this route."""
    route = request.scope.get("route")
    name = getattr(route, "name", "")
    if not allowed(name, principal):
        who = principal.role.value
        raise ProblemError(403, "forbidden", f"the role {who} may not use {request.method} {request.url.path}")
    if principal.actor.groups is not None:
        _within_groups(request, name, principal)
    return principal


def _within_groups(request: Request, route_name: str, principal: Principal) -> None:
    """A key limited to groups reaches its groups' tickets and unrouted ones; another group's is not found."""
    if route_name in TENANT_WIDE:
        raise ProblemError(403, "forbidden", "a key limited to groups cannot read across the whole tenant")
    ticket_id = request.path_params.get("ticket_id")
    if ticket_id is None:
        return
    desk = request.app.state.services.desk
    try:
        group = desk.get_ticket(UUID(str(ticket_id)), tenant=principal.tenant).group
    except (ValueError, TicketNotFoundError):
        return  # the route answers for a malformed or unknown id itself
    if not principal.actor.may_see_group(group):
        raise ProblemError(404, "not-found", f"no ticket {ticket_id}")
