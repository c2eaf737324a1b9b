"""A tenant's directory: its agents (skills, capacity, availability) and groups (members, routing policy).

One directory per tenant (its id follows from the tenant), so who belongs where is said in one
place: a group's definition names its members, an agent's names its groups, and each replaces
that side of the membership. A tenant without a directory assigns freely, as before directories
existed; once it has one, assigning to an agent or group it does not know is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.directory import geo
from domain.directory.geo import Place
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned

_DIRECTORIES = uuid.UUID("0e6b8d3a-57c1-4f2e-a9d4-7c3b1e5f9a20")
AGENTS_MAX = 10_000
GROUPS_MAX = 1_000
SKILLS_MAX = 50
SKILL_LEVEL_MAX = 10
CAPACITY_MAX = 1_000
RULES_MAX = 100


class Routing(StrEnum):
    """How a group's new tickets reach its agents."""

    MANUAL = "manual"  # they wait in the group's queue for a claim or an assignment
    ROUND_ROBIN = "round_robin"  # the next available agent after the last one chosen
    LEAST_LOADED = "least_loaded"  # fewest open tickets, ties by longest idle
    SKILLS = "skills"  # best match of the skills the ticket needs, then least loaded
    NEAREST = "nearest"  # the closest agent with the skills and room, within the group's radius, ties by load


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """An agent as the directory knows them."""

    agent_id: str
    skills: Mapping[str, int]
    capacity: int  # the most open tickets at once
    available: bool
    email: str | None = None  # where notifications reach them (None: they get none)


@dataclass(frozen=True, slots=True)
class SkillRule:
    """Which skills a ticket needs: those of the first rules whose condition it meets (type, tag)."""

    ticket_type: str | None
    tag: str | None
    skills: Mapping[str, int]

    def as_dict(self) -> dict[str, Any]:
        """Plain values."""
        return {"type": self.ticket_type, "tag": self.tag, "skills": dict(self.skills)}


@dataclass(frozen=True, slots=True)
class GroupEntry:
    """A group as the directory knows it."""

    name: str
    routing: Routing
    skill_rules: tuple[SkillRule, ...] = field(default=())


