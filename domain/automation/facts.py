"""What a trigger's conditions see of a ticket event: the kind of event, the ticket's fields, what changed."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from domain.automation.conditions import TIME_FIELDS, Condition, Facts, time_fields
from domain.tickets.history import field_changes
from domain.tickets.ticket import Ticket

#: Events triggers never run on: their own records, erasures, and recomputations of what is on record.
QUIET = (
    Ticket.TriggerFired,
    Ticket.TriggerChainStopped,
    Ticket.AutomationFired,
    Ticket.OpenedOnSchedule,  # part of the opening, which triggers run on as `created`
    Ticket.PersonalDataErased,
    Ticket.SlaRecomputed,
    Ticket.NotificationSent,  # the notifier's records of mail sent or given up
    Ticket.NotificationFailed,
)
_KINDS: tuple[tuple[type[Any], str], ...] = (
    (Ticket.Opened, "created"),
    (Ticket.CommentAdded, "commented"),
    (Ticket.Transitioned, "status_changed"),
    (Ticket.SlaWarningIssued, "sla_warning"),
    (Ticket.SlaBreached, "sla_breach"),
    (Ticket.Suggested, "suggested"),  # a model's suggestion (docs/suggestions.md): what `apply_suggestion` acts on
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


def facts(
    ticket: Ticket, event: Any, kind: str, changes: dict[str, tuple[Any, Any]], *, customer_tier: str | None = None
) -> Facts:
    """The facts of one evaluation: the ticket's fields, the event's, the requester's tier, and the changes so far."""
    return Facts({**ticket_fields(ticket), **event_fields(event, kind), "customer.tier": customer_tier}, changes)


def timed_facts(fields: Mapping[str, Any], moments: Mapping[str, datetime | None], now: datetime) -> Facts:
    """What a timed rule sees: the ticket's fields, and the hours counted at `now` from each of its moments."""
    hours: dict[str, Any] = {}
    for name, moment_name in TIME_FIELDS.items():
        moment = moments.get(moment_name)
        if moment is None:
            hours[name] = None
        elif name == "hours_until_sla_due":
            hours[name] = (moment - now).total_seconds() / 3600
        else:
            hours[name] = (now - moment).total_seconds() / 3600
    return Facts({**fields, **hours})


def instance_of(rule: str, condition: Condition, moments: Mapping[str, datetime | None]) -> str:
    """One instance of a timed rule on a ticket: the rule and the moments its hours count from.

    "72 hours in pending" fires once per stay in pending; back in pending later, the stay is another.
    """
    counted = [f"{TIME_FIELDS[n]}={_moment(moments.get(TIME_FIELDS[n]))}" for n in time_fields(condition)]
    return ";".join([rule, *counted])


def _moment(moment: datetime | None) -> str:
    return "none" if moment is None else moment.astimezone(UTC).isoformat()
