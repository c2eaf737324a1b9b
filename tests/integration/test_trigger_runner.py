"""The trigger runner on the real stores: every ticket event run once, in order, by one runner at a time."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from infrastructure.triggers import TriggerRunner
from tests.support.clock import TickingClock

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
BOB = Actor("bob", ActorKind.REQUESTER)
CAROL = Actor("carol", ActorKind.AGENT, role="agent")


@pytest.fixture
def services(sql_settings: Settings) -> Iterator[Services]:
    built = build_services(sql_settings, clock=TickingClock())
    yield built
    built.close()


def _define(services: Services) -> None:
    urgent = {"all": [{"field": "priority", "op": "equals", "value": "urgent"}]}
    services.desk.define_trigger(
        tenant="acme",
        name="urgent-to-tier-2",
        title="Urgent tickets go to tier 2",
        position=1,
        enabled=True,
        on=["created", "updated"],
        conditions=urgent,
        actions=[{"set_group": "tier-2"}, {"add_tags": ["vip"]}],
        by=ADMIN,
        via="api",
    )
    replied = {"all": [{"field": "comment.public", "op": "equals", "value": True}]}
    services.desk.define_trigger(
        tenant="acme",
        name="count-replies",
        title="Tag replied tickets",
        position=2,
        enabled=True,
        on=["commented"],
        conditions=replied,
        actions=[{"add_tags": ["replied"]}],
        by=ADMIN,
        via="api",
    )


def _open(services: Services, priority: str = "urgent") -> UUID:
    return services.desk.open_ticket(
        tenant="acme", title="Cooling failed", requester_id="bob", priority=priority, by=BOB, via="email"
    ).ticket_id


def _fired(services: Services, ticket_id: UUID) -> list[tuple[str, int]]:
    return [
        (e.trigger, e.cause) for e in services.desk._events_of(ticket_id, None) if isinstance(e, Ticket.TriggerFired)
    ]


def _drain(runner: TriggerRunner) -> None:
    """Run until a round finds nothing more to do."""
    while True:
        if not runner.run_once():
            return


def test_a_rule_change_in_the_log_is_what_the_runner_runs_from_there_on(services: Services) -> None:
    def tag_new(tag: str) -> None:
        services.desk.define_trigger(
            tenant="acme",
            name="tag-new",
            title="Tag new tickets",
            position=1,
            enabled=True,
            on=["created"],
            conditions=None,
            actions=[{"add_tags": [tag]}],
            by=ADMIN,
            via="api",
        )

    runner = TriggerRunner(services.desk, services.lease("triggers"))
    tag_new("first")
    before = _open(services)
    _drain(runner)  # the runner has the tenant's rule book now
    tag_new("second")
    after = _open(services)
    _drain(runner)
    assert services.desk.get_ticket(before).tags == ["first"]
    assert services.desk.get_ticket(after).tags == ["second"]


def test_the_runner_fires_each_trigger_once_per_event_and_a_second_pass_does_nothing(services: Services) -> None:
    _define(services)
    urgent, low = _open(services), _open(services, "low")
    services.desk.add_comment(low, "Any news?", public=True, by=BOB, via="email")
    runner = TriggerRunner(services.desk, services.lease("triggers"))
    _drain(runner)
    _drain(TriggerRunner(services.desk, services.lease("triggers")))  # a new runner resumes from the lease

    assert _fired(services, urgent) == [("urgent-to-tier-2", 1)]
    assert _fired(services, low) == [("count-replies", 2)]
    assert services.desk.get_ticket(urgent).group == "tier-2"
    assert services.desk.get_ticket(low).tags == ["replied"]
    services.desk.update_ticket(low, priority="urgent", by=CAROL, via="web")
    _drain(runner)
    assert [name for name, _ in _fired(services, low)] == ["count-replies", "urgent-to-tier-2"]


def test_a_second_runner_stands_by_while_the_first_holds_the_lease(services: Services) -> None:
    _define(services)
    tickets = [_open(services) for _ in range(5)]
    first = TriggerRunner(services.desk, services.lease("triggers"))
    second = TriggerRunner(services.desk, services.lease("triggers"))
    assert first.run_once() > 0
    assert second.run_once() == 0  # standing by
    first.lease.release()  # as a clean stop does
    tickets.append(_open(services))
    assert second.run_once() > 0
    assert all(len(_fired(services, t)) == 1 for t in tickets)


def test_two_runners_in_threads_fire_each_trigger_once(services: Services) -> None:
    _define(services)
    tickets = [_open(services) for _ in range(20)]
    runners = [TriggerRunner(services.desk, services.lease("triggers")) for _ in range(2)]
    for runner in runners:
        runner.start()
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and not all(_fired(services, t) for t in tickets):
            time.sleep(0.05)
    finally:
        for runner in runners:
            runner.stop()
    assert all(_fired(services, t) == [("urgent-to-tier-2", 1)] for t in tickets)


def test_triggers_in_serve_act_on_a_ticket_by_themselves(sqlite_settings: Settings) -> None:
    built = build_services(sqlite_settings)
    _define(built)
    key = built.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    built.close()
    headers = {"Authorization": f"Bearer {key}"}
    with TestClient(create_app(sqlite_settings), headers=headers) as client:  # owns its services: runs triggers
        opened = client.post("/tickets", json={"title": "Hot", "requester_id": "bob", "priority": "urgent"})
        ticket = opened.json()["id"]
        found: dict[str, Any] = {}
        for _ in range(100):
            found = client.get(f"/tickets/{ticket}").json()
            if found["group"] is not None:
                break
            threading.Event().wait(0.05)
    assert (found["group"], found["tags"]) == ("tier-2", ["vip"])
