"""A ticket's history as auditors read it: who changed what, when, through which channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True, slots=True)
class FieldChange:
    """One field's value before and after a change (None where it had or has no value)."""

    field: str
    old: Any
    new: Any


@dataclass(frozen=True, slots=True)
class Change:
    """One recorded event of a ticket, in the words of an audit trail."""

    version: int
    at: datetime
    actor_id: str
    actor_kind: str
    actor_role: str | None
    via: str
    event: str
    changes: tuple[FieldChange, ...]
    correlation_id: str | None = None  # see domain/provenance.py
    causation_id: str | None = None


def ticket_fields(ticket: Any) -> dict[str, Any]:
    """A ticket's fields as plain values, for comparing two versions."""
    return {
        "title": ticket.title,
        "description": ticket.description,
        "requester_id": ticket.requester_id,
        "organisation": ticket.organisation,
        "channel": ticket.channel,
        "status": ticket.status.value,
        "priority": ticket.priority.value,
        "type": ticket.ticket_type,
        "tags": list(ticket.tags),
        "group": ticket.group,
        "assignee": ticket.assignee,
        **{f"custom_fields.{k}": v.as_dict() for k, v in sorted(ticket.custom_fields.items())},
        **{f"comments.{c.number}": {"public": c.public, "body": c.body} for c in ticket.comments},
    }


def diff(before: Any, after: Any) -> tuple[FieldChange, ...]:
    """The fields that differ between two versions of a ticket, old -> new (None where absent)."""
    old, new = ticket_fields(before), ticket_fields(after)
    names = list(dict.fromkeys([*old, *new]))
    return tuple(FieldChange(n, old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n))
