"""The directory: a tenant's groups (members, routing policy) and agents (groups, skills, capacity, availability).

Read from the tenant's directory itself (an aggregate), so a change is there the moment its PUT
answers. Once a tenant has a directory, tickets are assigned only to its agents and groups.
"""

from __future__ import annotations

from typing import Annotated, Any

from annotated_types import Interval
from fastapi import APIRouter, Response
from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from api.deps import ChannelDep, DeskDep, PrincipalDep
from api.field_schemas import LocationIn
from api.plain_text import Email, Identifier, Slug
from api.problems import problem_responses
from api.read_schemas import JsonInt, json_integer
from api.routers.tickets import POSITION_HEADER
from domain.directory.directory import CAPACITY_MAX, RULES_MAX, SKILL_LEVEL_MAX, SKILLS_MAX, PlaceKind, Routing
from domain.directory.geo import DEFAULT_SPEED_KMH, RADIUS_MAX_KM, SPEED_MAX_KMH, Place
from domain.pipeline import KEEP

router = APIRouter(tags=["directory"])
#: A skill level: a JSON integer from 1 to SKILL_LEVEL_MAX (the bounds first, so the schema states them).
Level = Annotated[int, Interval(ge=1, le=SKILL_LEVEL_MAX), BeforeValidator(json_integer)]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class SkillRuleIn(Strict):
    """Tickets of this type, or with this tag, need these skills (for the `skills` routing policy)."""

    type: Slug | None = None
    tag: Slug | None = None
    skills: dict[Slug, Level] = Field(max_length=SKILLS_MAX, json_schema_extra={"additionalProperties": False})


class GroupIn(Strict):
    """A group: who is in it, and how its new tickets reach them."""

    members: list[Identifier] = Field(default_factory=list, max_length=1000, description="Agents of the directory.")
    routing: Routing = Field(
        default=Routing.MANUAL, description="manual (default), round_robin, least_loaded, skills, nearest."
    )
    skill_rules: list[SkillRuleIn] = Field(default_factory=list, max_length=RULES_MAX)
    radius_km: float | None = Field(
        default=None, gt=0, le=RADIUS_MAX_KM, description="`nearest`: the farthest an agent is sent, in km (none: any)."
    )
    speed_kmh: float | None = Field(
        default=None,
        gt=0,
        le=SPEED_MAX_KMH,
        description=f"`nearest`: the travel speed arrivals are estimated at, in km/h (none: {DEFAULT_SPEED_KMH:g}).",
    )


class GroupOut(GroupIn):
    """A group as the directory holds it."""

    name: str


class AgentIn(Strict):
    """An agent: their groups, skills with levels, capacity and availability."""

    groups: list[Identifier] = Field(default_factory=list, max_length=100, description="Groups of the directory.")
    skills: dict[Slug, Level] = Field(
        default_factory=dict,
        max_length=SKILLS_MAX,
        json_schema_extra={"additionalProperties": False},
        description=f"Skill name -> level (1 to {SKILL_LEVEL_MAX}).",
    )
    capacity: JsonInt = Field(default=10, ge=0, le=CAPACITY_MAX, description="The most open tickets at once.")
    available: StrictBool = Field(default=True, description="Whether routing may give them tickets now.")
    email: Email | None = Field(
        default=None, description="Where notifications reach them (personal data); none: they get no e-mail."
    )
    home_base: LocationIn | None = Field(
        default=None, description="Where `nearest` routing takes them to start from when they report no location."
    )
    location: LocationIn | None = Field(
        default=None,
        description="Where they are now (as `PUT /agents/{id}/location` reports it); absent: kept, null: cleared. "
        "Personal data of the agent, as the home base.",
    )


class AgentOut(AgentIn):
    """An agent as the directory holds them."""

    email: str | None = Field(default=None, description="`[erased]` once the agent's personal data was erased.")

    agent_id: str


class GroupList(BaseModel):
    """The tenant's groups, by name."""

    items: list[GroupOut]


class AgentList(BaseModel):
    """The tenant's agents, by id."""

    items: list[AgentOut]


def _place(value: LocationIn | None) -> Place | None:
    return None if value is None else value.to_domain()


def _answer_position(response: Response, position: int | None) -> None:
    if position is not None:
        response.headers[POSITION_HEADER] = str(position)


