"""Actions of rules and macros: an ordered list of changes to a ticket, each one object with one key.

    [{"set_priority": "urgent"}, {"set_group": "tier-2"}, {"add_tags": ["vip"]},
     {"set_status": "pending"}, {"set_assignee": "carol"}, {"set_type": "incident"},
     {"set_custom_field": {"name": "region", "value": {"kind": "enum", "value": "emea"}}},
     {"add_note": "Escalated: urgent e-mail"}, {"apply_macro": "close-duplicate"},
     {"call_webhook": "6f1c0e9a-..."}, {"notify": {"to": "requester", "template": "rule"}},
     {"open_follow_up": {"title": "Follow-up call", "type": "task", "group": "care", "link": "related"}},
     {"apply_suggestion": 0.9}]

`apply_suggestion` accepts each open suggestion of the ticket (docs/suggestions.md) whose confidence
is at least its value, as an agent's acceptance would: the field's change follows, and both record
the suggesting model's version as their cause (`suggestion-model:<version>`).

`open_follow_up` opens a new ticket for the same requester (and organisation), linked to the
ticket the rule acts on (`link`: related by default, or duplicate_of, blocks, caused_by from the
new ticket's side), in its group unless `group` names another; saved with the rule's record, so a
timed rule opens one follow-up per instance.

`notify` records a request for an e-mail (`Ticket.NotificationRequested`) that the notifier sends
(docs/notifications.md): `to` is `requester`, `assignee`, `group` or an agent's id, `template` a
notification kind (its template, the tenant's or the built-in one).

Checked once when the rule is defined (`parse`), with the path of the part at fault; what only
the ticket can tell (whether its workflow has that state, whether the directory knows that
group, whether the tenant has that webhook endpoint) is checked when the action runs, as for any command.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from domain import values
from domain.actors import identifier
from domain.errors import DomainError, InvalidRuleError
from domain.notifications.kinds import kind as notification_kind
from domain.tickets.links import LINKABLE, LinkType
from domain.values import FieldValue

ACTIONS_MAX = 30
KINDS = (
    "set_status",
    "set_priority",
    "set_type",
    "set_group",
    "set_assignee",
    "add_tags",
    "remove_tags",
    "set_custom_field",
    "add_note",
    "apply_macro",
    "call_webhook",
    "open_follow_up",
    "notify",
    "apply_suggestion",
)
FOLLOW_UP_KEYS = frozenset({"title", "description", "type", "priority", "group", "link"})
NOTIFY_AUDIENCES = ("requester", "assignee", "group")


@dataclass(frozen=True, slots=True)
class Action:
    """One change: its kind and its (checked) value."""

    kind: str
    value: Any


@dataclass(frozen=True, slots=True)
class FollowUp:
    """What `open_follow_up` carries: the new ticket's title and what else differs from its source's."""

    title: str
    description: str = ""
    ticket_type: str | None = None
    priority: str | None = None  # None: the source's
    group: str | None = None  # None: the source's
    link: LinkType = LinkType.RELATED

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (as defined)."""
        shown = {
            "title": self.title,
            "description": self.description,
            "type": self.ticket_type,
            "priority": self.priority,
            "group": self.group,
        }
        return {**{k: v for k, v in shown.items() if v not in (None, "")}, "link": self.link.value}


@dataclass(frozen=True, slots=True)
class Notify:
    """What `notify` carries: who is told (`requester`, `assignee`, `group` or an agent's id), and the kind."""

    to: str
    template: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON form (as defined)."""
        return {"to": self.to, "template": self.template}


@dataclass(frozen=True, slots=True)
class SetField:
    """What `set_custom_field` carries: the field's name and its value."""

    name: str
    value: FieldValue


def parse(raw: Any, path: str = "actions", *, macro: bool = False) -> tuple[Action, ...]:
    """The actions from their JSON form (a macro's may not apply another macro), or InvalidRuleError."""
    if not isinstance(raw, Sequence) or isinstance(raw, str) or not raw or len(raw) > ACTIONS_MAX:
        raise InvalidRuleError(path, f"a list of 1 to {ACTIONS_MAX} actions")
    return tuple(_action(item, f"{path}/{n}", macro=macro) for n, item in enumerate(raw))


def _action(raw: Any, path: str, *, macro: bool) -> Action:
    if not isinstance(raw, Mapping) or len(raw) != 1 or next(iter(raw)) not in KINDS:
        raise InvalidRuleError(path, f'an action is one of {", ".join(KINDS)}, e.g. {{"set_priority": "urgent"}}')
    kind, value = next(iter(raw.items()))
    here = f"{path}/{kind}"
    if kind == "apply_macro" and macro:
        raise InvalidRuleError(here, "a macro cannot apply another macro")
    if kind == "call_webhook" and macro:
        raise InvalidRuleError(here, "webhooks are called by triggers and timed rules, not by macros")
    try:
        return Action(kind, _value(kind, value, here))
    except InvalidRuleError:
        raise
    except (DomainError, TypeError, AttributeError) as error:
        raise InvalidRuleError(
            here, str(error).rstrip(".") if isinstance(error, DomainError) else "bad value"
        ) from None


