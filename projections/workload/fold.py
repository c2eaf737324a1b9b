"""How a move to solved counts for the agent the ticket is assigned to, on the day of the move."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from projections.batch import Folding


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Only moves to solved count."""


@fold.register(Ticket.Transitioned)
@fold.register(Ticket.WorkflowMigrated)
def _transitioned(event: Ticket.Transitioned | Ticket.WorkflowMigrated, f: Folding) -> None:
    ticket = f.ticket(event.originator_id)
    solved = event.new_category == Status.SOLVED.value and event.old_category != Status.SOLVED.value
    if solved and ticket.assignee is not None:
        key = (ticket.tenant, ticket.assignee, event.timestamp.date())
        f.batch.solved[key] = f.batch.solved.get(key, 0) + 1
