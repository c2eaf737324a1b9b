"""As-of reads: a binary search over event times plus snapshots, checked against a plain fold."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from eventsourcing.application import project_aggregate
from hypothesis import given, settings
from hypothesis import strategies as st

from domain.actors import Actor, ActorKind
from domain.errors import TicketNotFoundError
from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services

AGENT = Actor("alice", ActorKind.AGENT)
START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


class SteppedClock:
    """A clock that moves by given steps, backwards too (as several processes' clocks may disagree)."""

    def __init__(self, steps: list[int]) -> None:
        self.now = START
        self.steps = iter(steps)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=next(self.steps, 1))
        return self.now


def fold_until(desk: HelpDesk, ticket_id: Any, moment: datetime) -> Ticket | None:
    events = [e for e in desk.events.get(ticket_id) if e.timestamp <= moment]
    return project_aggregate(None, events) if events else None


@settings(max_examples=60, deadline=None)
@given(
    steps=st.lists(st.integers(min_value=-5, max_value=5), min_size=1, max_size=30),
    probes=st.lists(st.integers(-10, 80), max_size=8),
)
def test_as_of_equals_a_fold_of_the_events_until_then(steps: list[int], probes: list[int]) -> None:
    desk = HelpDesk({"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=SteppedClock(steps))
    ticket_id = desk.open_ticket(tenant="acme", title="t", requester_id="bob", by=AGENT, via="web").ticket_id
    for n in range(len(steps)):
        desk.add_comment(ticket_id, f"note {n}", public=False, by=AGENT, via="web")
    times = [e.timestamp for e in desk.events.get(ticket_id)]
    assert times == sorted(times)  # never backwards, whatever the clock did
    for probe in probes:
        moment = START + timedelta(seconds=probe)
        expected = fold_until(desk, ticket_id, moment)
        if expected is None:
            with pytest.raises(TicketNotFoundError):
                desk.ticket_as_of(ticket_id, moment)
        else:
            assert desk.ticket_as_of(ticket_id, moment) == expected


def test_long_tickets_load_from_snapshots(services: Services) -> None:
    desk = services.desk
    ticket_id = desk.open_ticket(tenant="acme", title="long", requester_id="bob", by=AGENT, via="web").ticket_id
    for n in range(249):
        desk.add_comment(ticket_id, f"note {n}", public=n % 2 == 0, by=AGENT, via="web")
    if desk.snapshots is not None:
        assert [s.originator_version for s in desk.snapshots.get(ticket_id)] == [100, 200]
    events = list(desk.events.get(ticket_id))
    for version in (1, 99, 100, 101, 150, 250):
        assert desk.ticket_at_version(ticket_id, version) == project_aggregate(None, events[:version])
    middle = events[149].timestamp
    assert desk.ticket_as_of(ticket_id, middle).version == 150
    assert desk.get_ticket(ticket_id) == project_aggregate(None, events)
