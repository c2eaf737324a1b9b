"""What the customers' landing page lists, read from the `tickets` read model through the API's own queries.

Which tickets a visitor reaches is the access policy's (`list_scope`, domain/access/policy.py), as
for `GET /tickets` and the queues; nothing here decides it.
"""

from __future__ import annotations

from domain.access import policy as access
from infrastructure.keys import Principal
from infrastructure.readmodels.store import ReadModels
from projections.tickets.queries import Sort, TicketFilter
from projections.tickets.rows import TicketRow

#: How many tickets a landing page lists (filters and paging come with the full queue pages).
PAGE_SIZE = 50


def customer_requests(read_models: ReadModels, principal: Principal) -> list[TicketRow]:
    """A customer's requests (and their organisation's, if they may read those), newest first."""
    where = TicketFilter(tenant=principal.tenant, scope=access.list_scope(principal.actor))
    return read_models.tickets().list_tickets(where, sort=Sort.NEWEST, limit=PAGE_SIZE).rows
