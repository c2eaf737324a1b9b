"""A ticket's history as auditors read it: who changed what, when, through which channel.

`field_changes` reads each ticket event as the fields it changed, old -> new: the history, the
audit export and the diff of two versions speak in those terms.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import singledispatch
from typing import Any

from domain.tickets.ticket import Ticket
from domain.values import ERASED
from domain.workflows.catalogue import DEFAULT


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
    reason: str | None = None  # why a rule made the change (a routing decision's reason)


@singledispatch
def field_changes(event: Ticket.Event) -> tuple[FieldChange, ...]:
    """The fields a ticket event changed, old -> new (none, for an event that changes no field)."""
    return ()


@field_changes.register
def _(event: Ticket.Opened) -> tuple[FieldChange, ...]:
    opened = {
        "title": event.title,
        "description": event.description,
        "requester_id": event.requester_id,
        "requester_name": event.requester_name,
        "requester_email": event.requester_email,
        "organisation": event.organisation,
        "channel": event.via,
        "status": event.status,
        "priority": event.priority,
        "type": event.ticket_type,
        "tags": event.tags,
    }
    changes = [FieldChange(name, None, value) for name, value in opened.items() if value not in (None, "", [])]
    if (event.workflow, event.workflow_version) != (DEFAULT, 1):  # the standard workflow goes without saying
        changes.append(FieldChange("workflow", None, {"name": event.workflow, "version": event.workflow_version}))
    if event.status_category != event.status:
        changes.append(FieldChange("status_category", None, event.status_category))
    changes += [FieldChange(f"custom_fields.{k}", None, v) for k, v in sorted(event.custom_fields.items())]
    return tuple(changes)


@field_changes.register
def _(event: Ticket.Assigned) -> tuple[FieldChange, ...]:
    pairs = (("assignee", event.old_assignee, event.assignee), ("group", event.old_group, event.group))
    return tuple(FieldChange(name, old, new) for name, old, new in pairs if old != new)


@field_changes.register
def _(event: Ticket.Unassigned) -> tuple[FieldChange, ...]:
    return (FieldChange("assignee", event.old_assignee, None),)


@field_changes.register
def _(event: Ticket.Transitioned) -> tuple[FieldChange, ...]:
    return (FieldChange("status", event.old_status, event.new_status), *_categories(event))


@field_changes.register
def _(event: Ticket.WorkflowMigrated) -> tuple[FieldChange, ...]:
    moved = FieldChange(
        "workflow",
        {"name": event.workflow, "version": event.old_version},
        {"name": event.workflow, "version": event.new_version},
    )
    state = () if event.old_status == event.new_status else (FieldChange("status", event.old_status, event.new_status),)
    return (moved, *state, *_categories(event))


@field_changes.register
def _(event: Ticket.Linked) -> tuple[FieldChange, ...]:
    return (FieldChange(f"links.{event.link}", None, event.other),)


@field_changes.register
def _(event: Ticket.Unlinked) -> tuple[FieldChange, ...]:
    return (FieldChange(f"links.{event.link}", event.other, None),)


@field_changes.register
def _(event: Ticket.ArticlesLinked) -> tuple[FieldChange, ...]:
    return (FieldChange("articles", None, list(event.articles)),)


@field_changes.register
def _(event: Ticket.ChildSolved) -> tuple[FieldChange, ...]:
    return (FieldChange("children_solved", None, event.child),)


def _categories(event: Ticket.Transitioned | Ticket.WorkflowMigrated | Ticket.MergedInto) -> tuple[FieldChange, ...]:
    """The category change, where a state is not its own category (in workflows other than the standard one)."""
    if (event.old_category, event.new_category) == (event.old_status, event.new_status):
        return ()
    if event.old_category == event.new_category:
        return ()
    return (FieldChange("status_category", event.old_category, event.new_category),)


@field_changes.register
def _(event: Ticket.CommentAdded) -> tuple[FieldChange, ...]:
    kind = "public_reply" if event.public else "internal_note"
    return (FieldChange(f"comments.{event.number}", None, {"kind": kind, "body": event.body}),)


@field_changes.register
def _(event: Ticket.MergedInto) -> tuple[FieldChange, ...]:
    moved = (FieldChange("status", event.old_status, event.new_status), *_categories(event))
    return (*moved, FieldChange("merged_into", None, event.target), *_merge_reason(event))


@field_changes.register
def _(event: Ticket.Merged) -> tuple[FieldChange, ...]:
    # Each copy as a comment of this ticket, with who wrote it when, and where it was first written.
    copies = tuple(FieldChange(f"comments.{c['number']}", None, _copy(c)) for c in event.comments)
    return (FieldChange("merged_sources", None, event.source), *_merge_reason(event), *copies)


@field_changes.register
def _(event: Ticket.HandedOver) -> tuple[FieldChange, ...]:
    # Each message as the comment it became, with who wrote it when.
    return tuple(FieldChange(f"comments.{c['number']}", None, _copy(c)) for c in event.comments)


@field_changes.register
def _(event: Ticket.LocationSet) -> tuple[FieldChange, ...]:
    return (FieldChange("location", event.old_location, event.new_location),)


@field_changes.register
def _(event: Ticket.Dispatched) -> tuple[FieldChange, ...]:
    sent = {"agent": event.agent, "distance_km": event.distance_km, "speed_kmh": event.speed_kmh}
    return (FieldChange("dispatch", None, {**sent, "arrival_due": event.arrival_due}),)


@field_changes.register
def _(event: Ticket.CheckedIn) -> tuple[FieldChange, ...]:
    return (FieldChange("on_site", None, {"agent": event.actor_id, "position": event.position}),)


@field_changes.register
def _(event: Ticket.CheckedOut) -> tuple[FieldChange, ...]:
    return (FieldChange("on_site", {"agent": event.actor_id, "position": event.position}, None),)


def _merge_reason(event: Ticket.MergedInto | Ticket.Merged) -> tuple[FieldChange, ...]:
    return (FieldChange("merge_reason", None, event.reason),) if event.reason else ()


def _copy(comment: dict[str, Any]) -> dict[str, Any]:
    kind = "public_reply" if comment["public"] else "internal_note"
    said = {"author_id": comment["author_id"], "at": comment["at"], "origin": comment["origin"]}
    return {"kind": kind, "body": comment["body"], **said}


@field_changes.register
def _(event: Ticket.Rated) -> tuple[FieldChange, ...]:
    new = {"scale": event.scale, "score": event.score, "comment": event.comment}
    return (FieldChange("satisfaction", event.old_rating, new),)


@field_changes.register
def _(event: Ticket.PersonalDataErased) -> tuple[FieldChange, ...]:
    return (FieldChange(f"personal_data.{event.person_id}", None, ERASED),)


@field_changes.register
def _(event: Ticket.SlaAlerted) -> tuple[FieldChange, ...]:
    said = "warning" if isinstance(event, Ticket.SlaWarningIssued) else "breached"
    return (FieldChange(f"sla.{event.target}", None, {said: event.cycle, "due_at": event.due_at}),)


@field_changes.register
def _(event: Ticket.SlaRecomputed) -> tuple[FieldChange, ...]:
    return (FieldChange("sla.policy", None, {"id": event.policy_id, "version": event.policy_version}),)


@field_changes.register
def _(event: Ticket.TitleChanged) -> tuple[FieldChange, ...]:
    return (FieldChange("title", event.old_title, event.new_title),)


@field_changes.register
def _(event: Ticket.DescriptionChanged) -> tuple[FieldChange, ...]:
    return (FieldChange("description", event.old_description, event.new_description),)


@field_changes.register
def _(event: Ticket.PriorityChanged) -> tuple[FieldChange, ...]:
    return (FieldChange("priority", event.old_priority, event.new_priority),)


@field_changes.register
def _(event: Ticket.TypeChanged) -> tuple[FieldChange, ...]:
    return (FieldChange("type", event.old_type, event.new_type),)


@field_changes.register
def _(event: Ticket.TagsChanged) -> tuple[FieldChange, ...]:
    return (FieldChange("tags", event.old_tags, event.new_tags),)


@field_changes.register
def _(event: Ticket.CustomFieldChanged) -> tuple[FieldChange, ...]:
    return (FieldChange(f"custom_fields.{event.name}", event.old_value, event.new_value),)


def ticket_fields(ticket: Ticket) -> dict[str, Any]:
    """A ticket's fields as plain values, for comparing two versions."""
    return {
        "title": ticket.title,
        "description": ticket.description,
        "requester_id": ticket.requester_id,
        "organisation": ticket.organisation,
        "channel": ticket.channel,
        "status": ticket.status,
        "priority": ticket.priority.value,
        "type": ticket.ticket_type,
        "tags": list(ticket.tags),
        "group": ticket.group,
        "assignee": ticket.assignee,
        "merged_into": ticket.merged_into,
        "merged_sources": list(ticket.merged_sources),
        **{f"custom_fields.{k}": v.as_dict() for k, v in sorted(ticket.custom_fields.items())},
        **{f"comments.{c.number}": {"public": c.public, "body": c.body} for c in ticket.comments},
    }