@router.put("/groups/{name}", response_model=GroupOut, responses=problem_responses(401, 403, 422))
def put_group(
    name: Identifier, body: GroupIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> GroupOut:
    """Define a group or change it (members replace the group's members; the same definition records nothing)."""
    position = desk.define_group(
        tenant=principal.tenant,
        name=name,
        members=body.members,
        routing=body.routing.value,
        skill_rules=[r.model_dump() for r in body.skill_rules],
        radius_km=body.radius_km,
        speed_kmh=body.speed_kmh,
        by=principal.actor,
        via=via,
    )
    _answer_position(response, position)
    return get_group(name, desk, principal)


@router.get("/groups", response_model=GroupList, responses=problem_responses(401, 403))
def list_groups(desk: DeskDep, principal: PrincipalDep) -> GroupList:
    """The tenant's groups, by name."""
    directory = desk.directory(principal.tenant)
    names = [] if directory is None else sorted(directory.groups)
    return GroupList(items=[get_group(n, desk, principal) for n in names])


@router.get("/groups/{name}", response_model=GroupOut, responses=problem_responses(401, 403, 404))
def get_group(name: Identifier, desk: DeskDep, principal: PrincipalDep) -> GroupOut:
    """A group: members, routing policy, skill rules."""
    group, members = desk.directory_group(principal.tenant, name)
    rules = [SkillRuleIn(type=r.ticket_type, tag=r.tag, skills=dict(r.skills)) for r in group.skill_rules]
    directory = desk.directory(principal.tenant)
    dispatch = {} if directory is None else directory.dispatch.get(name, {})
    return GroupOut(name=group.name, members=members, routing=group.routing, skill_rules=rules, **dispatch)


@router.put("/agents/{agent_id}", response_model=AgentOut, responses=problem_responses(401, 403, 422))
def put_agent(
    agent_id: Identifier, body: AgentIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> AgentOut:
    """Define an agent or change them (groups replace the agent's groups; the same definition records nothing)."""
    position = desk.define_agent(
        tenant=principal.tenant,
        agent=agent_id,
        groups=body.groups,
        skills=body.skills,
        capacity=body.capacity,
        available=body.available,
        email=body.email,
        home_base=_place(body.home_base),
        location=_place(body.location) if "location" in body.model_fields_set else KEEP,
        by=principal.actor,
        via=via,
    )
    _answer_position(response, position)
    return get_agent(agent_id, desk, principal)


@router.get("/agents", response_model=AgentList, responses=problem_responses(401, 403))
def list_agents(desk: DeskDep, principal: PrincipalDep) -> AgentList:
    """The tenant's agents, by id."""
    directory = desk.directory(principal.tenant)
    ids = [] if directory is None else sorted(directory.agents)
    return AgentList(items=[get_agent(a, desk, principal) for a in ids])


@router.get("/agents/{agent_id}", response_model=AgentOut, responses=problem_responses(401, 403, 404))
def get_agent(agent_id: Identifier, desk: DeskDep, principal: PrincipalDep) -> AgentOut:
    """An agent: groups, skills, capacity, availability, e-mail address."""
    agent, groups = desk.directory_agent(principal.tenant, agent_id)
    directory = desk.directory(principal.tenant)
    places = {} if directory is None else directory.places.get(agent_id, {})
    return AgentOut(
        home_base=_shown(places.get(PlaceKind.HOME.value)),
        location=_shown(places.get(PlaceKind.CURRENT.value)),
        agent_id=agent.agent_id,
        groups=groups,
        skills=dict(agent.skills),
        capacity=agent.capacity,
        available=agent.available,
        email=agent.email,
    )


def _shown(stored: Any) -> LocationIn | None:
    # A place reads as a plain string once the agent's personal data was erased: shown as none.
    return LocationIn.shown(stored) if isinstance(stored, dict) else None


@router.put("/agents/{agent_id}/location", response_model=AgentOut, responses=problem_responses(401, 403, 422))
def report_location(
    agent_id: Identifier,
    body: LocationIn | None,
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    response: Response,
) -> AgentOut:
    """An agent reports where they are now (`null`: no longer says), for `nearest` routing; admins for anyone.

    Personal data of the agent: stored encrypted with their key. 403 for another agent's location.
    """
    position = desk.report_location(
        tenant=principal.tenant, agent=agent_id, location=_place(body), by=principal.actor, via=via
    )
    _answer_position(response, position)
    return get_agent(agent_id, desk, principal)
