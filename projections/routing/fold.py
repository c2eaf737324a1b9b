"""How assignments move routing's state: every assignment to an agent, and the routing's own decisions."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from domain.directory.routing import CHANNEL
from domain.tickets.ticket import Ticket
from projections.batch import Folding


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Events of other kinds change nothing of routing's state."""


@fold.register(Ticket.Assigned)
def _assigned(event: Ticket.Assigned, f: Folding) -> None:
    if event.assignee is None or event.assignee == event.old_assignee:
        return
    tenant = f.ticket(event.originator_id).tenant
    f.batch.routing.last_assigned[(tenant, event.assignee)] = event.timestamp
    if event.via == CHANNEL and event.group is not None:
        # Read back from the log, not kept by the router: every router resumes from the same pointer.
        f.batch.routing.last_routed[(tenant, event.group)] = (event.assignee, f.position)
