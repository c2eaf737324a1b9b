"""The bodies of triggers and macros, typed so the OpenAPI document says the form of every condition and action.

The domain checks them again when a rule is defined (domain/automation/); what only it can
tell — a field name conditions know, an operator that takes a list — is 422 with `path`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.plain_text import Identifier, NonBlankText, PlainText, Slug
from api.read_schemas import JsonInt
from api.schemas import CustomField
from domain.automation.actions import ACTIONS_MAX
from domain.automation.conditions import CHANGE_OPS, CONDITIONS_MAX, VALUE_OPS
from domain.automation.rules import ON, POSITION_MAX
from domain.notifications.kinds import Kind
from domain.values import Priority

TriggerOn = StrEnum("TriggerOn", {kind.upper(): kind for kind in ON})  # type: ignore[misc]
Operator = StrEnum("Operator", {op.upper(): op for op in sorted(VALUE_OPS | CHANGE_OPS)})  # type: ignore[misc]
Plain = Annotated[PlainText, Field(max_length=1000)] | float | StrictBool | None
Tags = Annotated[list[Slug], Field(min_length=1, max_length=50)]
FollowUpLink = Literal["related", "duplicate_of", "blocks", "caused_by"]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


# --- conditions ---------------------------------------------------------------------------------------


class TestIn(Strict):
    """One test: a field of the ticket or the event, an operator, and (for most operators) a value."""

    field: Annotated[PlainText, Field(min_length=1, max_length=200)] = Field(
        description="status, status_category, priority, type, group, assignee, channel, requester_id, "
        "organisation, tags, workflow, title, custom_fields.<name>; of the event: event, via, actor_kind, "
        "comment.public; of the requester's customer profile (triggers only): customer.tier."
    )
    op: Operator
    value: Plain | Annotated[list[Plain], Field(min_length=1, max_length=100)] = Field(
        default=None, description="A list for in and not_in; none for is_set, is_not_set and changed."
    )


class AllIn(Strict):
    """Every part holds."""

    all: Annotated[list[AllIn | AnyIn | TestIn], Field(max_length=CONDITIONS_MAX)]


class AnyIn(Strict):
    """At least one part holds."""

    any: Annotated[list[AllIn | AnyIn | TestIn], Field(max_length=CONDITIONS_MAX)]


AllIn.model_rebuild()
AnyIn.model_rebuild()


# --- actions ------------------------------------------------------------------------------------------


class SetStatus(Strict):
    """Move to a state of the ticket's workflow (as its moves allow from where it is)."""

    set_status: Slug


class SetPriority(Strict):
    """Change the priority."""

    set_priority: Priority


class SetType(Strict):
    """Change the type (null clears it)."""

    set_type: Slug | None


class SetGroup(Strict):
    """Move to a group's queue."""

    set_group: Identifier


class SetAssignee(Strict):
    """Assign to an agent (null unassigns)."""

    set_assignee: Identifier | None


class AddTags(Strict):
    """Add tags."""

    add_tags: Tags


class RemoveTags(Strict):
    """Remove tags."""

    remove_tags: Tags


class FieldSetting(Strict):
    """A custom field and its new value."""

    name: Slug
    value: CustomField


class SetCustomField(Strict):
    """Set a custom field (checked against the tenant's definition when it runs)."""

    set_custom_field: FieldSetting


class AddNote(Strict):
    """Add an internal note."""

    add_note: Annotated[NonBlankText, Field(min_length=1, max_length=10_000)]


class ApplyMacro(Strict):
    """Apply a macro's actions (triggers only)."""

    apply_macro: Slug


class CallWebhook(Strict):
    """Send the ticket's news to one of the tenant's webhook endpoints (triggers and timed rules only)."""

    call_webhook: UUID


class FollowUpIn(Strict):
    """The follow-up ticket: for the same requester, linked to the ticket the rule acts on."""

    title: Annotated[NonBlankText, Field(min_length=1, max_length=200)]
    description: Annotated[PlainText, Field(max_length=10_000)] = ""
    type: Slug | None = None
    priority: Priority | None = Field(default=None, description="Default: the source ticket's.")
    group: Identifier | None = Field(default=None, description="Default: the source ticket's group.")
    link: FollowUpLink = Field(default="related", description="The link, from the follow-up's side.")


class OpenFollowUp(Strict):
    """Open a follow-up ticket for the same requester, linked to this one (not from a follow-up itself)."""

    open_follow_up: FollowUpIn


class NotifyIn(Strict):
    """Who is told, with which template (docs/notifications.md)."""

    to: Identifier = Field(description="requester, assignee, group, or an agent's id.")
    template: Kind = Field(description="The notification kind whose template the message is written with.")


