"""How ticket events fold into the ticket rows: each event stamps its row with its version and position."""

from __future__ import annotations

from functools import singledispatch
from typing import Any

from domain.actors import ActorKind
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import Priority
from projections.batch import Folding
from projections.tickets.rows import TicketRow, erase_from_row
from projections.tickets.search import DESCRIPTION, TITLE, SearchPart, comment_part


@singledispatch
def fold(event: Any, f: Folding) -> None:
    """Events of other kinds mean nothing to the ticket rows."""


def row(event: Ticket.Event, f: Folding) -> TicketRow:
    """The working copy of the event's ticket, stamped with the event's version and position."""
    ticket = f.ticket(event.originator_id)
    ticket.updated_at = event.timestamp
    ticket.version = event.originator_version
    ticket.position = f.position
    return ticket


@fold.register(Ticket.Event)
def _any(event: Ticket.Event, f: Folding) -> None:
    # A ticket event no column depends on (a rating, say) still moves the row's version and time.
    row(event, f)


@fold.register(Ticket.NotificationSent)
@fold.register(Ticket.NotificationFailed)
def _notified(event: Ticket.Event, f: Folding) -> None:
    # A record of mail sent about the ticket is not an update of it: "updated" and the timed rules'
    # hours since an update stay as they were; only the row's version and position move.
    ticket = f.ticket(event.originator_id)
    ticket.version = event.originator_version
    ticket.position = f.position


@fold.register(Ticket.Opened)
def _opened(event: Ticket.Opened, f: Folding) -> None:
    by_requester = event.actor_kind == ActorKind.REQUESTER.value
    f.batch.tickets[event.originator_id] = TicketRow(
        ticket_id=event.originator_id,
        tenant=event.tenant,
        title=event.title,
        status=event.status,
        status_category=event.status_category,
        priority=event.priority,
        priority_rank=Priority(event.priority).rank,
        ticket_type=event.ticket_type,
        group=None,
        assignee=None,
        requester_id=event.requester_id,
        organisation=event.organisation,
        channel=event.via,
        tags=list(event.tags),
        custom_fields=dict(event.custom_fields),
        created_at=event.timestamp,
        updated_at=event.timestamp,
        status_since=event.timestamp,
        last_requester_activity_at=event.timestamp if by_requester else None,
        version=event.originator_version,
        position=f.position,
        workflow=event.workflow,
        workflow_version=event.workflow_version,
    )
    if event.tags:
        f.batch.retagged.add(event.originator_id)
    _searched(f, event, TITLE, event.requester_id, event.title)
    _searched(f, event, DESCRIPTION, event.requester_id, event.description)


def _searched(
    f: Folding,
    event: Ticket.Event,
    part: str,
    author: str,
    text: str,
    *,
    internal: bool = False,
    replaces: bool = False,
) -> None:
    """Put a part's (new) text into the batch for search to index."""
    tenant = f.ticket(event.originator_id).tenant
    key = (event.originator_id, part)
    replaces = replaces or (key in f.batch.search and f.batch.search[key].replaces)
    f.batch.search[key] = SearchPart(event.originator_id, part, tenant, author, internal, text, replaces)


@fold.register(Ticket.Assigned)
def _assigned(event: Ticket.Assigned, f: Folding) -> None:
    ticket = row(event, f)
    ticket.assignee, ticket.group = event.assignee, event.group


@fold.register(Ticket.Unassigned)
def _unassigned(event: Ticket.Unassigned, f: Folding) -> None:
    row(event, f).assignee = None


@fold.register(Ticket.Transitioned)
@fold.register(Ticket.MergedInto)  # a merge closes the ticket merged away
def _transitioned(event: Ticket.Transitioned | Ticket.MergedInto, f: Folding) -> None:
    _moved(row(event, f), event)


@fold.register(Ticket.WorkflowMigrated)
def _migrated(event: Ticket.WorkflowMigrated, f: Folding) -> None:
    ticket = row(event, f)
    ticket.workflow_version = event.new_version
    _moved(ticket, event)


