"""What a trigger's conditions see of a ticket event: the kind of event, the ticket's fields, what changed."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from domain.automation.conditions import Facts
from domain.tickets.history import field_changes
from domain.tickets.ticket import Ticket

#: Events triggers never run on: their own records, erasures, and recomputations of what is on record.
QUIET = (
    Ticket.TriggerFired,
    Ticket.TriggerChainStopped,
    Ticket.PersonalDataErased,
    Ticket.SlaRecomputed,
)
_KINDS: tuple[tuple[type[Any], str], ...] = (
    (Ticket.Opened, "created"),
    (Ticket.CommentAdded, "commented"),
    (Ticket.Transitioned, "status_changed"),
    (Ticket.SlaWarningIssued, "sla_warning"),
    (Ticket.SlaBreached, "sla_breach"),
)
#: Who acts for a trigger: `trigger:<name>`.
TRIGGER_PREFIX = "trigger:"


def event_kind(event: Any) -> str | None:
    """The kind of ticket event a trigger may run on (`created`, ..., `updated`), or None for one they never do."""
    if not isinstance(event, Ticket.Event) or isinstance(event, QUIET):
        return None
    if str(getattr(event, "actor_id", "")).startswith(TRIGGER_PREFIX):
        return None  # a trigger's own change: the chain it belongs to ran the triggers already
    return next((kind for cls, kind in _KINDS if isinstance(event, cls)), "updated")


def ticket_fields(ticket: Ticket) -> dict[str, Any]:
    """The ticket's fields, in the names conditions use."""
    fields: dict[str, Any] = {
        "status": ticket.status,
        "status_category": ticket.category.value,
        "priority": ticket.priority.value,
        "type": ticket.ticket_type,
        "group": ticket.group,
        "assignee": ticket.assignee,
        "channel": ticket.channel,
        "requester_id": ticket.requester_id,
        "organisation": ticket.organisation,
        "tags": list(ticket.tags),
        "workflow": ticket.workflow,
        "title": ticket.title,
    }
    for name, value in ticket.custom_fields.items():
        fields[f"custom_fields.{name}"] = value.value
    return fields


def event_fields(event: Any, kind: str) -> dict[str, Any]:
    """The event's own fields."""
    fields: dict[str, Any] = {"event": kind, "via": event.via, "actor_kind": event.actor_kind}
    if isinstance(event, Ticket.CommentAdded):
        fields["comment.public"] = event.public
    return fields


def changes_of(events: Iterable[Any]) -> dict[str, tuple[Any, Any]]:
    """What these events changed, field by field: the first old value and the last new one."""
    changes: dict[str, tuple[Any, Any]] = {}
    for event in events:
        for change in field_changes(event):
            old = changes[change.field][0] if change.field in changes else change.old
            changes[change.field] = (old, change.new)
    return changes


def facts(ticket: Ticket, event: Any, kind: str, changes: dict[str, tuple[Any, Any]]) -> Facts:
    """The facts of one evaluation: the ticket's fields, the event's, and the changes so far."""
    return Facts({**ticket_fields(ticket), **event_fields(event, kind)}, changes)