class Notify(Strict):
    """E-mail someone about the ticket (the notifier sends it, as the recipient's preferences allow)."""

    notify: NotifyIn


class ApplySuggestion(Strict):
    """Accept the ticket's open suggestions at least this confident (docs/suggestions.md); caused by their model."""

    apply_suggestion: float = Field(ge=0, le=1, description="The least confidence, from 0 to 1.")


ActionIn = (
    SetStatus
    | SetPriority
    | SetType
    | SetGroup
    | SetAssignee
    | AddTags
    | RemoveTags
    | SetCustomField
    | AddNote
    | ApplyMacro
    | CallWebhook
    | OpenFollowUp
    | Notify
    | ApplySuggestion
)
Actions = Annotated[
    list[ActionIn],
    Field(
        min_length=1,
        max_length=ACTIONS_MAX,
        description="Ordered actions, each one object with one key.",
        examples=[[{"set_group": "tier-2"}, {"add_tags": ["vip"]}]],
    ),
]


def plain_actions(actions: list[ActionIn]) -> list[dict[str, Any]]:
    """The actions as the domain takes them (a follow-up's unset parts left out: the source's then)."""
    return [a.model_dump(mode="json", exclude_none=isinstance(a, OpenFollowUp)) for a in actions]


# --- rules --------------------------------------------------------------------------------------------


class TriggerIn(Strict):
    """A trigger: on which ticket events it runs, when (conditions) and what it does (actions)."""

    title: Annotated[NonBlankText, Field(min_length=1, max_length=200)]
    position: JsonInt = Field(default=0, ge=0, le=POSITION_MAX, description="Triggers run by position, then name.")
    enabled: StrictBool = True
    on: list[TriggerOn] = Field(
        min_length=1, max_length=len(ON), description="The ticket events it runs on (updated: every one after created)."
    )
    conditions: AllIn | AnyIn | None = Field(
        default=None,
        description="Tests of the ticket's fields and the event; none: always.",
        examples=[{"all": [{"field": "priority", "op": "equals", "value": "urgent"}]}],
    )
    actions: Actions


class TriggerOut(BaseModel):
    """A trigger at one of its versions."""

    name: str
    version: int
    title: str
    position: int
    enabled: bool
    on: list[str]
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]


class AutomationIn(Strict):
    """A timed rule: conditions that count hours (looked at every so often), and what it does."""

    title: Annotated[NonBlankText, Field(min_length=1, max_length=200)]
    position: JsonInt = Field(default=0, ge=0, le=POSITION_MAX, description="Rules are looked at by position.")
    enabled: StrictBool = True
    conditions: AllIn | AnyIn = Field(
        description="Tests as for triggers, and at least one of hours_since_created, hours_since_updated, "
        "hours_in_status, hours_since_solved, hours_until_sla_due, hours_since_customer_contact, "
        "hours_since_agent_contact compared with gte or lte (or is_set, is_not_set).",
        examples=[
            {
                "all": [
                    {"field": "status_category", "op": "equals", "value": "pending"},
                    {"field": "hours_in_status", "op": "gte", "value": 72},
                ]
            }
        ],
    )
    actions: Actions


class AutomationOut(BaseModel):
    """A timed rule at its latest version."""

    name: str
    version: int
    title: str
    position: int
    enabled: bool
    conditions: dict[str, Any]
    actions: list[dict[str, Any]]


class AutomationList(BaseModel):
    """The tenant's timed rules, in the order they are looked at."""

    items: list[AutomationOut]


class PreviewItem(BaseModel):
    """A ticket the rule would act on now, and the instance that would fire."""

    ticket_id: UUID
    instance: str


class Preview(BaseModel):
    """What the rule would act on now (nothing is stored)."""

    at: datetime
    items: list[PreviewItem]


class MacroIn(Strict):
    """A macro: a named set of actions an agent applies to a ticket in one change."""

    title: Annotated[NonBlankText, Field(min_length=1, max_length=200)]
    actions: Actions


class MacroOut(BaseModel):
    """A macro at its latest version."""

    name: str
    version: int
    title: str
    actions: list[dict[str, Any]]


class TriggerList(BaseModel):
    """The tenant's triggers, in the order they run."""

    items: list[TriggerOut]


class MacroList(BaseModel):
    """The tenant's macros, by name."""

    items: list[MacroOut]


def plain(model: BaseModel | None) -> dict[str, Any] | None:
    """A condition as the domain takes it."""
    return None if model is None else model.model_dump(mode="json", exclude_unset=True)
