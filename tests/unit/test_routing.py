"""Routing decisions: fair round robin, least loaded with ties by idleness, skills, and only agents with room."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from domain.directory.directory import AgentEntry, GroupEntry, Routing, SkillRule
from domain.directory.routing import Candidate, Decision, WaitingTicket, decide, required_skills

T0 = datetime(2026, 12, 1, 9, tzinfo=UTC)
PLAIN = WaitingTicket(None, frozenset())


def _member(
    agent: str,
    *,
    open_tickets: int = 0,
    capacity: int = 10,
    available: bool = True,
    skills: dict[str, int] | None = None,
    last: datetime | None = None,
) -> Candidate:
    return Candidate(AgentEntry(agent, skills or {}, capacity, available), open_tickets, last)


def _burst(group: GroupEntry, members: list[Candidate], tickets: int) -> list[Decision | None]:
    """Route a burst as the router does: each decision counted into what the next one sees."""
    by_id, last, made = {m.agent.agent_id: m for m in members}, None, []
    for n in range(tickets):
        decision = decide(group, list(by_id.values()), PLAIN, last_chosen=last)
        made.append(decision)
        if decision is not None:
            chosen = by_id[decision.agent]
            by_id[decision.agent] = Candidate(chosen.agent, chosen.open_tickets + 1, T0 + timedelta(seconds=n))
            last = decision.agent
    return made


def test_a_burst_of_60_tickets_into_3_agents_gives_each_20() -> None:
    made = _burst(GroupEntry("it", Routing.ROUND_ROBIN), [_member(a, capacity=100) for a in "abc"], 60)
    assert Counter(d.agent for d in made if d is not None) == {"a": 20, "b": 20, "c": 20}
    assert [d.reason for d in made[:2] if d is not None] == [
        "round_robin: first in the group",
        "round_robin: next after a",
    ]


@given(
    agents=st.integers(min_value=1, max_value=8),
    rounds=st.integers(min_value=1, max_value=10),
    policy=st.sampled_from([Routing.ROUND_ROBIN, Routing.LEAST_LOADED, Routing.SKILLS]),
)
def test_every_policy_spreads_a_burst_evenly_over_equal_agents(agents: int, rounds: int, policy: Routing) -> None:
    members = [_member(f"agent-{n}", capacity=1000) for n in range(agents)]
    made = _burst(GroupEntry("it", policy), members, agents * rounds)
    assert Counter(d.agent for d in made if d is not None) == {m.agent.agent_id: rounds for m in members}


@given(
    capacities=st.lists(st.integers(min_value=0, max_value=4), min_size=1, max_size=6),
    away=st.sets(st.integers(min_value=0, max_value=5)),
    tickets=st.integers(min_value=0, max_value=30),
    policy=st.sampled_from([Routing.ROUND_ROBIN, Routing.LEAST_LOADED, Routing.SKILLS]),
)
def test_only_available_agents_under_capacity_are_chosen_and_the_rest_waits(
    capacities: list[int], away: set[int], tickets: int, policy: Routing
) -> None:
    members = [_member(f"a{n}", capacity=c, available=n not in away) for n, c in enumerate(capacities)]
    made = _burst(GroupEntry("it", policy), members, tickets)
    counts = Counter(d.agent for d in made if d is not None)
    room = sum(c for n, c in enumerate(capacities) if n not in away)
    assert sum(counts.values()) == min(tickets, room)
    for n, capacity in enumerate(capacities):
        assert counts[f"a{n}"] <= (0 if n in away else capacity)
    assert all(d is None for d in made[room:])  # once everyone is full, tickets wait


def test_round_robin_resumes_after_the_last_chosen_even_if_they_left_the_group() -> None:
    group = GroupEntry("it", Routing.ROUND_ROBIN)
    members = [_member("ann"), _member("cat"), _member("eve")]
    assert decide(group, members, PLAIN, last_chosen="cat") == Decision("eve", "round_robin: next after cat")
    assert decide(group, members, PLAIN, last_chosen="eve") == Decision("ann", "round_robin: next after eve")
    assert decide(group, members, PLAIN, last_chosen="bob") == Decision("cat", "round_robin: next after bob")
    full = [_member("ann"), _member("cat", capacity=0), _member("eve", available=False)]
    assert decide(group, full, PLAIN, last_chosen="ann") == Decision("ann", "round_robin: next after ann")


def test_least_loaded_takes_fewest_open_then_longest_idle() -> None:
    group = GroupEntry("it", Routing.LEAST_LOADED)
    members = [
        _member("ann", open_tickets=2, last=T0),
        _member("bob", open_tickets=1, last=T0 + timedelta(hours=1)),
        _member("cat", open_tickets=1, last=T0),
        _member("dan", open_tickets=0, capacity=0),
    ]
    assert decide(group, members, PLAIN, last_chosen=None) == Decision("cat", "least_loaded: 1 open")
    never = [*members, _member("eve", open_tickets=1)]
    assert decide(group, never, PLAIN, last_chosen=None) == Decision("eve", "least_loaded: 1 open")


def test_skills_choose_the_best_match_of_the_qualified_then_the_least_loaded() -> None:
    rules = (SkillRule("network", None, {"networking": 2}), SkillRule(None, "vip", {"english": 1, "networking": 3}))
    group = GroupEntry("it", Routing.SKILLS, rules)
    members = [
        _member("ann", skills={"networking": 5, "english": 1}, open_tickets=3),
        _member("bob", skills={"networking": 2}),
        _member("cat", skills={"networking": 5, "english": 1}, open_tickets=1),
        _member("dan", skills={"english": 5}),
    ]
    network = WaitingTicket("network", frozenset())
    assert decide(group, members, network, last_chosen=None) == Decision(
        "cat", "skills: networking>=2, match 5, 1 open"
    )
    vip = WaitingTicket("network", frozenset({"vip"}))
    assert required_skills(rules, vip) == {"networking": 3, "english": 1}
    assert decide(group, members, vip, last_chosen=None) == Decision(
        "cat", "skills: english>=1, networking>=3, match 6, 1 open"
    )
    nobody = [_member("bob", skills={"networking": 2}), _member("dan", skills={"english": 5})]
    assert decide(group, nobody, vip, last_chosen=None) is None
    assert decide(group, nobody, PLAIN, last_chosen=None) == Decision("bob", "skills: none needed, 0 open")


def test_manual_routing_decides_nothing() -> None:
    assert decide(GroupEntry("it", Routing.MANUAL), [_member("ann")], PLAIN, last_chosen=None) is None
