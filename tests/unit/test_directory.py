"""The directory in the domain: groups and agents as events, membership from either side, assignments checked."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.actors import Actor, ActorKind
from domain.directory.directory import Routing
from domain.errors import InvalidValueError
from domain.helpdesk import HelpDesk

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
CAROL = Actor("carol", ActorKind.AGENT, role="agent")
ZOE = Actor("zoe", ActorKind.AGENT, role="agent")


@pytest.fixture
def desk() -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))


def _agent(desk: HelpDesk, agent: str, groups: list[str] | None = None, **given: object) -> int | None:
    fields: dict[str, object] = {"skills": {}, "capacity": 5, "available": True, **given}
    return desk.define_agent(tenant="acme", agent=agent, groups=groups or [], by=ADMIN, via="api", **fields)  # type: ignore[arg-type]


def test_membership_is_said_from_either_side_and_the_same_definition_records_nothing(desk: HelpDesk) -> None:
    _agent(desk, "carol")
    _agent(desk, "dave")
    assert desk.define_group(tenant="acme", name="it", members=["carol"], routing="round_robin", by=ADMIN, via="api")
    _agent(desk, "dave", ["it"], skills={"networking": 3})

    group, members = desk.directory_group("acme", "it")
    assert (group.routing, members) == (Routing.ROUND_ROBIN, ["carol", "dave"])
    agent, groups = desk.directory_agent("acme", "dave")
    assert (dict(agent.skills), agent.capacity, groups) == ({"networking": 3}, 5, ["it"])
    assert (
        desk.define_group(
            tenant="acme", name="it", members=["carol", "dave"], routing="round_robin", by=ADMIN, via="api"
        )
        is None
    )
    desk.define_group(tenant="acme", name="it", members=["dave"], routing="round_robin", by=ADMIN, via="api")
    assert desk.directory_agent("acme", "carol")[1] == []


@pytest.mark.parametrize(
    ("given", "said"),
    [
        ({"skills": {"networking": 11}}, "level"),
        ({"skills": {"Net Working": 1}}, "skill"),
        ({"capacity": -1}, "capacity"),
        ({"available": "yes"}, "available"),
    ],
)
def test_an_agent_definition_that_cannot_be_is_refused(desk: HelpDesk, given: dict[str, object], said: str) -> None:
    with pytest.raises(InvalidValueError, match=said):
        _agent(desk, "carol", **given)


def test_groups_and_members_must_be_in_the_directory(desk: HelpDesk) -> None:
    with pytest.raises(InvalidValueError, match="members must be agents"):
        desk.define_group(tenant="acme", name="it", members=["ghost"], routing="manual", by=ADMIN, via="api")
    with pytest.raises(InvalidValueError, match="groups must be groups"):
        _agent(desk, "carol", ["nowhere"])
    with pytest.raises(InvalidValueError, match="routing"):
        desk.define_group(tenant="acme", name="it", members=[], routing="by_magic", by=ADMIN, via="api")
    with pytest.raises(InvalidValueError, match="type or a tag"):
        desk.define_group(
            tenant="acme", name="it", members=[], routing="skills", skill_rules=[{"skills": {}}], by=ADMIN, via="api"
        )


def test_once_a_tenant_has_a_directory_tickets_go_only_to_its_agents_and_groups(desk: HelpDesk) -> None:
    free = desk.open_ticket(tenant="globex", title="x", requester_id="bob", group="anything", by=CAROL, via="api")
    assert free.ticket.group == "anything"  # a tenant without a directory assigns freely
    _agent(desk, "carol")
    desk.define_group(tenant="acme", name="it", members=["carol"], routing="manual", by=ADMIN, via="api")
    ticket = desk.open_ticket(tenant="acme", title="VPN", requester_id="bob", group="it", by=CAROL, via="api").ticket_id

    with pytest.raises(InvalidValueError, match="no agent 'ghost'"):
        desk.assign(ticket, assignee="ghost", by=CAROL, via="api")
    with pytest.raises(InvalidValueError, match="no group 'hr'"):
        desk.transfer(ticket, group="hr", reason="wrong desk", by=CAROL, via="api")
    with pytest.raises(InvalidValueError, match="no group 'hr'"):
        desk.open_ticket(tenant="acme", title="x", requester_id="bob", group="hr", by=CAROL, via="api")
    with pytest.raises(InvalidValueError, match="no agent 'zoe'"):
        desk.claim(ticket, by=ZOE, via="web")
    assert desk.claim(ticket, by=CAROL, via="web").ticket.assignee == "carol"