def diff(before: Ticket, after: Ticket) -> tuple[FieldChange, ...]:
    """The fields that differ between two versions of a ticket, old -> new (None where absent)."""
    old, new = ticket_fields(before), ticket_fields(after)
    names = list(dict.fromkeys([*old, *new]))
    return tuple(FieldChange(n, old.get(n), new.get(n)) for n in names if old.get(n) != new.get(n))


@field_changes.register
def _(event: Ticket.TriggerFired) -> tuple[FieldChange, ...]:
    # Which rule, which version of it, and on which event: what an auditor asks of an automated change.
    said = (("trigger", event.trigger), ("trigger_version", event.trigger_version), ("cause", event.cause))
    changes = [FieldChange(name, None, value) for name, value in said]
    changes.append(FieldChange("depth", None, event.depth))
    if event.failed is not None:
        changes.append(FieldChange("failed", None, event.failed))
    return tuple(changes)


@field_changes.register
def _(event: Ticket.AutomationFired) -> tuple[FieldChange, ...]:
    said = (("automation", event.automation), ("automation_version", event.automation_version))
    changes = [*(FieldChange(name, None, value) for name, value in said), FieldChange("instance", None, event.instance)]
    if event.failed is not None:
        changes.append(FieldChange("failed", None, event.failed))
    return tuple(changes)


