"""Bodies and answers of the workflow endpoints: definitions, versions, migrations, a ticket's moves."""

from __future__ import annotations

from typing import Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.plain_text import Slug
from domain.tickets.workflow import Status
from domain.workflows.catalogue import Version
from domain.workflows.lifecycle import REQUIRED_MAX, STATES_MAX, TRANSITIONS_MAX, TYPES_MAX

MoveRole = Literal["customer", "agent", "supervisor", "admin"]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class StateIn(Strict):
    """A state of the workflow, what it counts as, and the custom fields a ticket needs to move into it."""

    name: Slug = Field(examples=["waiting_for_parts"])
    category: Status = Field(
        description="new, open, pending, on_hold, solved or closed: what queues, SLA clocks and reports read. "
        "A closed state is final.",
        examples=["pending"],
    )
    required_fields: list[Slug] = Field(
        default_factory=list,
        max_length=REQUIRED_MAX,
        description="Custom fields a ticket must have set to move into this state, from any state (422 with "
        "`missing` otherwise; nothing is stored). Not for the initial state: tickets are opened there.",
        examples=[["part_number"]],
    )


class TransitionIn(Strict):
    """A move from one state to another, for some roles, once some custom fields are set."""

    source: Slug = Field(alias="from", examples=["open"])
    to: Slug = Field(examples=["waiting_for_parts"])
    roles: list[MoveRole] | None = Field(
        default=None, max_length=4, description="Only these roles; default: any who may move tickets."
    )
    requires: list[Slug] = Field(
        default_factory=list, max_length=REQUIRED_MAX, description="Custom fields the ticket must have set."
    )


class WorkflowIn(Strict):
    """A workflow definition: its states, the moves between them, where tickets start, the types it serves."""

    states: list[StateIn] = Field(min_length=1, max_length=STATES_MAX)
    transitions: list[TransitionIn] = Field(default_factory=list, max_length=TRANSITIONS_MAX)
    initial: Slug = Field(description="The state new tickets start in.", examples=["new"])
    ticket_types: list[Slug] = Field(
        default_factory=list,
        max_length=TYPES_MAX,
        description="New tickets of these types run under this workflow (a type is served by one workflow at most); "
        "tickets of other types run under `default`.",
    )
    allow_open_children: StrictBool = Field(
        default=False, description="Whether a parent ticket may move to a solved state while children are open."
    )

    def definition(self) -> dict[str, Any]:
        """The definition in the domain's words."""
        return self.model_dump(mode="json", by_alias=True)


class TransitionOut(BaseModel):
    """A move of a workflow."""

    model_config = ConfigDict(populate_by_name=True, serialize_by_alias=True)

    source: str = Field(alias="from")
    to: str
    roles: list[str] | None
    requires: list[str]


class StateOut(BaseModel):
    """A state of a workflow version (versions published before states could require fields require none)."""

    name: str
    category: Status
    required_fields: list[str]


class WorkflowOut(BaseModel):
    """One version of a workflow."""

    name: str
    version: int
    states: list[StateOut]
    transitions: list[TransitionOut]
    initial: str
    ticket_types: list[str]
    allow_open_children: bool

    @classmethod
    def of(cls, version: Version) -> WorkflowOut:
        """The public form of a workflow version."""
        plain = version.lifecycle.as_dict()
        return cls(
            name=version.name,
            version=version.version,
            states=[StateOut.model_validate(s) for s in plain["states"]],
            transitions=[TransitionOut.model_validate(t) for t in plain["transitions"]],
            initial=plain["initial"],
            ticket_types=plain["ticket_types"],
            allow_open_children=plain["allow_open_children"],
        )


class WorkflowList(BaseModel):
    """The latest version of each of the tenant's workflows, `default` first."""

    items: list[WorkflowOut]


class MigrationIn(Strict):
    """Move open tickets from one version of the workflow to a later one."""

    from_version: int = Field(ge=1, le=2**31 - 1, description="The version the tickets run under now.")
    to_version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Default: the latest.")
    mapping: dict[Slug, Slug] = Field(
        default_factory=dict,
        max_length=STATES_MAX,
        json_schema_extra={"additionalProperties": False},  # keys are slugs (patternProperties), as the domain says
        description="Old state -> new state. A state the new version also has maps to itself unless mapped; "
        "any other state that is not closed must be mapped, or nothing is migrated (422).",
    )
    tickets: list[UUID] | None = Field(
        default=None, max_length=1000, description="These tickets; default: every ticket not closed on from_version."
    )


class MigratedTicket(BaseModel):
    """What the migration did to one ticket."""

    ticket_id: UUID
    migrated: bool
    problem: str | None = Field(default=None, description="Why it was not migrated.")


class MigrationOut(BaseModel):
    """What a migration recorded."""

    workflow: str
    from_version: int
    to_version: int
    migrated: int
    tickets: list[MigratedTicket]
    position: int | None = Field(description="The log position of the last change, for min_position.")


class MoveOut(BaseModel):
    """A move the caller may make now."""

    to: str
    category: Status
    requires: list[str] = Field(
        description="Custom fields the move requires: its own, then those of the state it goes into."
    )
    missing: list[str] = Field(description="Those of them not set yet: give them in the move's `fields`.")


class TicketMoves(BaseModel):
    """Where a ticket stands in its workflow, and the moves the caller may make from there."""

    ticket_id: UUID
    workflow: str
    workflow_version: int
    status: str
    status_category: Status
    moves: list[MoveOut]