class Directory(TenantOwned):
    """Every agent and group of a tenant, and who belongs to which group."""

    class Event(TenantOwned.Event):
        """Base of directory events: whose directory, who changed it, and how."""

    class Started(Event, Recorded.Created):
        """The tenant's first agent or group is about to be recorded."""

    class GroupDefined(Event):
        name: str
        members: list[str]
        routing: str
        skill_rules: list[dict[str, Any]]

    class AgentDefined(Event):
        agent: str
        groups: list[str]
        skills: dict[str, int]
        capacity: int
        available: bool
        email: str | None  # personal: sealed with the agent's data key (infrastructure/privacy/mapper.py)

        class_version = 3  # 3: the e-mail address

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Agents defined before addresses were recorded have none."""
            state["email"] = None

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's directory."""
        return uuid.uuid5(_DIRECTORIES, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> Directory:
        """A new, empty directory for the tenant."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(
        self,
        *,
        tenant: str,
    ) -> None:
        self.tenant = tenant
        self.groups: dict[str, dict[str, Any]] = {}  # name -> {"routing", "skill_rules"}
        self.agents: dict[str, dict[str, Any]] = {}  # id -> {"skills", "capacity", "available"}
        self.membership: set[tuple[str, str]] = set()  # (agent, group)
        self.places: dict[str, dict[str, dict[str, Any]]] = {}  # agent -> {"current"/"home": place} (geo.py)
        self.dispatch: dict[str, dict[str, float | None]] = {}  # group -> {"radius_km", "speed_kmh"}

    # --- groups ----------------------------------------------------------------------------------------

    def define_group(
        self, name: str, *, members: Iterable[str], routing: str, skill_rules: Iterable[Mapping[str, Any]] = ()
    ) -> None:
        """Define a group or change it: its members (agents of the directory), routing policy and skill rules."""
        checked = identifier(name, "group")
        people = sorted({identifier(m, "member") for m in members})
        unknown = [m for m in people if m not in self.agents]
        if unknown:
            msg = f"the group's members must be agents of the directory (PUT /agents/...): {', '.join(unknown)}"
            raise InvalidValueError(msg)
        policy = values.choice(Routing, routing, "routing")
        rules = [_skill_rule(r).as_dict() for r in _bounded(list(skill_rules), "skill_rules", RULES_MAX)]
        if checked not in self.groups and len(self.groups) >= GROUPS_MAX:
            msg = f"a tenant may have at most {GROUPS_MAX} groups"
            raise InvalidValueError(msg)
        current = self.groups.get(checked)
        if current == {"routing": policy.value, "skill_rules": rules} and self.members_of(checked) == people:
            return
        self._group_defined(name=checked, members=people, routing=policy.value, skill_rules=rules)

    @event(GroupDefined)
    def _group_defined(
        self,
        *,
        name: str,
        members: list[str],
        routing: str,
        skill_rules: list[dict[str, Any]],
    ) -> None:
        self.groups = {**self.groups, name: {"routing": routing, "skill_rules": skill_rules}}
        self.membership = {(a, g) for a, g in self.membership if g != name} | {(m, name) for m in members}

    # --- agents ----------------------------------------------------------------------------------------

    def define_agent(
        self,
        agent: str,
        *,
        groups: Iterable[str],
        skills: Mapping[str, int],
        capacity: int,
        available: bool,
        email: str | None = None,
    ) -> None:
        """Define an agent or change them: groups (groups of the directory), skills, capacity, availability, e-mail."""
        checked = identifier(agent, "agent")
        names = sorted({identifier(g, "group") for g in groups})
        unknown = [g for g in names if g not in self.groups]
        if unknown:
            msg = f"the agent's groups must be groups of the directory (PUT /groups/...): {', '.join(unknown)}"
            raise InvalidValueError(msg)
        levels = _skills(skills)
        if isinstance(capacity, bool) or not isinstance(capacity, int) or not 0 <= capacity <= CAPACITY_MAX:
            msg = f"capacity must be a whole number from 0 to {CAPACITY_MAX}"
            raise InvalidValueError(msg)
        if not isinstance(available, bool):
            msg = "available must be true or false"
            raise InvalidValueError(msg)
        if checked not in self.agents and len(self.agents) >= AGENTS_MAX:
            msg = f"a tenant may have at most {AGENTS_MAX} agents"
            raise InvalidValueError(msg)
        address = None if email is None else values.email(email)
        entry = {"skills": levels, "capacity": capacity, "available": available, "email": address}
        if self.agents.get(checked) == entry and self.groups_of(checked) == names:
            return
        self._agent_defined(
            agent=checked, groups=names, skills=levels, capacity=capacity, available=available, email=address
        )

    @event(AgentDefined)
    def _agent_defined(
        self,
        *,
        agent: str,
        groups: list[str],
        skills: dict[str, int],
        capacity: int,
        available: bool,
        email: str | None,
    ) -> None:
        entry = {"skills": skills, "capacity": capacity, "available": available, "email": email}
        self.agents = {**self.agents, agent: entry}
        self.membership = {(a, g) for a, g in self.membership if a != agent} | {(agent, g) for g in groups}

    # --- reading ---------------------------------------------------------------------------------------

    def members_of(self, group: str) -> list[str]:
        """The group's agents, by id."""
        return sorted(a for a, g in self.membership if g == group)

    def groups_of(self, agent: str) -> list[str]:
        """The agent's groups, by name."""
        return sorted(g for a, g in self.membership if a == agent)

    def agent(self, agent_id: str) -> AgentEntry | None:
        """An agent of the directory, or None."""
        found = self.agents.get(agent_id)
        if found is None:
            return None
        return AgentEntry(agent_id, dict(found["skills"]), found["capacity"], found["available"], found.get("email"))

    def agent_with_address(self, address: str) -> str | None:
        """The agent whose e-mail address this is (compared case-blind), or None."""
        wanted = address.strip().lower()
        for agent_id, entry in sorted(self.agents.items()):
            if (entry.get("email") or "").lower() == wanted:
                return agent_id
        return None

    def group(self, name: str) -> GroupEntry | None:
        """A group of the directory, or None."""
        found = self.groups.get(name)
        if found is None:
            return None
        rules = tuple(SkillRule(r["type"], r["tag"], dict(r["skills"])) for r in found["skill_rules"])
        return GroupEntry(name, Routing(found["routing"]), rules)

    def check_assignment(self, assignee: str | None, group: str | None) -> None:
        """Refuse an assignment to an agent or group the directory does not know (422)."""
        if group is not None and group not in self.groups:
            msg = f"no group {group!r} in the directory (PUT /groups/{group} defines it)"
            raise InvalidValueError(msg)
        if assignee is not None and assignee not in self.agents:
            msg = f"no agent {assignee!r} in the directory (PUT /agents/{assignee} defines them)"
            raise InvalidValueError(msg)

    # --- field service: where agents are, how far and fast groups dispatch (geo.py) ---------------------

    class AgentLocated(Event):
        """Where an agent is now (`current`, as they report it) or their base (`home`); None clears it."""

        agent: str
        kind: str  # a PlaceKind
        location: dict[str, Any] | None  # personal: sealed with the agent's data key (the privacy mapper)

    class GroupDispatchSet(Event):
        """A group's dispatch settings: the radius it sends agents within, the speed their travel is estimated at."""

        name: str
        radius_km: float | None  # None: no limit
        speed_kmh: float | None  # None: geo.DEFAULT_SPEED_KMH

    def locate_agent(self, agent: str, kind: str, location: Place | None) -> None:
        """Put on record where an agent is now, or their home base (None clears it)."""
        if agent not in self.agents:
            msg = f"no agent {agent!r} in the directory (PUT /agents/{agent} defines them)"
            raise InvalidValueError(msg)
        which = values.choice(PlaceKind, kind, "location kind")
        stored = None if location is None else location.as_dict()
        if self.places.get(agent, {}).get(which.value) != stored:
            self._agent_located(agent=agent, kind=which.value, location=stored)

    @event(AgentLocated)
    def _agent_located(self, *, agent: str, kind: str, location: dict[str, Any] | None) -> None:
        kept = {k: v for k, v in self.places.get(agent, {}).items() if k != kind}
        self.places = {**self.places, agent: kept if location is None else {**kept, kind: location}}

    def set_dispatch(self, group: str, *, radius_km: float | None, speed_kmh: float | None) -> None:
        """Set how far a group dispatches and how fast its agents are taken to travel (None: no limit, the default)."""
        if group not in self.groups:
            msg = f"no group {group!r} in the directory (PUT /groups/{group} defines it)"
            raise InvalidValueError(msg)
        radius = None if radius_km is None else geo.positive(radius_km, "radius_km", geo.RADIUS_MAX_KM)
        speed = None if speed_kmh is None else geo.positive(speed_kmh, "speed_kmh", geo.SPEED_MAX_KMH)
        if self.dispatch.get(group, {"radius_km": None, "speed_kmh": None}) != {
            "radius_km": radius,
            "speed_kmh": speed,
        }:
            self._group_dispatch_set(name=group, radius_km=radius, speed_kmh=speed)

    @event(GroupDispatchSet)
    def _group_dispatch_set(self, *, name: str, radius_km: float | None, speed_kmh: float | None) -> None:
        self.dispatch = {**self.dispatch, name: {"radius_km": radius_km, "speed_kmh": speed_kmh}}

    def place_of(self, agent: str) -> Place | None:
        """Where dispatch takes an agent to start from: where they last said they are, else their home base."""
        places = self.places.get(agent, {})
        found = places.get(PlaceKind.CURRENT.value) or places.get(PlaceKind.HOME.value)
        return Place.from_dict(found) if isinstance(found, dict) else None  # none, or erased with the agent

    def dispatch_of(self, group: str) -> Dispatch:
        """A group's dispatch settings (the defaults where it set none)."""
        found = self.dispatch.get(group, {})
        return Dispatch(found.get("radius_km"), found.get("speed_kmh") or geo.DEFAULT_SPEED_KMH)


class PlaceKind(StrEnum):
    """Which of an agent's places: where they are now, or their home base."""

    CURRENT = "current"
    HOME = "home"


@dataclass(frozen=True, slots=True)
class Dispatch:
    """How far a group sends its agents (None: no limit) and the speed their travel is estimated at."""

    radius_km: float | None
    speed_kmh: float


def _skills(raw: Mapping[str, int]) -> dict[str, int]:
    if not isinstance(raw, Mapping) or len(raw) > SKILLS_MAX:
        msg = f"skills map at most {SKILLS_MAX} skill names to levels"
        raise InvalidValueError(msg)
    levels: dict[str, int] = {}
    for name, level in sorted(raw.items()):
        if isinstance(level, bool) or not isinstance(level, int) or not 1 <= level <= SKILL_LEVEL_MAX:
            msg = f"a skill's level is a whole number from 1 to {SKILL_LEVEL_MAX} (got {level!r} for {name!r})"
            raise InvalidValueError(msg)
        levels[values.slug(name, "skill")] = level
    return levels


def _skill_rule(raw: Mapping[str, Any]) -> SkillRule:
    if not isinstance(raw, Mapping):
        msg = "a skill rule is an object with type or tag, and skills"
        raise InvalidValueError(msg)
    ticket_type, tag = raw.get("type"), raw.get("tag")
    if (ticket_type is None) == (tag is None):
        msg = "a skill rule names a ticket type or a tag (one of them)"
        raise InvalidValueError(msg)
    checked_type = None if ticket_type is None else values.slug(str(ticket_type), "a skill rule's type")
    checked_tag = None if tag is None else values.slug(str(tag), "a skill rule's tag")
    return SkillRule(checked_type, checked_tag, _skills(raw.get("skills") or {}))


def _bounded(items: list[Any], what: str, most: int) -> list[Any]:
    if len(items) > most:
        msg = f"{what} may list at most {most} items"
        raise InvalidValueError(msg)
    return items