@field_changes.register
def _(event: Ticket.OpenedOnSchedule) -> tuple[FieldChange, ...]:
    # Which schedule, which version of it, and which occurrence opened the ticket.
    said = (
        ("schedule", event.schedule),
        ("schedule_version", event.schedule_version),
        ("occurrence", event.occurrence.isoformat()),
    )
    return tuple(FieldChange(name, None, value) for name, value in said)


@field_changes.register
def _(event: Ticket.TriggerChainStopped) -> tuple[FieldChange, ...]:
    return (FieldChange("cause", None, event.cause), FieldChange("not_fired", None, list(event.not_fired)))


@field_changes.register
def _(event: Ticket.WebhookRequested) -> tuple[FieldChange, ...]:
    return (FieldChange("webhook", None, event.webhook_id),)


@field_changes.register
def _(event: Ticket.NotificationRequested) -> tuple[FieldChange, ...]:
    return (FieldChange("notify", None, event.to), FieldChange("template", None, event.template))


@field_changes.register
def _(event: Ticket.NotificationSent) -> tuple[FieldChange, ...]:
    said = (
        ("recipient", event.recipient_id),
        ("recipient_kind", event.recipient_kind),
        ("kind", event.kind),
        ("message_id", event.message_id),
    )
    return tuple(FieldChange(name, None, value) for name, value in said)


@field_changes.register
def _(event: Ticket.NotificationFailed) -> tuple[FieldChange, ...]:
    said = (
        ("recipient", event.recipient_id),
        ("kind", event.kind),
        ("message_id", event.message_id),
        ("error", event.error),
    )
    return tuple(FieldChange(name, None, value) for name, value in said)


@field_changes.register
def _(event: Ticket.Suggested) -> tuple[FieldChange, ...]:
    # What was suggested for which field, how sure the model was, and which model version: why it was said.
    said = (
        ("suggested_field", event.field),
        ("suggested_value", event.value),
        ("confidence", round(event.confidence, 4)),
        ("model_version", event.model_version),
    )
    return tuple(FieldChange(name, None, value) for name, value in said)


@field_changes.register
def _(event: Ticket.SuggestionAccepted) -> tuple[FieldChange, ...]:
    said = (("suggestion", event.number), ("accepted_value", event.value), ("model_version", event.model_version))
    return tuple(FieldChange(name, None, value) for name, value in said)


@field_changes.register
def _(event: Ticket.SuggestionCorrected) -> tuple[FieldChange, ...]:
    said = (
        ("suggestion", event.number),
        ("suggested_value", event.suggested),
        ("corrected_value", event.value),
        ("model_version", event.model_version),
    )
    return tuple(FieldChange(name, None, value) for name, value in said)
