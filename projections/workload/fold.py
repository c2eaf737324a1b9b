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
def _transitioned(event: Ticket.Transitioned, f: Folding) -> None:
    ticket = f.ticket(event.originator_id)
    if event.new_status == Status.SOLVED.value and ticket.assignee is not None:
        key = (ticket.tenant, ticket.assignee, event.timestamp.date())
        f.batch.solved[key] = f.batch.solved.get(key, 0) + 1
