"""The ticket a schedule opens at each occurrence: what `POST /tickets` takes, fixed in advance.

Checked when the schedule is defined, with the path of the part at fault (`template/priority`);
what only the tenant's records can tell (custom-field definitions, the directory's groups) is
checked against them then and again at each opening, as for any new ticket.

A template holds no personal data, so a schedule's record never needs erasing: it names the
requester by id (no name or e-mail address) and takes no personal custom field. The title and
description are the tenant's own words; each ticket opened seals its copy as any ticket does.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from domain import values
from domain.actors import identifier
from domain.errors import DomainError, InvalidRuleError
from domain.values import FieldValue

T = TypeVar("T")
#: What a template leaves out means what `POST /tickets` takes it to mean.
DEFAULTS: dict[str, Any] = {
    "description": "",
    "type": None,
    "priority": values.Priority.NORMAL.value,
    "group": None,
    "tags": [],
    "organisation": None,
    "custom_fields": {},
}


@dataclass(frozen=True, slots=True)
class TicketTemplate:
    """A new ticket's title, description, type, priority, group, tags, requester (by id) and custom fields."""

    title: str
    requester_id: str
    description: str = ""
    ticket_type: str | None = None
    priority: str = values.Priority.NORMAL.value
    group: str | None = None
    tags: tuple[str, ...] = ()
    organisation: str | None = None
    custom_fields: Mapping[str, FieldValue] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """Plain values, as events record them (and the API shows them)."""
        return {
            "title": self.title,
            "description": self.description,
            "type": self.ticket_type,
            "priority": self.priority,
            "group": self.group,
            "tags": list(self.tags),
            "requester_id": self.requester_id,
            "organisation": self.organisation,
            "custom_fields": {name: value.as_dict() for name, value in sorted(self.custom_fields.items())},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TicketTemplate:
        """From `as_dict` values."""
        return cls(
            title=data["title"],
            requester_id=data["requester_id"],
            description=data["description"],
            ticket_type=data["type"],
            priority=data["priority"],
            group=data["group"],
            tags=tuple(data["tags"]),
            organisation=data["organisation"],
            custom_fields={name: FieldValue.from_dict(value) for name, value in data["custom_fields"].items()},
        )


def template(raw: Mapping[str, Any], path: str = "template") -> TicketTemplate:
    """A template from a caller's values, or InvalidRuleError naming the part at fault."""

    def check(name: str, parse: Callable[[Any], T]) -> T:
        if name not in raw:
            raise InvalidRuleError(f"{path}/{name}", "required")
        try:
            return parse(raw[name])
        except (DomainError, TypeError, ValueError, AttributeError) as error:
            said = str(error).rstrip(".") if isinstance(error, DomainError) else "bad value"
            raise InvalidRuleError(f"{path}/{name}", said) from None

    unknown = sorted(set(raw) - {"title", "requester_id", *DEFAULTS})
    if unknown:
        raise InvalidRuleError(f"{path}/{unknown[0]}", "not part of a ticket template")
    raw = {**DEFAULTS, **raw}
    return TicketTemplate(
        title=check("title", values.title),
        requester_id=check("requester_id", lambda v: identifier(v, "requester id")),
        description=check("description", lambda v: values.text(v, "description", allow_blank=True)),
        ticket_type=check("type", lambda v: None if v is None else values.slug(v, "type")),
        priority=check("priority", lambda v: values.priority(v).value),
        group=check("group", lambda v: None if v is None else identifier(v, "group")),
        tags=tuple(check("tags", values.tags)),
        organisation=check("organisation", lambda v: None if v is None else identifier(v, "organisation")),
        custom_fields=check("custom_fields", _fields),
    )


def _fields(raw: Mapping[str, Any]) -> dict[str, FieldValue]:
    if len(raw) > values.CUSTOM_FIELDS_MAX:
        msg = f"at most {values.CUSTOM_FIELDS_MAX} custom fields"
        raise InvalidRuleError("template/custom_fields", msg)
    return {values.slug(name, "custom field name"): _field(value) for name, value in raw.items()}


def _field(value: Any) -> FieldValue:
    if isinstance(value, FieldValue):
        return value
    return FieldValue.parse(str(value["kind"]), value["value"])
