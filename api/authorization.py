"""Who may call what: the authorization matrix, enforced in this one place for every route.

Each route is named by its endpoint function. A route missing from the matrix is refused to
everyone, so a new endpoint is closed until someone decides who may use it. Tenant scoping is
separate and applies to everyone: a caller sees only its own tenant's data (see docs/security.md).
"""

from __future__ import annotations

from fastapi import Request

from api.deps import PrincipalDep
from api.problems import ProblemError
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
    return principal
