"""How ticket events fold into the service-metric facts (what the facts mean: rows.py).

A merge closes the ticket merged away (`Ticket.MergedInto`, a move to a closed state): it counts as
closed, and as closed unsolved if it was not solved, because it was not; its request is served by
the ticket it went into, which was opened and is counted once, there. The copies of its comments
on that ticket (`Ticket.Merged`) move no fact: they answered the other ticket (this one's first
response is its own), so counting them again would make a response out of a merge.
"""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from domain.actors import ActorKind
from domain.tickets.ticket import Ticket
from projections.batch import Folding
from projections.metrics.rows import (
    BACKLOG_STATUSES,
    CLOSED,
    SOLVED,
    MetricsBatch,
    SolveFact,
    TicketMetrics,
)
from projections.tickets.rows import TicketRow


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Only ticket events move the service metrics."""


@fold.register(Ticket.Event)
def _ticket_event(event: Ticket.Event, f: Folding) -> None:
    fold_metrics(f.batch.metrics, event, f.ticket(event.originator_id))


def fold_metrics(batch: MetricsBatch, event: Ticket.Event, row: TicketRow) -> None:
    """Fold one ticket event, already folded into its ticket's `row`, into the metric facts."""
    if isinstance(event, Ticket.Opened):
        batch.tickets[event.originator_id] = TicketMetrics(
            ticket_id=event.originator_id,
            tenant=event.tenant,
            created_at=event.timestamp,
            channel=event.via,
            ticket_type=event.ticket_type,
            group=None,
            cycle_started_at=event.timestamp,
        )
        batch.flow(event.tenant, event.timestamp).opened += 1
        return
    facts = batch.tickets.get(event.originator_id)
    if facts is None:
        facts = batch.tickets[event.originator_id] = TicketMetrics.from_ticket_row(row)
    _fold(event, facts, batch)


@singledispatch
def _fold(event: Ticket.Event, facts: TicketMetrics, batch: MetricsBatch) -> None:
    """Other ticket events change no metric fact."""


@_fold.register(Ticket.Assigned)
def _assigned(event: Ticket.Assigned, facts: TicketMetrics, batch: MetricsBatch) -> None:
    if event.assignee != facts.assignee:  # a move to another group alone keeps the agent's clock
        facts.assignee = event.assignee
        facts.assigned_at = None if event.assignee is None else event.timestamp
    facts.group = event.group


@_fold.register(Ticket.Unassigned)
def _unassigned(event: Ticket.Unassigned, facts: TicketMetrics, batch: MetricsBatch) -> None:
    facts.assignee = facts.assigned_at = None


@_fold.register(Ticket.TypeChanged)
def _type_changed(event: Ticket.TypeChanged, facts: TicketMetrics, batch: MetricsBatch) -> None:
    facts.ticket_type = event.new_type


@_fold.register(Ticket.CommentAdded)
def _commented(event: Ticket.CommentAdded, facts: TicketMetrics, batch: MetricsBatch) -> None:
    if event.public and event.actor_kind == ActorKind.AGENT.value and facts.first_response_at is None:
        facts.first_response_at = event.timestamp


@_fold.register(Ticket.Rated)
def _rated(event: Ticket.Rated, facts: TicketMetrics, batch: MetricsBatch) -> None:
    facts.rating_scale, facts.rating_score, facts.rated_at = event.scale, event.score, event.timestamp


@_fold.register(Ticket.Transitioned)
@_fold.register(Ticket.WorkflowMigrated)
@_fold.register(Ticket.MergedInto)  # a close (see the module docstring)
def _transitioned(
    event: Ticket.Transitioned | Ticket.WorkflowMigrated | Ticket.MergedInto, facts: TicketMetrics, batch: MetricsBatch
) -> None:
    old, new, at = event.old_category, event.new_category, event.timestamp  # what the states count as
    flow = batch.flow(facts.tenant, at)
    if new == SOLVED and old != SOLVED:
        flow.solved += 1
        facts.resolved_at = at
        handle = facts.handle_minutes(at)
        batch.solves.append(
            SolveFact(facts.ticket_id, event.originator_version, facts.tenant, at, facts.assignee, handle)
        )
    elif old == SOLVED and new in BACKLOG_STATUSES:
        flow.reopened += 1
        facts.resolved_at = None
        facts.cycle_started_at = at
    if new == CLOSED:
        flow.closed += 1
        if old in BACKLOG_STATUSES:
            flow.closed_unsolved += 1
