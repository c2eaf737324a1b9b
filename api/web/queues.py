"""What the landing pages list, read from the `tickets` read model through the API's own queries.

Which tickets a visitor reaches is the access policy's (`list_scope`, domain/access/policy.py), as
for `GET /tickets` and the queues; nothing here decides it.
"""

from __future__ import annotations

from dataclasses import dataclass

from domain.access import policy as access
from infrastructure.keys import Principal
from infrastructure.readmodels.store import ReadModels
from projections.tickets.queries import UNASSIGNED, Sort, TicketFilter
from projections.tickets.rows import UNSOLVED, TicketRow

#: How many tickets a landing page lists (filters and paging come with the full queue pages).
PAGE_SIZE = 50


@dataclass(frozen=True, slots=True)
class AgentQueue:
    """An agent's landing page: their unsolved tickets, and the unassigned ones they reach."""

    mine: list[TicketRow]
    unassigned: list[TicketRow]


def agent_queue(read_models: ReadModels, principal: Principal) -> AgentQueue:
    """The tickets assigned to the agent, and those nobody has of the agent's groups (or, unlimited, all)."""
    scope = access.list_scope(principal.actor)
    queries = read_models.tickets()
    mine = TicketFilter(tenant=principal.tenant, categories=UNSOLVED, assignee=principal.actor.id, scope=scope)
    free = TicketFilter(tenant=principal.tenant, categories=UNSOLVED, assignee=UNASSIGNED, scope=scope)
    return AgentQueue(
        mine=queries.list_tickets(mine, sort=Sort.PRIORITY, limit=PAGE_SIZE).rows,
        unassigned=queries.list_tickets(free, sort=Sort.PRIORITY, limit=PAGE_SIZE).rows,
    )


def customer_requests(read_models: ReadModels, principal: Principal) -> list[TicketRow]:
    """A customer's requests (and their organisation's, if they may read those), newest first."""
    where = TicketFilter(tenant=principal.tenant, scope=access.list_scope(principal.actor))
    return read_models.tickets().list_tickets(where, sort=Sort.NEWEST, limit=PAGE_SIZE).rows