def _moved(ticket: TicketRow, event: Ticket.Transitioned | Ticket.WorkflowMigrated | Ticket.MergedInto) -> None:
    """A move to another state: what its category means for the row (a solve, a close, a reopen)."""
    if event.new_status != ticket.status:
        ticket.status_since = event.timestamp
    ticket.status, ticket.status_category = event.new_status, event.new_category
    if event.new_category == Status.SOLVED.value:
        if event.old_category != Status.SOLVED.value:
            ticket.solved_at = event.timestamp
    elif event.new_category == Status.CLOSED.value:
        ticket.closed_at = event.timestamp
    elif event.old_category == Status.SOLVED.value:
        ticket.reopen_count += 1
        ticket.solved_at = None


@fold.register(Ticket.CommentAdded)
def _commented(event: Ticket.CommentAdded, f: Folding) -> None:
    ticket = row(event, f)
    _searched(f, event, comment_part(event.number), event.actor_id, event.body, internal=not event.public)
    if not event.public:
        ticket.internal_notes += 1
        return
    ticket.public_comments += 1
    if event.actor_kind == ActorKind.REQUESTER.value:
        ticket.last_requester_activity_at = event.timestamp
    elif event.actor_kind == ActorKind.AGENT.value:
        ticket.last_contact_agent_at = event.timestamp
        if ticket.first_agent_reply_at is None:
            ticket.first_agent_reply_at = event.timestamp


@fold.register(Ticket.Merged)
def _merged(event: Ticket.Merged, f: Folding) -> None:
    # The copies count among the ticket's replies and notes, as its timeline shows them. They move neither
    # its first agent reply nor the requester's last activity: those say when this ticket's conversation
    # moved, and the copies were written on another. (The ticket merged away closes: `MergedInto`, above.)
    ticket = row(event, f)
    public = sum(1 for c in event.comments if c["public"])
    ticket.public_comments += public
    ticket.internal_notes += len(event.comments) - public
    for copy in event.comments:
        part = comment_part(copy["number"])
        _searched(f, event, part, copy["author_id"], copy["body"], internal=not copy["public"])


@fold.register(Ticket.HandedOver)
def _handed_over(event: Ticket.HandedOver, f: Folding) -> None:
    # A chat's messages are public replies of this ticket; the customer's last one is their latest activity.
    ticket = row(event, f)
    ticket.public_comments += len(event.comments)
    said = [c["at"] for c in event.comments if c["author_kind"] == ActorKind.REQUESTER.value]
    if said and (ticket.last_requester_activity_at is None or said[-1] > ticket.last_requester_activity_at):
        ticket.last_requester_activity_at = said[-1]


@fold.register(Ticket.PersonalDataErased)
def _erased(event: Ticket.PersonalDataErased, f: Folding) -> None:
    # The title is the requester's, and so are personal custom fields (they name their owner); nothing
    # else in the row is personal (ids are pseudonyms).
    ticket = row(event, f)
    erase_from_row(ticket, event.person_id)
    # Their parts' stored rows go when the batch is written (`Batch.erased`); this batch's go here.
    gone = (ticket.tenant, event.person_id)
    f.batch.search = {key: part for key, part in f.batch.search.items() if (part.tenant, part.author) != gone}


@fold.register(Ticket.TitleChanged)
def _title_changed(event: Ticket.TitleChanged, f: Folding) -> None:
    ticket = row(event, f)
    ticket.title = event.new_title
    _searched(f, event, TITLE, ticket.requester_id, event.new_title, replaces=True)


@fold.register(Ticket.DescriptionChanged)
def _description_changed(event: Ticket.DescriptionChanged, f: Folding) -> None:
    row(event, f)
    _searched(f, event, DESCRIPTION, event.requester_id, event.new_description, replaces=True)


@fold.register(Ticket.PriorityChanged)
def _priority_changed(event: Ticket.PriorityChanged, f: Folding) -> None:
    ticket = row(event, f)
    ticket.priority, ticket.priority_rank = event.new_priority, Priority(event.new_priority).rank


@fold.register(Ticket.TypeChanged)
def _type_changed(event: Ticket.TypeChanged, f: Folding) -> None:
    row(event, f).ticket_type = event.new_type


@fold.register(Ticket.TagsChanged)
def _tags_changed(event: Ticket.TagsChanged, f: Folding) -> None:
    row(event, f).tags = list(event.new_tags)
    f.batch.retagged.add(event.originator_id)


@fold.register(Ticket.CustomFieldChanged)
def _custom_field_changed(event: Ticket.CustomFieldChanged, f: Folding) -> None:
    fields = row(event, f).custom_fields
    if event.new_value is None:
        fields.pop(event.name, None)
    else:
        fields[event.name] = dict(event.new_value)
