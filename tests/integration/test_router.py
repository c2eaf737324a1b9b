"""The router on the real stores: bursts routed fairly, once, by the routing rule, with reason and cause.

Sweeps are called directly, except where the thread is the subject; the projection worker runs
in the background, as it does beside a router.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Iterator
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from domain.provenance import event_cause
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services, build_services
from infrastructure.router import Router
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
BOB = Actor("bob", ActorKind.REQUESTER)
AGENTS = ("ann", "cat", "eve")


@pytest.fixture
def served(sql_settings: Settings) -> Iterator[Services]:
    built = build_services(sql_settings, clock=TickingClock())
    built.start_projections()
    yield built
    built.close()


def _directory(desk: HelpDesk, routing: str = "round_robin", **agent: object) -> None:
    fields: dict[str, object] = {"skills": {}, "capacity": 100, "available": True, **agent}
    for name in AGENTS:
        desk.define_agent(tenant="acme", agent=name, groups=[], by=ADMIN, via="api", **fields)  # type: ignore[arg-type]
    desk.define_group(tenant="acme", name="it", members=list(AGENTS), routing=routing, by=ADMIN, via="api")
    desk.define_group(tenant="acme", name="pool", members=list(AGENTS), routing="manual", by=ADMIN, via="api")


def _open(desk: HelpDesk, n: int, group: str = "it") -> list[UUID]:
    return [
        desk.open_ticket(
            tenant="acme", title=f"Request {i}", requester_id="bob", group=group, by=BOB, via="web"
        ).ticket_id
        for i in range(n)
    ]


def _caught_up(services: Services) -> None:
    services.read_models.wait_for(services.read_models.head(), 10)


def _sweep(services: Services, router: Router | None = None) -> None:
    _caught_up(services)
    (router or Router(services.desk, services.read_models)).sweep()
    _caught_up(services)


def _routing_events(desk: HelpDesk, ticket_id: UUID) -> list[Ticket.Assigned]:
    return [e for e in desk._events_of(ticket_id, None) if isinstance(e, Ticket.Assigned) and e.via == "routing"]


def test_a_burst_of_60_tickets_into_3_agents_gives_each_20_by_the_routing_rule(served: Services) -> None:
    desk = served.desk
    _directory(desk)
    tickets = _open(desk, 60)
    _sweep(served)

    assignees = Counter(desk.get_ticket(t).assignee for t in tickets)
    assert assignees == {"ann": 20, "cat": 20, "eve": 20}
    first = _routing_events(desk, tickets[0])
    assert len(first) == 1
    decision = first[0]
    assert (decision.actor_id, decision.actor_kind, decision.via) == ("routing:round_robin", "system", "routing")
    assert (decision.group, decision.old_assignee) == ("it", None)
    assert decision.reason == "round_robin: first in the group"
    assert decision.causation_id == event_cause(tickets[0], 2)  # opened into the group: Opened, Assigned(group)
    second = _routing_events(desk, tickets[1])[0]
    assert second.reason == f"round_robin: next after {decision.assignee}"
    history = desk.history(tickets[1])
    assert history[-1].reason == second.reason


def test_the_pointer_survives_a_new_router_and_manual_queues_are_left_alone(served: Services) -> None:
    desk = served.desk
    _directory(desk)
    pooled = _open(desk, 2, group="pool")
    _open(desk, 2)
    _sweep(served)
    later = _open(desk, 1)
    _sweep(served, Router(desk, served.read_models))  # a new router: nothing of the first one's memory

    assert desk.get_ticket(later[0]).assignee == "eve"  # ann, cat, then eve: the round robin went on
    assert [desk.get_ticket(t).assignee for t in pooled] == [None, None]


def test_nobody_with_room_leaves_tickets_waiting_until_someone_becomes_available(served: Services) -> None:
    desk = served.desk
    _directory(desk, routing="least_loaded", capacity=1)
    desk.define_agent(
        tenant="acme", agent="eve", groups=["it"], skills={}, capacity=1, available=False, by=ADMIN, via="api"
    )
    tickets = _open(desk, 3)
    _sweep(served)
    assert sorted(str(desk.get_ticket(t).assignee) for t in tickets) == ["None", "ann", "cat"]

    desk.define_agent(
        tenant="acme", agent="eve", groups=["it"], skills={}, capacity=1, available=True, by=ADMIN, via="api"
    )
    _sweep(served)
    waiting = [t for t in tickets if desk.get_ticket(t).assignee == "eve"]
    assert len(waiting) == 1
    assert _routing_events(desk, waiting[0])[0].reason == "least_loaded: 0 open"


def test_two_routers_at_once_assign_each_ticket_once(served: Services) -> None:
    desk = served.desk
    _directory(desk)
    tickets = _open(desk, 30)
    _caught_up(served)
    routers = [Router(desk, served.read_models) for _ in range(2)]
    threads = [threading.Thread(target=r.sweep) for r in routers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _sweep(served)

    assert all(len(_routing_events(desk, t)) == 1 for t in tickets)
    assert sum(Counter(desk.get_ticket(t).assignee for t in tickets).values()) == 30


def test_a_ticket_a_person_took_meanwhile_is_not_routed(served: Services) -> None:
    desk = served.desk
    _directory(desk)
    tickets = _open(desk, 2)
    _caught_up(served)
    desk.claim(tickets[0], by=Actor("cat", ActorKind.AGENT), via="web")  # after the read model showed it waiting
    Router(desk, served.read_models).sweep()

    assert desk.get_ticket(tickets[0]).assignee == "cat"
    assert _routing_events(desk, tickets[0]) == []
    assert desk.get_ticket(tickets[1]).assignee == "ann"


def test_the_router_thread_routes_a_new_ticket_without_being_asked(served: Services) -> None:
    _directory(served.desk)
    router = served.start_router()
    (ticket,) = _open(served.desk, 1)
    try:
        for _ in range(200):
            if served.desk.get_ticket(ticket).assignee is not None:
                break
            threading.Event().wait(0.05)
        assert served.desk.get_ticket(ticket).assignee == "ann"
    finally:
        router.stop()
