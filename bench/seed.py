"""Bulk seeding of real ticket events, written through the application's own event store.

Tickets are built in Python with the domain's public methods, at fixed moments (a UTC base time
plus offsets), and their pending events are stored many tickets per transaction with
`desk.events.put(...)`: eventsourcing's mapper (with the service's own encryption of personal
fields) and PostgreSQL recorder (with the hash chain) write exactly the rows the running service
writes, only without one round trip per command.

Every ticket is opened, assigned and answered, then moved to `open`; most are solved, some get a
reply from the requester or a new priority: about five events per ticket on average. `seed`
stores an exact number of events (for catch-up runs); `seed_tickets` an exact number of tickets
with their whole histories (for the read-path runs).

Each requester and each agent belongs to one tenant (requester and agent numbers are multiples
of the tenant count apart); groups, tags and priorities vary independently of tenant and status,
so every tenant has every group, tag and priority, and lists filtered by them are not empty.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from domain.provenance import CommandContext, acting
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import Priority
from domain.workflows.lifecycle import STANDARD
from infrastructure.settings import Settings

BASE_TIME = datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
TICKET_SPACING = timedelta(seconds=15)
EVENTS_PER_TRANSACTION = 5000
TENANTS = ("acme", "globex", "initech")
GROUPS = ("it", "facilities", "billing", "hr", "security", "onboarding")
AGENTS = 42  # 14 per tenant
REQUESTERS = 4800  # 1,600 per tenant
CHANNELS = ("web", "email", "phone", "chat")
PRIORITIES = (Priority.NORMAL, Priority.NORMAL, Priority.HIGH, Priority.LOW, Priority.URGENT)
TAG_SETS: tuple[list[str], ...] = (["printer"], ["vpn", "remote"], ["laptop"], ["invoice"], ["access", "badge"], [])
DISPATCHER = Actor("dispatcher", ActorKind.AGENT)
SEED_KEY_CACHE_SECONDS = 24 * 3600.0


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
    with acting(_context(requester, via, opened)):
        ticket = Ticket.open(
            tenant=TENANTS[index % len(TENANTS)],
            title=f"Request {index}: something stopped working",
            description="It worked yesterday; since this morning it does not. Details below.",
            requester_id=requester.id,
            priority=PRIORITIES[(index // 5) % len(PRIORITIES)].value,
            ticket_type="incident" if index % 7 else "question",
            tags=TAG_SETS[(index // 7) % len(TAG_SETS)],
        )
    group = GROUPS[(index // len(TENANTS)) % len(GROUPS)]
    with acting(_context(DISPATCHER, "web", _at(opened, 4))):
        ticket.assign(assignee=agent.id, group=group)
    public = index % 4 != 0
    with acting(_context(agent, via, _at(opened, 9))):
        ticket.add_comment("Looking into it now, @ops please check the logs.", public=public)
    with acting(_context(agent, "web", _at(opened, 10))):
        ticket.transition(Status.OPEN.value, lifecycle=STANDARD)
    if index % 5 == 0:
        with acting(_context(agent, "web", _at(opened, 12))):
            ticket.change_priority(Priority.URGENT)
    if index % 5 == 1:
        with acting(_context(requester, via, _at(opened, 60))):
            ticket.add_comment("Any news? It is still broken.", public=True)
    if index % 5 in {0, 2, 4}:
        with acting(_context(agent, "web", _at(opened, 95))):
            ticket.transition(Status.SOLVED.value, lifecycle=STANDARD)
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


def seed_tickets(
    desk: HelpDesk,
    tickets: int,
    *,
    per_transaction: int = EVENTS_PER_TRANSACTION,
    progress: Callable[[int, int], None] | None = None,
    built: Callable[[Ticket], None] | None = None,
) -> SeedStats:
    """Store `tickets` tickets with their whole histories, about `per_transaction` events per transaction.

    `progress(tickets done, tickets)` is called after each transaction; `built(ticket)` with every
    ticket once its events are collected (its state is the state after them).
    """
    started = time.perf_counter()
    store_seconds = 0.0
    pending: list[Any] = []
    written = transactions = 0
    for index in range(tickets):
        ticket = build_ticket(index)
        pending.extend(ticket.collect_events())
        if built is not None:
            built(ticket)
        if len(pending) >= per_transaction or index == tickets - 1:
            store_seconds += _store(desk, pending)
            written, transactions, pending = written + len(pending), transactions + 1, []
            if progress is not None:
                progress(index + 1, tickets)
    return SeedStats(
        events=written,
        tickets=tickets,
        transactions=transactions,
        seconds=time.perf_counter() - started,
        store_seconds=store_seconds,
    )


def seed_selected(
    desk: HelpDesk,
    indices: Iterable[int],
    tickets: int,
    *,
    per_transaction: int = EVENTS_PER_TRANSACTION,
    progress: Callable[[int, int], None] | None = None,
) -> SeedStats:
    """Store the first `tickets` of the tickets numbered `indices` (built by `build_ticket`), with their histories.

    What a part needs that wants tickets of one kind only (one tenant's open ones, say): choose their numbers.
    """
    started = time.perf_counter()
    store_seconds = 0.0
    pending: list[Any] = []
    written = transactions = done = 0
    for index in indices:
        if done == tickets:
            break
        pending.extend(build_ticket(index).collect_events())
        done += 1
        if len(pending) >= per_transaction or done == tickets:
            store_seconds += _store(desk, pending)
            written, transactions, pending = written + len(pending), transactions + 1, []
            if progress is not None:
                progress(done, tickets)
    if pending:
        store_seconds += _store(desk, pending)
        written, transactions = written + len(pending), transactions + 1
    return SeedStats(
        events=written,
        tickets=done,
        transactions=transactions,
        seconds=time.perf_counter() - started,
        store_seconds=store_seconds,
    )


def seeding_settings(database_url: str) -> Settings:
    """Settings for a seeding process: a small pool, and data keys kept in memory for the whole run.

    Seeding writes the histories of thousands of people in one process; the short per-process key
    cache of a serving process would read each person's key again every few seconds.
    """
    settings = Settings(database_url=database_url, db_pool_max=5, pool_size=2)
    if "privacy_key_cache_seconds" in Settings.model_fields:
        settings = settings.model_copy(update={"privacy_key_cache_seconds": SEED_KEY_CACHE_SECONDS})
    return settings


def _store(desk: HelpDesk, events: list[Any]) -> float:
    started = time.perf_counter()
    recordings = desk.events.put(events)
    assert len(recordings) == len(events), "the recorder returned no notification ids"
    return time.perf_counter() - started
