"""Triggers and macros in the domain: conditions, chains, loop safety, refusals, exactly once, versions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actors import Actor, ActorKind
from domain.automation.commands import CHAIN_MAX
from domain.automation.conditions import Check, Facts, parse
from domain.errors import InvalidRuleError
from domain.helpdesk import HelpDesk
from domain.provenance import event_cause
from domain.tickets.ticket import Ticket

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
CAROL = Actor("carol", ActorKind.AGENT, role="agent")
BOB = Actor("bob", ActorKind.REQUESTER)
URGENT_EMAIL = {
    "all": [
        {"field": "priority", "op": "equals", "value": "urgent"},
        {"field": "via", "op": "equals", "value": "email"},
    ]
}


@pytest.fixture
def desk() -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))


def _trigger(desk: HelpDesk, name: str, actions: list[dict[str, Any]], **given: Any) -> int:
    fields: dict[str, Any] = {"title": name, "position": 10, "enabled": True, "on": ["created"], "conditions": None}
    receipt = desk.define_trigger(tenant="acme", name=name, actions=actions, by=ADMIN, via="api", **{**fields, **given})
    return receipt.version


def _open(desk: HelpDesk, **given: Any) -> UUID:
    fields: dict[str, Any] = {"title": "Server room too hot", "requester_id": "bob", "priority": "urgent", **given}
    return desk.open_ticket(tenant="acme", by=BOB, via="email", **fields).ticket_id


def _events(desk: HelpDesk, ticket_id: UUID) -> list[Any]:
    return desk._events_of(ticket_id, None)


def test_a_trigger_acts_on_the_event_it_matches_as_itself_with_version_and_cause(desk: HelpDesk) -> None:
    version = _trigger(desk, "urgent-email", [{"set_group": "tier-2"}, {"add_tags": ["vip"]}], conditions=URGENT_EMAIL)
    matching, other = _open(desk), _open(desk, priority="low")
    assert desk.run_triggers(matching, 1) is not None
    assert desk.run_triggers(other, 1) is None

    ticket = desk.get_ticket(matching)
    assert (ticket.group, ticket.tags) == ("tier-2", ["vip"])
    fired, assigned, tagged = _events(desk, matching)[1:]
    assert isinstance(fired, Ticket.TriggerFired)
    assert (fired.trigger, fired.trigger_version, fired.cause, fired.depth, fired.failed) == (
        "urgent-email",
        version,
        1,
        1,
        None,
    )
    for change in (fired, assigned, tagged):
        assert (change.actor_id, change.actor_kind, change.via) == ("trigger:urgent-email", "system", "trigger")
        assert change.causation_id == event_cause(matching, 1)
    assert desk.run_triggers(matching, 1) is None  # exactly once: the ticket says it ran on version 1
    assert len(_events(desk, matching)) == 4


def test_triggers_chain_in_order_each_at_most_once_and_a_long_chain_stops_on_record(desk: HelpDesk) -> None:
    _trigger(desk, "raise", [{"set_priority": "high"}], position=1)
    changed = {"all": [{"field": "priority", "op": "changed_to", "value": "high"}]}
    _trigger(desk, "tag-raised", [{"add_tags": ["raised"]}], position=2, conditions=changed)
    ticket_id = _open(desk, priority="low")
    desk.run_triggers(ticket_id, 1)
    fired = [e for e in _events(desk, ticket_id) if isinstance(e, Ticket.TriggerFired)]
    assert [(e.trigger, e.depth) for e in fired] == [("raise", 1), ("tag-raised", 2)]
    assert desk.get_ticket(ticket_id).tags == ["raised"]

    for n in range(CHAIN_MAX):
        _trigger(desk, f"always-{n:02}", [{"add_tags": [f"t{n}"]}], position=100 + n)
    long_chain = _open(desk, priority="low")
    desk.run_triggers(long_chain, 1)
    stopped = [e for e in _events(desk, long_chain) if isinstance(e, Ticket.TriggerChainStopped)]
    assert [(e.depth, e.not_fired) for e in stopped] == [(CHAIN_MAX, ["always-08", "always-09"])]


def test_a_trigger_the_ticket_refuses_is_on_record_as_failed_with_none_of_its_actions(desk: HelpDesk) -> None:
    _trigger(desk, "bad-move", [{"add_tags": ["x"]}, {"set_status": "nowhere"}])
    ticket_id = _open(desk)
    desk.run_triggers(ticket_id, 1)
    _, fired = _events(desk, ticket_id)
    assert isinstance(fired, Ticket.TriggerFired)
    assert fired.failed is not None
    assert "nowhere" in fired.failed
    assert desk.get_ticket(ticket_id).tags == []
    assert desk.run_triggers(ticket_id, 1) is None


def test_triggers_run_on_the_kinds_of_event_they_name_and_never_on_their_own_changes(desk: HelpDesk) -> None:
    public = {"all": [{"field": "comment.public", "op": "equals", "value": True}]}
    _trigger(desk, "reopen-on-reply", [{"add_tags": ["replied"]}], on=["commented"], conditions=public)
    ticket_id = _open(desk)
    assert desk.run_triggers(ticket_id, 1) is None
    desk.add_comment(ticket_id, "internal", public=False, by=CAROL, via="web")
    assert desk.run_triggers(ticket_id, 2) is None
    desk.add_comment(ticket_id, "any news?", public=True, by=BOB, via="email")
    assert desk.run_triggers(ticket_id, 3) is not None
    assert desk.run_triggers(ticket_id, 4) is None  # TriggerFired
    assert desk.run_triggers(ticket_id, 5) is None  # the trigger's own change


def test_a_new_version_of_a_trigger_is_recorded_and_disabling_keeps_its_history(desk: HelpDesk) -> None:
    assert _trigger(desk, "vip", [{"add_tags": ["vip"]}]) == 1
    assert _trigger(desk, "vip", [{"add_tags": ["vip"]}]) == 1  # the same definition records nothing
    assert _trigger(desk, "vip", [{"add_tags": ["vip"]}], enabled=False) == 2
    assert desk.trigger("acme", "vip").enabled is False
    assert desk.trigger("acme", "vip", 1).enabled is True
    assert desk.run_triggers(_open(desk), 1) is None


@pytest.mark.parametrize(
    ("given", "path"),
    [
        ({"conditions": {"all": [{"field": "colour", "op": "equals", "value": "red"}]}}, "conditions/all/0/field"),
        ({"conditions": {"any": [{"field": "priority", "op": "eq", "value": "x"}]}}, "conditions/any/0/op"),
        ({"conditions": {"all": [{"field": "tags", "op": "in", "value": "vip"}]}}, "conditions/all/0/value"),
        ({"conditions": {"none": []}}, "conditions"),
        ({"actions": [{"set_priority": "huge"}]}, "actions/0/set_priority"),
        ({"actions": [{"paint": "red"}]}, "actions/0"),
        ({"actions": []}, "actions"),
        ({"on": ["deleted"]}, "on"),
    ],
)
def test_an_invalid_trigger_is_refused_with_the_path_of_its_fault_and_records_nothing(
    desk: HelpDesk, given: dict[str, Any], path: str
) -> None:
    fields = {"actions": [{"add_tags": ["x"]}], **given}
    with pytest.raises(InvalidRuleError) as refused:
        _trigger(desk, "bad", **fields)
    assert refused.value.path == path
    assert desk.rule_book("acme") is None


def test_a_macro_applies_its_actions_in_one_save_as_the_agent_via_macro(desk: HelpDesk) -> None:
    desk.define_macro(
        tenant="acme",
        name="need-info",
        title="Ask for details",
        actions=[{"add_note": "Asked for the model number"}, {"set_status": "pending"}, {"add_tags": ["info"]}],
        by=ADMIN,
        via="api",
    )
    ticket_id = _open(desk)
    desk.transition(ticket_id, "open", by=CAROL, via="web")
    receipt = desk.apply_macro(ticket_id, "need-info", by=CAROL, via="macro")
    ticket = desk.get_ticket(ticket_id)
    assert (ticket.status, ticket.tags, receipt.ticket.version) == ("pending", ["info"], 5)
    assert {(e.actor_id, e.via) for e in _events(desk, ticket_id)[2:]} == {("carol", "macro")}
    with pytest.raises(InvalidRuleError):
        desk.define_macro(
            tenant="acme", name="loop", title="x", actions=[{"apply_macro": "need-info"}], by=ADMIN, via="api"
        )


# --- conditions, by property ----------------------------------------------------------------------------

values_ = st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.sampled_from(["a", "b", "urgent"]))
fields_ = st.dictionaries(st.sampled_from(["priority", "status", "group", "type"]), values_)
tests_ = st.builds(
    Check,
    st.sampled_from(["priority", "status", "group", "type"]),
    st.sampled_from(["equals", "not_equals", "is_set", "is_not_set"]),
    values_,
)


@given(fields=fields_, tests=st.lists(tests_, max_size=5))
def test_all_holds_when_every_part_holds_and_any_when_one_does(fields: dict[str, Any], tests: list[Check]) -> None:
    facts = Facts(fields)
    parts = [t.as_dict() for t in tests]
    assert parse({"all": parts}).holds(facts) == all(t.holds(facts) for t in tests)
    assert parse({"any": parts}).holds(facts) == any(t.holds(facts) for t in tests)


@given(fields=fields_, value=values_, others=st.lists(values_, min_size=1, max_size=4))
def test_negations_and_lists_agree_with_equals(fields: dict[str, Any], value: Any, others: list[Any]) -> None:
    facts = Facts(fields)
    equals = Check("priority", "equals", value).holds(facts)
    assert Check("priority", "not_equals", value).holds(facts) is not equals
    assert Check("priority", "in", others).holds(facts) == any(
        Check("priority", "equals", o).holds(facts) for o in others
    )
    assert Check("priority", "not_in", others).holds(facts) is not Check("priority", "in", others).holds(facts)
    assert Check("priority", "is_set", None).holds(facts) is not Check("priority", "is_not_set", None).holds(facts)
