"""Timed rules on the real stores: fired when their hours come, once per instance, previewed without storing."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.errors import InvalidRuleError
from domain.tickets.ticket import Ticket
from infrastructure.automations import AutomationRunner
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import SettableClock

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
BOB = Actor("bob", ActorKind.REQUESTER)
CAROL = Actor("carol", ActorKind.AGENT, role="agent")
PENDING_72 = {
    "all": [
        {"field": "status_category", "op": "equals", "value": "pending"},
        {"field": "hours_in_status", "op": "gte", "value": 72},
    ]
}


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock()


@pytest.fixture
def services(sql_settings: Settings, clock: SettableClock) -> Iterator[Services]:
    built = build_services(sql_settings, clock=clock)
    built.start_projections()
    yield built
    built.close()


def _define(services: Services, **given: Any) -> None:
    fields: dict[str, Any] = {
        "title": "Pending 72 hours: solve with a note",
        "position": 1,
        "enabled": True,
        "conditions": PENDING_72,
        "actions": [{"add_note": "Solved after 72 hours without an answer"}, {"set_status": "solved"}],
    }
    services.desk.define_automation(tenant="acme", name="close-stale", by=ADMIN, via="api", **{**fields, **given})


def _pending(services: Services) -> UUID:
    desk = services.desk
    ticket_id = desk.open_ticket(tenant="acme", title="Printer", requester_id="bob", by=BOB, via="web").ticket_id
    desk.transition(ticket_id, "open", by=CAROL, via="web")
    desk.transition(ticket_id, "pending", by=CAROL, via="web")
    return ticket_id


def _caught_up(services: Services) -> None:
    services.read_models.wait_for(services.read_models.head(), 10)


def _fired(services: Services, ticket_id: UUID) -> list[Ticket.AutomationFired]:
    return [e for e in services.desk._events_of(ticket_id, None) if isinstance(e, Ticket.AutomationFired)]


def test_a_timed_rule_fires_when_its_hours_come_once_and_the_preview_stores_nothing(
    services: Services, clock: SettableClock
) -> None:
    _define(services)
    ticket = _pending(services)
    runner = AutomationRunner(services.desk, services.read_models)
    rule = services.desk.automation("acme", "close-stale")
    clock.advance(hours=71)
    _caught_up(services)
    assert runner.run_once().fired == 0
    clock.advance(hours=2)
    head = services.read_models.head()
    assert [d.ticket_id for d in runner.due("acme", [rule], clock())] == [ticket]
    assert services.read_models.head() == head  # the preview stored nothing

    assert runner.run_once().fired == 1
    found = services.desk.get_ticket(ticket)
    assert found.status == "solved"
    (fired,) = _fired(services, ticket)
    assert (fired.actor_id, fired.via, fired.automation_version, fired.failed) == (
        "automation:close-stale",
        "automation",
        1,
        None,
    )
    _caught_up(services)
    assert runner.run_once().fired == 0
    assert runner.due("acme", [rule], clock()) == []


def test_each_stay_in_pending_is_an_instance_of_its_own(services: Services, clock: SettableClock) -> None:
    _define(services, actions=[{"add_tags": ["chased"]}])  # the ticket stays pending: the rule still holds
    ticket = _pending(services)
    runner = AutomationRunner(services.desk, services.read_models)
    clock.advance(hours=73)
    _caught_up(services)
    assert runner.run_once().fired == 1
    _caught_up(services)
    clock.advance(hours=100)
    assert runner.run_once().fired == 0  # the same stay in pending: fired already
    services.desk.transition(ticket, "open", by=CAROL, via="web")
    services.desk.transition(ticket, "pending", by=CAROL, via="web")
    clock.advance(hours=73)
    _caught_up(services)
    assert runner.run_once().fired == 1
    assert len({e.instance for e in _fired(services, ticket)}) == 2


def test_two_runners_at_once_fire_each_instance_once(services: Services, clock: SettableClock) -> None:
    _define(services)
    tickets = [_pending(services) for _ in range(10)]
    clock.advance(hours=80)
    _caught_up(services)
    runners = [AutomationRunner(services.desk, services.read_models) for _ in range(2)]
    threads = [threading.Thread(target=r.run_once) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    _caught_up(services)
    AutomationRunner(services.desk, services.read_models).run_once()
    assert all(len(_fired(services, t)) == 1 for t in tickets)


def test_a_timed_rule_must_count_hours_and_triggers_may_not(services: Services) -> None:
    with pytest.raises(InvalidRuleError) as refused:
        _define(services, conditions={"all": [{"field": "status", "op": "equals", "value": "pending"}]})
    assert refused.value.path == "conditions"
    with pytest.raises(InvalidRuleError) as refused:
        services.desk.define_trigger(
            tenant="acme",
            name="t",
            title="t",
            position=1,
            enabled=True,
            on=["created"],
            conditions=PENDING_72,
            actions=[{"add_tags": ["x"]}],
            by=ADMIN,
            via="api",
        )
    assert refused.value.path == "conditions/all/1/field"


def test_hours_since_the_customers_contact_count_from_their_latest_public_message(
    services: Services, clock: SettableClock
) -> None:
    unanswered = {
        "all": [
            {"field": "hours_since_customer_contact", "op": "gte", "value": 4},
            {"field": "hours_since_agent_contact", "op": "is_not_set"},
        ]
    }
    _define(services, conditions=unanswered, actions=[{"add_tags": ["unanswered"]}])
    desk = services.desk
    waiting = desk.open_ticket(tenant="acme", title="Printer", requester_id="bob", by=BOB, via="email").ticket_id
    answered = desk.open_ticket(tenant="acme", title="Scanner", requester_id="bob", by=BOB, via="email").ticket_id
    desk.add_comment(answered, "Looking into it", public=True, by=CAROL, via="web")
    clock.advance(hours=3)
    desk.add_comment(waiting, "Any news?", public=True, by=BOB, via="email")  # the hours count from here
    desk.add_comment(waiting, "Asked the vendor", public=False, by=CAROL, via="web")  # a note answers nothing
    clock.advance(hours=3)
    _caught_up(services)
    runner = AutomationRunner(services.desk, services.read_models)
    assert runner.run_once().fired == 0
    clock.advance(hours=1.5)
    assert runner.run_once().fired == 1
    assert desk.get_ticket(waiting).tags == ["unanswered"]
    assert _fired(services, answered) == []
    row = services.read_models.tickets().get_ticket("acme", waiting)
    assert row is not None
    assert (row.last_contact_customer_at, row.last_contact_agent_at) == (
        desk.get_ticket(waiting).last_contact_customer_at,
        None,
    )
