"""Follow-ups after solve (回访): a timed rule opens one linked ticket for the same requester, once per instance."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.errors import InvalidRuleError
from domain.tickets.links import LinkType
from domain.tickets.ticket import Ticket
from infrastructure.automations import AutomationRunner
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import SettableClock

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
BOB = Actor("bob", ActorKind.REQUESTER)
CAROL = Actor("carol", ActorKind.AGENT, role="agent")
SOLVED_72 = {
    "all": [
        {"field": "status_category", "op": "equals", "value": "solved"},
        {"field": "hours_since_solved", "op": "gte", "value": 72},
    ]
}
FOLLOW_UP = {"open_follow_up": {"title": "Follow-up call", "type": "task", "group": "care", "link": "related"}}


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
    fields = {"title": "Call back 3 days after solve", "position": 1, "enabled": True}
    rule = {**fields, "conditions": SOLVED_72, "actions": [FOLLOW_UP], **given}
    services.desk.define_automation(tenant="acme", name="follow-up", by=ADMIN, via="api", **rule)


def _solved(services: Services) -> UUID:
    desk = services.desk
    opened = desk.open_ticket(
        tenant="acme", title="VPN drops", requester_id="bob", organisation="initech", group="it", by=BOB, via="web"
    )
    desk.transition(opened.ticket_id, "open", by=CAROL, via="web")
    desk.transition(opened.ticket_id, "solved", by=CAROL, via="web")
    return opened.ticket_id


def _caught_up(services: Services) -> None:
    services.read_models.wait_for(services.read_models.head(), 10)


def test_three_days_after_solve_one_follow_up_call_opens_for_the_requester_linked_to_the_ticket(
    services: Services, clock: SettableClock
) -> None:
    _define(services)
    source = _solved(services)
    runner = AutomationRunner(services.desk, services.read_models)
    clock.advance(hours=71)
    _caught_up(services)
    assert runner.run_once().fired == 0
    clock.advance(hours=2)
    _caught_up(services)
    assert runner.run_once().fired == 1

    solved = services.desk.get_ticket(source)
    (link,) = solved.links
    assert link.type is LinkType.RELATED
    follow_up = services.desk.get_ticket(UUID(link.ticket_id))
    assert (follow_up.title, follow_up.ticket_type, follow_up.group) == ("Follow-up call", "task", "care")
    assert (follow_up.requester_id, follow_up.organisation) == ("bob", "initech")
    assert (follow_up.opened_by, follow_up.channel) == ("automation:follow-up", "automation")
    assert [(x.type, x.ticket_id) for x in follow_up.links] == [(LinkType.RELATED, str(source))]
    fired = [e for e in services.desk._events_of(source, None) if isinstance(e, Ticket.AutomationFired)]
    assert [(e.automation, e.automation_version, e.failed) for e in fired] == [("follow-up", 1, None)]

    clock.advance(hours=100)
    _caught_up(services)
    assert runner.run_once().fired == 0  # once per instance: the same solve
    assert len(services.desk.get_ticket(source).links) == 1


def test_a_follow_up_opens_no_follow_up_of_its_own(services: Services, clock: SettableClock) -> None:
    _define(services)
    source = _solved(services)
    runner = AutomationRunner(services.desk, services.read_models)
    clock.advance(hours=73)
    _caught_up(services)
    runner.run_once()
    follow_up = UUID(services.desk.get_ticket(source).links[0].ticket_id)
    services.desk.transition(follow_up, "open", by=CAROL, via="web")
    services.desk.transition(follow_up, "solved", by=CAROL, via="web")
    clock.advance(hours=73)
    _caught_up(services)
    runner.run_once()
    fired = [e for e in services.desk._events_of(follow_up, None) if isinstance(e, Ticket.AutomationFired)]
    assert len(fired) == 1
    assert fired[0].failed is not None
    assert "follow-up" in fired[0].failed
    assert len(services.desk.get_ticket(follow_up).links) == 1  # only the link to its source


def test_a_follow_up_names_a_link_callers_make(services: Services) -> None:
    with pytest.raises(InvalidRuleError) as refused:
        _define(services, actions=[{"open_follow_up": {"title": "Call", "link": "child_of"}}])
    assert refused.value.path == "actions/0/open_follow_up/link"
    with pytest.raises(InvalidRuleError) as refused:
        _define(services, actions=[{"open_follow_up": {"type": "task"}}])
    assert refused.value.path == "actions/0/open_follow_up"
