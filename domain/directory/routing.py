"""Routing decisions: which of a group's agents takes a ticket waiting in its queue, and why.

Pure functions of what the router knows at the moment it decides (the group's policy and
members as the directory says, each member's open tickets and last assignment, the agent the
group's round robin chose last), so the same inputs always give the same decision: two routers
deciding on the same queue choose alike, and a retried decision repeats the first.

Only available agents under capacity (open tickets < capacity) are ever chosen. When nobody
qualifies there is no decision and the ticket keeps waiting in the queue.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from domain.actors import Actor, ActorKind, channel
from domain.directory.directory import AgentEntry, GroupEntry, Routing, SkillRule
from domain.directory.geo import Place, distance_km

#: The channel of routing decisions (how the read models tell them from people's assignments).
CHANNEL = channel("routing")


def router(policy: Routing) -> Actor:
    """Who a routing decision is recorded as: the group's routing rule (`routing:round_robin`, …)."""
    return Actor(f"routing:{policy.value}", ActorKind.SYSTEM)


@dataclass(frozen=True, slots=True)
class Candidate:
    """A member of the group as the router sees them at the moment it decides."""

    agent: AgentEntry
    open_tickets: int
    last_assigned_at: datetime | None  # None: never assigned, which is the longest idle of all
    place: Place | None = None  # where they start from (nearest routing): reported, else their home base

    @property
    def has_room(self) -> bool:
        """Available, and under capacity."""
        return self.agent.available and self.open_tickets < self.agent.capacity


@dataclass(frozen=True, slots=True)
class WaitingTicket:
    """What routing reads of a ticket: what its skill rules look at."""

    ticket_type: str | None
    tags: frozenset[str]
    location: Place | None = None  # where it is served (nearest routing)


@dataclass(frozen=True, slots=True)
class Decision:
    """The agent chosen and the reason, in words an auditor reads in the ticket's history."""

    agent: str
    reason: str
    distance_km: float | None = None  # how far the agent is from the ticket (nearest routing)


def decide(
    group: GroupEntry,
    members: Sequence[Candidate],
    ticket: WaitingTicket,
    *,
    last_chosen: str | None,
    radius_km: float | None = None,
) -> Decision | None:
    """The agent of `group` who takes `ticket`, or None (manual routing, or nobody qualifies)."""
    members = sorted(members, key=lambda c: c.agent.agent_id)
    if group.routing is Routing.ROUND_ROBIN:
        return _round_robin(members, last_chosen)
    if group.routing is Routing.LEAST_LOADED:
        return _least_loaded(members)
    if group.routing is Routing.SKILLS:
        return _by_skills(members, required_skills(group.skill_rules, ticket))
    if group.routing is Routing.NEAREST:
        return _nearest(members, required_skills(group.skill_rules, ticket), ticket.location, radius_km)
    return None


def _round_robin(members: Sequence[Candidate], last_chosen: str | None) -> Decision | None:
    """The first member with room after the last one chosen, in id order, wrapping round."""
    ids = [c.agent.agent_id for c in members]
    start = 0 if last_chosen is None else next((i for i, a in enumerate(ids) if a > last_chosen), 0)
    for offset in range(len(members)):
        candidate = members[(start + offset) % len(members)]
        if candidate.has_room:
            after = "first in the group" if last_chosen is None else f"next after {last_chosen}"
            return Decision(candidate.agent.agent_id, f"round_robin: {after}")
    return None


def _least_loaded(members: Iterable[Candidate]) -> Decision | None:
    chosen = _least_loaded_of(members)
    if chosen is None:
        return None
    return Decision(chosen.agent.agent_id, f"least_loaded: {chosen.open_tickets} open")


def _least_loaded_of(members: Iterable[Candidate]) -> Candidate | None:
    """Fewest open tickets; ties by longest idle (never assigned first), then by id."""
    with_room = [c for c in members if c.has_room]
    if not with_room:
        return None
    return min(with_room, key=lambda c: (c.open_tickets, _idle_key(c), c.agent.agent_id))


def _idle_key(candidate: Candidate) -> tuple[int, datetime | None]:
    # Never assigned sorts before any moment; among moments, the earliest is the longest idle.
    last = candidate.last_assigned_at
    return (0, None) if last is None else (1, last)


def required_skills(rules: Iterable[SkillRule], ticket: WaitingTicket) -> dict[str, int]:
    """The skills the ticket needs: of every rule its type or tags meet, the highest level asked per skill."""
    needed: dict[str, int] = {}
    for rule in rules:
        meets = (rule.ticket_type is not None and rule.ticket_type == ticket.ticket_type) or (
            rule.tag is not None and rule.tag in ticket.tags
        )
        if meets:
            for skill, level in rule.skills.items():
                needed[skill] = max(level, needed.get(skill, 0))
    return needed


def _by_skills(members: Sequence[Candidate], needed: Mapping[str, int]) -> Decision | None:
    """Of the members who have every needed skill at its level, the best match, then the least loaded."""
    qualified = [c for c in members if all(c.agent.skills.get(s, 0) >= lvl for s, lvl in needed.items())]
    if not needed:
        chosen = _least_loaded_of(qualified)
        return None if chosen is None else Decision(chosen.agent.agent_id, f"skills: none needed, {_load(chosen)}")
    best = max((_match(c, needed) for c in qualified if c.has_room), default=None)
    if best is None:
        return None
    chosen = _least_loaded_of(c for c in qualified if _match(c, needed) == best)
    assert chosen is not None  # `best` came from a member with room
    wanted = ", ".join(f"{s}>={lvl}" for s, lvl in sorted(needed.items()))
    return Decision(chosen.agent.agent_id, f"skills: {wanted}, match {best}, {_load(chosen)}")


def _match(candidate: Candidate, needed: Mapping[str, int]) -> int:
    """How well an agent matches: the sum of their levels in the needed skills."""
    return sum(candidate.agent.skills.get(skill, 0) for skill in needed)


def _load(candidate: Candidate) -> str:
    return f"{candidate.open_tickets} open"


def _nearest(
    members: Sequence[Candidate], needed: Mapping[str, int], location: Place | None, radius_km: float | None
) -> Decision | None:
    """Of the members with room, every needed skill and a known place within the radius: the closest.

    Ties (equally far) go to the least loaded, then the longest idle, then by id. A ticket that
    says no place is not for this policy: it waits for a person.
    """
    if location is None:
        return None
    eligible = [
        (distance_km(c.place, location), c)
        for c in members
        if c.has_room and c.place is not None and all(c.agent.skills.get(s, 0) >= lvl for s, lvl in needed.items())
    ]
    within = [(km, c) for km, c in eligible if radius_km is None or km <= radius_km]
    if not within:
        return None
    km, chosen = min(within, key=lambda e: (e[0], e[1].open_tickets, _idle_key(e[1]), e[1].agent.agent_id))
    return Decision(chosen.agent.agent_id, f"nearest: {km:.1f} km, {_load(chosen)}", distance_km=km)
