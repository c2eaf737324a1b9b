"""Bulk seeding of real ticket events, written through the application's own event store.

Tickets are built in Python with the domain's public methods, at fixed moments (a UTC base time
plus offsets), and their pending events are stored many tickets per transaction with
`desk.events.put(...)`: eventsourcing's mapper and PostgreSQL recorder write exactly the rows the
running service writes, only without one round trip per command.

Every ticket is opened, assigned and answered, then moved to `open`; most are solved, some get a
reply from the requester or a new priority: about five events per ticket on average.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.actors import Actor, ActorKind, CommandContext
from domain.helpdesk import HelpDesk
from domain.ticket import Ticket
from domain.values import Priority
from domain.workflow import DEFAULT_WORKFLOW, Status

BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TICKET_SPACING = timedelta(seconds=15)
EVENTS_PER_TRANSACTION = 5000
TENANTS = ("acme", "globex", "initech")
GROUPS = ("it", "facilities", "billing", "hr", "security", "onboarding")
AGENTS = 40
REQUESTERS = 5000
CHANNELS = ("web", "email", "phone", "chat")
PRIORITIES = (Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.LOW, Priority.URGENT)
TAG_SETS: tuple[list[str], ...] = (["printer"], ["vpn", "remote"], ["laptop"], ["invoice"], ["access", "badge"], [])
DISPATCHER = Actor("dispatcher", ActorKind.AGENT)


@dataclass(frozen=True, slots=True)
class SeedStats:
    """What a seeding run wrote and how long it took."""

    events: int
    tickets: int
    transactions: int
    seconds: float
    store_seconds: float  # of `seconds`, the time spent in desk.events.put

    @property
    def events_per_s(self) -> float:
        """Seeding rate, building the tickets included."""
        return self.events / self.seconds if self.seconds else 0.0


def _at(opened: datetime, minutes: int) -> datetime:
    return opened + timedelta(minutes=minutes)


def _context(actor: Actor, via: str, at: datetime) -> CommandContext:
    return CommandContext(actor=actor, via=via, at=at)


def build_ticket(index: int) -> Ticket:
    """Ticket number `index`, with its history of commands applied (its events still pending)."""
    opened = BASE_TIME + index * TICKET_SPACING
    via = CHANNELS[index % len(CHANNELS)]
    requester = Actor(f"requester-{index % REQUESTERS}", ActorKind.REQUESTER)
    agent = Actor(f"agent-{index % AGENTS}", ActorKind.AGENT)
    ticket = Ticket.open(
        tenant=TENANTS[index % len(TENANTS)],
        title=f"Request {index}: something stopped working",
        description="It worked yesterday; since this morning it does not. Details below.",
        requester_id=requester.id,
        priority=PRIORITIES[index % len(PRIORITIES)].value,
        ticket_type="incident" if index % 3 else "question",
        tags=TAG_SETS[index % len(TAG_SETS)],
        context=_context(requester, via, opened),
    )
    ticket.assign(
        assignee=agent.id, group=GROUPS[index % len(GROUPS)], context=_context(DISPATCHER, "web", _at(opened, 4))
    )
    public = index % 4 != 0
    ticket.add_comment(
        "Looking into it now, @ops please check the logs.", public=public, context=_context(agent, via, _at(opened, 9))
    )
    ticket.transition(Status.OPEN, workflow=DEFAULT_WORKFLOW, context=_context(agent, "web", _at(opened, 10)))
    if index % 5 == 0:
        ticket.change_priority(Priority.URGENT, context=_context(agent, "web", _at(opened, 12)))
    if index % 5 == 1:
        ticket.add_comment(
            "Any news? It is still broken.", public=True, context=_context(requester, via, _at(opened, 60))
        )
    if index % 5 in {0, 2, 4}:
        ticket.transition(Status.SOLVED, workflow=DEFAULT_WORKFLOW, context=_context(agent, "web", _at(opened, 95)))
    return ticket


def seed(desk: HelpDesk, events: int, *, per_transaction: int = EVENTS_PER_TRANSACTION) -> SeedStats:
    """Store exactly `events` ticket events, about `per_transaction` per transaction.

    When the last ticket would overshoot, only the first events of its history are stored
    (a prefix of an aggregate's events is itself a valid history).
    """
    started = time.perf_counter()
    store_seconds = 0.0
    pending: list[Any] = []
    written = tickets = transactions = 0
    while written + len(pending) < events:
        history = build_ticket(tickets).collect_events()
        pending.extend(history[: events - written - len(pending)])
        tickets += 1
        if len(pending) >= per_transaction or written + len(pending) >= events:
            store_seconds += _store(desk, pending)
            written, transactions, pending = written + len(pending), transactions + 1, []
    return SeedStats(
        events=written,
        tickets=tickets,
        transactions=transactions,
        seconds=time.perf_counter() - started,
        store_seconds=store_seconds,
    )


def _store(desk: HelpDesk, events: list[Any]) -> float:
    started = time.perf_counter()
    recordings = desk.events.put(events)
    assert len(recordings) == len(events), "the recorder returned no notification ids"
    return time.perf_counter() - started
