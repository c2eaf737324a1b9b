"""Suggestions in the domain: the abstention rules; a ticket's suggestions recorded, accepted, corrected."""

from __future__ import annotations

from uuid import UUID

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actors import Actor, ActorKind
from domain.errors import AlreadyExistsError, InvalidValueError, NotFoundError, TicketClosedError
from domain.helpdesk import HelpDesk
from domain.suggestions.rules import (
    CONFIDENCE_FLOOR,
    FIELDS,
    MIN_TRAINING_TICKETS,
    Prediction,
    enough_to_learn,
    worth_saying,
)
from tests.support.clock import TickingClock

AGENT = Actor("alice", ActorKind.AGENT)
confidences = st.floats(min_value=0, max_value=1, allow_nan=False)


@given(confidences, confidences, confidences)
def test_a_prediction_is_said_exactly_when_it_reaches_the_floor_and_a_higher_one_is_said_too(
    confidence: float, other: float, floor: float
) -> None:
    low, high = sorted((confidence, other))
    assert worth_saying(Prediction("type", "incident", low, 1), floor) == (low >= floor)
    if worth_saying(Prediction("type", "incident", low, 1), floor):
        assert worth_saying(Prediction("type", "incident", high, 1), floor)


@given(st.integers(min_value=0, max_value=10_000), st.integers(min_value=2, max_value=1000))
def test_a_tenant_learns_only_from_enough_tickets_and_more_never_hurts(count: int, minimum: int) -> None:
    assert enough_to_learn(count, minimum) == (count >= minimum)
    if enough_to_learn(count, minimum):
        assert enough_to_learn(count + 1, minimum)


def test_the_defaults_and_bad_predictions() -> None:
    assert (CONFIDENCE_FLOOR, MIN_TRAINING_TICKETS, FIELDS) == (0.6, 30, ("type", "group", "priority"))
    with pytest.raises(InvalidValueError):
        Prediction("status", "open", 0.9, 1)
    with pytest.raises(InvalidValueError):
        Prediction("type", "incident", 1.5, 1)


def _desk_with_suggestions() -> tuple[HelpDesk, UUID]:
    desk = HelpDesk(clock=TickingClock())
    opened = desk.open_ticket(tenant="acme", title="Printer jam", requester_id="bob", by=AGENT, via="api")
    predictions = [
        Prediction("type", "incident", 0.9, 3),
        Prediction("group", "it", 0.8, 3),
        Prediction("priority", "high", 0.7, 3),
    ]
    desk.record_suggestions(opened.ticket_id, predictions)
    return desk, opened.ticket_id


def test_suggestions_are_recorded_once_per_field_and_model_version_and_survive_a_replay() -> None:
    desk, ticket_id = _desk_with_suggestions()
    again = desk.record_suggestions(ticket_id, [Prediction("type", "incident", 0.95, 3)])
    assert again.position is None  # the same model's suggestion for the field: nothing new
    ticket = desk.get_ticket(ticket_id)
    assert [(s["number"], s["field"], s["value"], s["outcome"]) for s in ticket.suggestions] == [
        (1, "type", "incident", None),
        (2, "group", "it", None),
        (3, "priority", "high", None),
    ]
    events = list(desk.events.get(ticket_id))
    assert [type(e).__name__ for e in events[-3:]] == ["Suggested"] * 3
    assert {(e.actor_id, e.via, e.tenant) for e in events[-3:]} == {("suggester", "suggestions", "acme")}


def test_accepting_applies_the_value_and_correcting_applies_the_agents_choice_each_once() -> None:
    desk, ticket_id = _desk_with_suggestions()
    accepted = desk.accept_suggestion(ticket_id, 1, by=AGENT, via="web")
    assert accepted.ticket.ticket_type == "incident"
    corrected = desk.correct_suggestion(ticket_id, 3, "low", by=AGENT, via="web")
    assert corrected.ticket.priority.value == "low"
    with pytest.raises(AlreadyExistsError):
        desk.accept_suggestion(ticket_id, 1, by=AGENT, via="web")
    with pytest.raises(NotFoundError):
        desk.accept_suggestion(ticket_id, 9, by=AGENT, via="web")
    version = desk.get_ticket(ticket_id).version
    with pytest.raises(InvalidValueError):
        desk.correct_suggestion(ticket_id, 2, "Not A Group!", by=AGENT, via="web")
    assert desk.get_ticket(ticket_id).version == version  # refused: nothing stored
    outcomes = [(s["outcome"], s.get("chosen")) for s in desk.get_ticket(ticket_id).suggestions]
    assert outcomes == [("accepted", "incident"), (None, None), ("corrected", "low")]


def test_a_closed_ticket_takes_no_decision_and_a_solved_one_no_new_suggestion() -> None:
    desk, ticket_id = _desk_with_suggestions()
    desk.transition(ticket_id, "solved", by=AGENT, via="web")
    assert desk.record_suggestions(ticket_id, [Prediction("type", "question", 0.9, 4)]).position is None
    desk.transition(ticket_id, "closed", by=AGENT, via="web")
    with pytest.raises(TicketClosedError):
        desk.accept_suggestion(ticket_id, 1, by=AGENT, via="web")