def _value(kind: str, value: Any, path: str) -> Any:
    checks: dict[str, Callable[[Any], Any]] = {
        "set_status": lambda v: values.slug(v, "state"),
        "set_priority": lambda v: values.priority(v).value,
        "set_type": lambda v: None if v is None else values.slug(v, "type"),
        "set_group": lambda v: identifier(v, "group"),
        "set_assignee": lambda v: None if v is None else identifier(v, "assignee"),
        "add_tags": lambda v: _tags(v, path),
        "remove_tags": lambda v: _tags(v, path),
        "set_custom_field": lambda v: _field(v, path),
        "add_note": lambda v: values.text(v, "note"),
        "apply_macro": lambda v: values.slug(v, "macro"),
        "call_webhook": lambda v: _webhook_id(v, path),
        "open_follow_up": lambda v: _follow_up(v, path),
        "notify": lambda v: _notify(v, path),
        "apply_suggestion": lambda v: _confidence(v, path),
    }
    takes_more = {"set_type", "set_assignee", "add_tags", "remove_tags", "set_custom_field", "open_follow_up", "notify"}
    takes_more.add("apply_suggestion")
    if kind not in takes_more and not isinstance(value, str):
        raise InvalidRuleError(path, "takes text")
    return checks[kind](value)


def _webhook_id(raw: str, path: str) -> str:
    try:
        return str(UUID(raw))
    except ValueError:
        raise InvalidRuleError(path, "takes the id of a webhook endpoint (a UUID)") from None


def _tags(raw: Any, path: str) -> list[str]:
    if not isinstance(raw, list) or not raw or len(raw) > 50:
        raise InvalidRuleError(path, "takes a list of 1 to 50 tags")
    return sorted({values.slug(str(tag), "tag") for tag in raw})


def _field(raw: Any, path: str) -> SetField:
    value = raw.get("value") if isinstance(raw, Mapping) else None
    if not isinstance(raw, Mapping) or set(raw) != {"name", "value"} or not isinstance(value, Mapping):
        raise InvalidRuleError(path, 'takes {"name", "value": {"kind", "value"}}')
    if set(value) != {"kind", "value"}:
        raise InvalidRuleError(f"{path}/value", 'a custom field value is {"kind", "value"}')
    return SetField(values.slug(str(raw["name"]), "custom field"), FieldValue.parse(str(value["kind"]), value["value"]))


def _follow_up(raw: Any, path: str) -> FollowUp:
    if not isinstance(raw, Mapping) or "title" not in raw or not set(raw) <= FOLLOW_UP_KEYS:
        raise InvalidRuleError(path, f"takes {{{', '.join(sorted(FOLLOW_UP_KEYS))}}} with at least a title")
    kind = raw.get("link", LinkType.RELATED.value)
    if kind not in {t.value for t in LINKABLE}:
        raise InvalidRuleError(f"{path}/link", f"one of {', '.join(LINKABLE)} (got {kind!r})")
    ticket_type, priority, group = raw.get("type"), raw.get("priority"), raw.get("group")
    return FollowUp(
        title=values.title(raw["title"]),
        description=values.text(raw.get("description", ""), "description", allow_blank=True),
        ticket_type=None if ticket_type is None else values.slug(ticket_type, "type"),
        priority=None if priority is None else values.priority(priority).value,
        group=None if group is None else identifier(group, "group"),
        link=LinkType(kind),
    )


def _notify(raw: Any, path: str) -> Notify:
    if (
        not isinstance(raw, Mapping)
        or set(raw) != {"to", "template"}
        or not all(isinstance(v, str) for v in raw.values())
    ):
        raise InvalidRuleError(
            path, 'takes {"to": "requester", "assignee", "group" or an agent id, "template": a kind}'
        )
    to = raw["to"] if raw["to"] in NOTIFY_AUDIENCES else identifier(raw["to"], "agent")
    try:
        template = notification_kind(raw["template"]).value
    except DomainError as error:
        raise InvalidRuleError(f"{path}/template", str(error)) from None
    return Notify(to, template)


def shown(actions: Sequence[Action]) -> list[dict[str, Any]]:
    """The actions in their JSON form (as defined)."""
    plain: list[dict[str, Any]] = []
    for action in actions:
        if isinstance(action.value, SetField):
            field = action.value
            stored = {"kind": field.value.kind.value, "value": field.value.as_dict()["value"]}
            plain.append({action.kind: {"name": field.name, "value": stored}})
        elif isinstance(action.value, FollowUp | Notify):
            plain.append({action.kind: action.value.as_dict()})
        else:
            plain.append({action.kind: action.value})
    return plain


def _confidence(raw: Any, path: str) -> float:
    """`apply_suggestion`'s value: the least confidence (0 to 1) a suggestion must have to be applied."""
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not 0 <= raw <= 1:
        raise InvalidRuleError(path, "takes the least confidence a suggestion must have, a number from 0 to 1")
    return float(raw)
