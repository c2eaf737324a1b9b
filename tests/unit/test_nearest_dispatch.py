"""Field service: great-circle distances, and `nearest` routing's choice of agent (by property)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.directory.directory import AgentEntry, Directory, GroupEntry, Routing, SkillRule
from domain.directory.geo import EARTH_RADIUS_KM, Place, arrival, distance_km, place
from domain.directory.routing import Candidate, WaitingTicket, decide
from domain.errors import InvalidValueError

NEAREST = GroupEntry("field", Routing.NEAREST)
SHANGHAI = Place(31.2304, 121.4737)
BEIJING = Place(39.9042, 116.4074)

latitudes = st.floats(min_value=-90, max_value=90, allow_nan=False)
longitudes = st.floats(min_value=-180, max_value=180, allow_nan=False)
places = st.builds(Place, latitudes, longitudes)
#: Agents around one city: near enough that a float's last digits do not decide every tie.
nearby = st.builds(Place, st.floats(30.5, 32.0), st.floats(120.5, 122.5))
#: Slack for floating-point error, in kilometres (far below a metre).
EPSILON = 1e-6


@given(a=places, b=places)
def test_distance_is_symmetric_non_negative_and_at_most_half_the_circumference(a: Place, b: Place) -> None:
    assert distance_km(a, b) == pytest.approx(distance_km(b, a), abs=EPSILON)
    assert 0 <= distance_km(a, b) <= 3.141592653589793 * EARTH_RADIUS_KM + EPSILON
    assert distance_km(a, a) == pytest.approx(0, abs=EPSILON)


@given(a=places, b=places, c=places)
def test_distance_keeps_the_triangle_inequality(a: Place, b: Place, c: Place) -> None:
    assert distance_km(a, c) <= distance_km(a, b) + distance_km(b, c) + EPSILON


def test_shanghai_to_beijing_is_about_1070_km() -> None:
    assert distance_km(SHANGHAI, BEIJING) == pytest.approx(1067, rel=0.01)


def test_an_arrival_is_the_travel_time_after_departure() -> None:
    leaving = datetime(2026, 11, 23, 9, tzinfo=UTC)
    assert arrival(leaving, 15.0, 30.0) == datetime(2026, 11, 23, 9, 30, tzinfo=UTC)


@pytest.mark.parametrize(("lat", "lon"), [(91, 0), (0, 180.5), (float("nan"), 0), (True, 0)])
def test_a_place_off_the_earth_is_refused(lat: float, lon: float) -> None:
    with pytest.raises(InvalidValueError):
        place(lat, lon)


def _member(n: int, where: Place | None, *, load: int = 0, room: bool = True, skill: int = 0) -> Candidate:
    entry = AgentEntry(f"agent-{n:02}", {"boilers": skill} if skill else {}, 10 if room else load, True)
    return Candidate(entry, load, None, where)


members = st.lists(
    st.tuples(st.one_of(st.none(), nearby), st.integers(0, 3), st.booleans(), st.integers(0, 3)),
    min_size=1,
    max_size=12,
)


@given(script=members, ticket=nearby, radius=st.one_of(st.none(), st.floats(1, 200)))
def test_the_chosen_agent_is_never_farther_than_any_eligible_one(
    script: list[tuple[Place | None, int, bool, int]], ticket: Place, radius: float | None
) -> None:
    group = GroupEntry("field", Routing.NEAREST, (SkillRule("repair", None, {"boilers": 2}),))
    candidates = [_member(n, p, load=load, room=room, skill=skill) for n, (p, load, room, skill) in enumerate(script)]
    eligible = [
        c
        for c in candidates
        if c.has_room
        and c.place is not None
        and c.agent.skills.get("boilers", 0) >= 2
        and (radius is None or distance_km(c.place, ticket) <= radius)
    ]
    decision = decide(
        group, candidates, WaitingTicket("repair", frozenset(), ticket), last_chosen=None, radius_km=radius
    )
    if not eligible:
        assert decision is None
        return
    assert decision is not None
    chosen = next(c for c in eligible if c.agent.agent_id == decision.agent)
    assert decision.distance_km == distance_km(chosen.place or ticket, ticket)
    assert all(decision.distance_km <= distance_km(c.place or ticket, ticket) for c in eligible)
    assert decision.reason.startswith("nearest: ")


@given(where=nearby, loads=st.lists(st.integers(0, 9), min_size=2, max_size=8), ticket=nearby)
def test_agents_equally_far_are_chosen_by_load(where: Place, loads: list[int], ticket: Place) -> None:
    candidates = [_member(n, where, load=load) for n, load in enumerate(loads)]
    decision = decide(NEAREST, candidates, WaitingTicket(None, frozenset(), ticket), last_chosen=None)
    assert decision is not None
    least = min(loads)
    assert decision.agent == f"agent-{loads.index(least):02}"  # the least loaded; of those, the first by id


def test_a_ticket_without_a_place_waits_for_a_person() -> None:
    decision = decide(NEAREST, [_member(1, SHANGHAI)], WaitingTicket(None, frozenset()), last_chosen=None)
    assert decision is None


def test_an_agent_starts_from_where_they_are_else_from_their_home_base() -> None:
    from domain.actors import Actor, ActorKind
    from domain.provenance import CommandContext, acting

    context = CommandContext(Actor("boss", ActorKind.AGENT, role="admin"), "api", datetime(2026, 11, 23, tzinfo=UTC))
    with acting(context):
        directory = Directory.start(tenant="acme")
        directory.define_agent("ann", groups=[], skills={}, capacity=5, available=True)
        directory.locate_agent("ann", "home", BEIJING)
        assert directory.place_of("ann") == BEIJING
        directory.locate_agent("ann", "current", SHANGHAI)
        assert directory.place_of("ann") == SHANGHAI
        directory.locate_agent("ann", "current", None)
        assert directory.place_of("ann") == BEIJING
        with pytest.raises(InvalidValueError):
            directory.locate_agent("bob", "home", BEIJING)
