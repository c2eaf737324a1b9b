"""The ticket read models: what one row per ticket, the solved-per-day counts, the saved views and audit activity mean.

The projection folds ticket events into rows. It never touches a database itself: it asks its
view (a tracking recorder) for the working copy of a row and changes it; the view writes all
rows changed by a batch of events together with the batch's tracking position, in one
transaction, so each event is applied exactly once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, ClassVar, NamedTuple
from uuid import UUID

from eventsourcing.dispatch import singledispatchmethod
from eventsourcing.persistence import Tracking, TrackingRecorder
from eventsourcing.projection import Projection

from domain.actors import ActorKind
from domain.keys.api_key import ApiKey
from domain.privacy.data_subject import DataSubject
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.sla.policy import Calendar
from domain.tickets.saved_views import SavedView, erased_filters
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import ERASED, Priority
from projections.metrics import MetricsBatch, fold_metrics
from projections.parking import ParkedEntry, Parking
from projections.rows import SavedViewRow, TicketRow
from projections.sla import SlaChanges, SlaFolder, ticket_due

#: Statuses in which a ticket still needs work (what queues show by default).
UNSOLVED = (Status.NEW.value, Status.OPEN.value, Status.PENDING.value, Status.ON_HOLD.value)

#: The event type under which saved views count in `audit_activity`.
SAVED_VIEW_CREATED = "SavedView.Created"

#: Event types that count as privileged actions in audit reports: those that key management, policy and
#: calendar changes, SLA escalation and erasure record. No ticket or saved-view event is privileged.
PRIVILEGED_EVENT_TYPES: frozenset[str] = frozenset(
    {
        "KeyCreated",
        "KeyRevoked",
        "PolicyDefined",
        "PolicyChanged",
        "CalendarDefined",
        "CalendarChanged",
        "SlaRecomputed",
        "PersonErased",
    }
)


class ActivityKey(NamedTuple):
    """One row of `audit_activity`: who changed what kind of thing, for which organisation, on which day (UTC)."""

    tenant: str
    day: date
    actor_id: str
    actor_kind: str
    organisation: str | None
    event_type: str


@dataclass
class Batch:
    """What a batch of events changed, for the view to write in one transaction.

    `after` is the tracking position the batch continues from: the view writes the batch only if
    the stored position is still exactly that, so two workers can never both apply an event.
    """

    after: int = 0
    tickets: dict[UUID, TicketRow] = field(default_factory=dict)
    retagged: set[UUID] = field(default_factory=set)  # tickets whose tag rows must be rewritten
    solved: dict[tuple[str, str, date], int] = field(default_factory=dict)  # (tenant, agent, day) -> count
    saved_views: list[SavedViewRow] = field(default_factory=list)
    activity: dict[ActivityKey, int] = field(default_factory=dict)  # audit_activity key -> changes
    people: set[tuple[str, str, UUID]] = field(default_factory=set)  # (tenant, person, ticket) whose data it holds
    erased: set[tuple[str, str]] = field(default_factory=set)  # (tenant, person) erased: scrub views, reclaim rows
    sla: SlaChanges = field(default_factory=SlaChanges)  # the SLA model's changes (projections/sla.py)
    metrics: MetricsBatch = field(default_factory=MetricsBatch)  # service-metric facts (projections/metrics.py)
    # Parking (projections/parking.py): aggregates parked by this batch, aggregates already parked whose
    # events it skipped (still parked when it is written, or the batch is void), and the positions skipped.
    parked: list[Parking] = field(default_factory=list)
    held: set[UUID] = field(default_factory=set)
    skipped: set[tuple[UUID, int]] = field(default_factory=set)  # (aggregate, position)
    scrubs: set[tuple[UUID, str]] = field(default_factory=set)  # (parked ticket, person erased meanwhile)

    def count(self, key: ActivityKey) -> None:
        """Count one change under `key`."""
        self.activity[key] = self.activity.get(key, 0) + 1


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a moment."""
    return moment.astimezone(UTC).date()


def erase_from_row(row: TicketRow, person_id: str) -> None:
    """Scrub a person's data from a ticket row: the title if they asked, the personal custom fields they own."""
    if row.requester_id == person_id:
        row.title = ERASED
    row.custom_fields = {
        name: {**value, "value": ERASED} if value.get("owner") == person_id else value
        for name, value in row.custom_fields.items()
    }


class BatchConflictError(Exception):
    """Another worker moved the tracking position since this batch was read; the batch is void."""


class TicketsView(TrackingRecorder, ABC):
    """Where the ticket read models live. Implemented for SQLite and PostgreSQL in infrastructure."""

    @abstractmethod
    def begin_batch(self, after: int) -> Batch:
        """Start collecting the changes of a batch of events read after position `after`."""

    @abstractmethod
    def load_tickets(self, batch: Batch, ticket_ids: set[UUID]) -> None:
        """Put the stored rows of these tickets into the batch's working set (missing ones are skipped)."""

    @abstractmethod
    def load_sla_config(self, changes: SlaChanges, tenant: str) -> None:
        """Put the tenant's stored SLA policies and calendars into the batch (ones already there win)."""

    @abstractmethod
    def load_sla_clocks(self, changes: SlaChanges, ticket_ids: set[UUID], calendars: Callable[[str], Calendar]) -> None:
        """Put the stored SLA clocks of these tickets into the batch (untracked tickets have none)."""

    @abstractmethod
    def commit_batch(self, batch: Batch, tracking: Tracking) -> None:
        """Write the batch's changes and its tracking position in one transaction.

        Raises BatchConflictError, writing nothing, unless the stored position is `batch.after`
        and every aggregate in `batch.held` is still parked.
        """

    @abstractmethod
    def try_batch(self, batch: Batch, tracking: Tracking) -> None:
        """Write the batch as commit_batch would, then roll it all back: raises what the write raises."""

    @abstractmethod
    def parked_ids(self) -> set[UUID]:
        """The aggregates parked now."""

    @abstractmethod
    def parked(self, tenant: str | None = None, aggregate_id: UUID | None = None) -> list[ParkedEntry]:
        """The dead-letter list (of one tenant, or one aggregate), oldest position first."""

    @abstractmethod
    def skipped_positions(self, aggregate_id: UUID) -> list[int]:
        """The positions of a parked aggregate's events not applied yet, in order."""

    @abstractmethod
    def commit_retry(self, batch: Batch, aggregate_id: UUID, positions: list[int]) -> None:
        """Write a parked aggregate's replayed events and unpark it, in one transaction.

        Raises BatchConflictError, writing nothing, unless its skipped positions are still `positions`.
        """

    @abstractmethod
    def repark(self, parking: Parking) -> None:
        """Record that a retry of a parked aggregate failed again, and why."""


class TicketsProjection(Projection[TicketsView]):
    """Folds ticket events into the `tickets`, `agent_solved_daily` and `audit_activity` tables, and saved views."""

    name = "tickets"
    topics = ()
    #: The personal (encrypted) fields the read models keep: a ticket's title, for lists and search; its
    #: custom fields (personal ones included) and saved views' filters, which lists show as they are.
    #: Nothing else personal is decrypted to build them.
    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset({"title", "custom_fields", "new_value", "filters"})

    def __init__(self, view: TicketsView) -> None:
        super().__init__(view)
        self.batch = view.begin_batch(0)

    def start_batch(self, after: int) -> None:
        """Begin a batch of the events recorded after position `after`."""
        self.batch = self.view.begin_batch(after)

    def prefetch(self, ticket_ids: set[UUID]) -> None:
        """Load the stored rows and SLA clocks of tickets the batch's events touch: a query each, not one per ticket."""
        self.view.load_tickets(self.batch, ticket_ids)
        tickets = self.batch.tickets
        self.sla.prefetch_clocks({i: tickets[i].tenant for i in ticket_ids if i in tickets})

    def row(self, event: Ticket.Event, tracking: Tracking) -> TicketRow:
        """The working copy of the event's ticket, stamped with the event's version and position."""
        row = self.owner(event.originator_id)
        row.updated_at = event.timestamp
        row.version = event.originator_version
        row.position = tracking.notification_id
        return row

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Fold one event into the rows, the SLA model and the service metrics; count it in the audit activity."""
        # The handler by event type, straight from `fold`'s registry: in Python 3.11 each attribute
        # access of a singledispatchmethod builds and wraps a new function, once per event here.
        _FOLD.dispatch(type(domain_event))(self, domain_event, tracking)
        if isinstance(domain_event, Ticket.Event):
            self.fold_sla(domain_event)
        self.count_activity(domain_event)
        if isinstance(domain_event, Ticket.Event):
            fold_metrics(self.batch.metrics, domain_event, self.owner(domain_event.originator_id))

    @property
    def sla(self) -> SlaFolder:
        """What folds events into this batch's SLA changes."""
        return SlaFolder(self.batch.sla, self.view.load_sla_config, self.view.load_sla_clocks)

    def fold_sla(self, event: Ticket.Event) -> None:
        """Move the ticket's SLA clock, and carry its earliest due, warning and breach onto the ticket row."""
        row = self.owner(event.originator_id)
        self.sla.ticket_event(event, row.tenant)
        clock = self.batch.sla.clocks.get(event.originator_id)
        if clock is not None:
            due = ticket_due(clock.targets())
            row.sla_due_at, row.sla_warn_at, row.sla_breached_at = due.due_at, due.warn_at, due.breached_at

    def count_activity(self, event: Any) -> None:
        """Count a ticket or saved-view event in `audit_activity` (events of other kinds are not counted)."""
        key = self.activity_key(event)
        if key is not None:
            self.batch.count(key)

    def activity_key(self, event: Any) -> ActivityKey | None:
        """Where an event counts: a ticket event under its ticket's tenant and organisation, by class name."""
        if isinstance(event, Ticket.Event):
            ticket = self.owner(event.originator_id)
            tenant, organisation, event_type = ticket.tenant, ticket.organisation, type(event).__name__
        elif isinstance(event, SavedView.Created):
            tenant, organisation, event_type = event.tenant, None, SAVED_VIEW_CREATED
        elif isinstance(event, ApiKey.Event | DataSubject.Event | SlaPolicy.Event | WorkCalendar.Event):
            tenant, organisation, event_type = event.tenant, None, type(event).__name__
        else:
            return None
        return ActivityKey(tenant, utc_day(event.timestamp), event.actor_id, event.actor_kind, organisation, event_type)

    def owner(self, ticket_id: UUID) -> TicketRow:
        """The ticket's working row, which tells its tenant and organisation (loaded when not in the batch)."""
        row = self.batch.tickets.get(ticket_id)
        if row is None:
            self.view.load_tickets(self.batch, {ticket_id})
            row = self.batch.tickets[ticket_id]
        return row

    @singledispatchmethod
    def fold(self, domain_event: Any, tracking: Tracking) -> None:
        """Events of other kinds mean nothing to the ticket rows."""

    @fold.register
    def _(self, event: Ticket.Event, tracking: Tracking) -> None:
        # A ticket event no column depends on (a rating, say) still moves the row's version and time.
        self.row(event, tracking)

    @fold.register
    def _(self, event: Ticket.Opened, tracking: Tracking) -> None:
        by_requester = event.actor_kind == ActorKind.REQUESTER.value
        self.batch.tickets[event.originator_id] = TicketRow(
            ticket_id=event.originator_id,
            tenant=event.tenant,
            title=event.title,
            status=Status.NEW.value,
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
            last_requester_activity_at=event.timestamp if by_requester else None,
            version=event.originator_version,
            position=tracking.notification_id,
        )
        if event.tags:
            self.batch.retagged.add(event.originator_id)
        self.batch.people.add((event.tenant, event.requester_id, event.originator_id))

    @fold.register
    def _(self, event: Ticket.Assigned, tracking: Tracking) -> None:
        row = self.row(event, tracking)
        row.assignee, row.group = event.assignee, event.group

    @fold.register
    def _(self, event: Ticket.Unassigned, tracking: Tracking) -> None:
        self.row(event, tracking).assignee = None

    @fold.register
    def _(self, event: Ticket.Transitioned, tracking: Tracking) -> None:
        row = self.row(event, tracking)
        row.status = event.new_status
        if event.new_status == Status.SOLVED.value:
            row.solved_at = event.timestamp
            if row.assignee is not None:
                key = (row.tenant, row.assignee, event.timestamp.date())
                self.batch.solved[key] = self.batch.solved.get(key, 0) + 1
        elif event.new_status == Status.CLOSED.value:
            row.closed_at = event.timestamp
        elif event.old_status == Status.SOLVED.value:
            row.reopen_count += 1
            row.solved_at = None

    @fold.register
    def _(self, event: Ticket.CommentAdded, tracking: Tracking) -> None:
        row = self.row(event, tracking)
        self.batch.people.add((row.tenant, event.actor_id, event.originator_id))
        if not event.public:
            row.internal_notes += 1
            return
        row.public_comments += 1
        if event.actor_kind == ActorKind.REQUESTER.value:
            row.last_requester_activity_at = event.timestamp
        elif event.actor_kind == ActorKind.AGENT.value and row.first_agent_reply_at is None:
            row.first_agent_reply_at = event.timestamp

    @fold.register
    def _(self, event: Ticket.PersonalDataErased, tracking: Tracking) -> None:
        # The title is the requester's, and so are personal custom fields (they name their owner); nothing
        # else in the row is personal (ids are pseudonyms).
        row = self.row(event, tracking)
        erase_from_row(row, event.person_id)
        self.batch.erased.add((row.tenant, event.person_id))

    @fold.register
    def _(self, event: Ticket.PriorityChanged, tracking: Tracking) -> None:
        row = self.row(event, tracking)
        row.priority, row.priority_rank = event.new_priority, Priority(event.new_priority).rank

    @fold.register
    def _(self, event: Ticket.TypeChanged, tracking: Tracking) -> None:
        self.row(event, tracking).ticket_type = event.new_type

    @fold.register
    def _(self, event: Ticket.TagsChanged, tracking: Tracking) -> None:
        self.row(event, tracking).tags = list(event.new_tags)
        self.batch.retagged.add(event.originator_id)

    @fold.register
    def _(self, event: Ticket.CustomFieldChanged, tracking: Tracking) -> None:
        fields = self.row(event, tracking).custom_fields
        if event.new_value is None:
            fields.pop(event.name, None)
        else:
            fields[event.name] = dict(event.new_value)

    @fold.register
    def _(self, event: DataSubject.PersonErased, tracking: Tracking) -> None:
        # Saved views of this batch are scrubbed here, stored ones by the view when it writes the batch.
        for view in self.batch.saved_views:
            if view.tenant == event.tenant:
                view.filters = erased_filters(view.filters, saver=view.created_by, person_id=event.person_id)
        self.batch.erased.add((event.tenant, event.person_id))

    @fold.register
    def _(self, event: SlaPolicy.PolicyDefined, tracking: Tracking) -> None:
        self.sla.policy_changed(event)

    @fold.register
    def _(self, event: SlaPolicy.PolicyChanged, tracking: Tracking) -> None:
        self.sla.policy_changed(event)

    @fold.register
    def _(self, event: WorkCalendar.CalendarDefined, tracking: Tracking) -> None:
        self.sla.calendar_changed(event)

    @fold.register
    def _(self, event: WorkCalendar.CalendarChanged, tracking: Tracking) -> None:
        self.sla.calendar_changed(event)

    @fold.register
    def _(self, event: SavedView.Created, tracking: Tracking) -> None:
        self.batch.saved_views.append(
            SavedViewRow(
                view_id=event.originator_id,
                tenant=event.tenant,
                name=event.name,
                filters=dict(event.filters),
                created_by=event.actor_id,
                created_at=event.timestamp,
            )
        )

    def flush(self, tracking: Tracking) -> None:
        """Write what the batch changed, with `tracking`, and begin the next batch after it."""
        self.view.commit_batch(self.batch, tracking)
        self.batch = self.view.begin_batch(tracking.notification_id)

    def skip(self, event: Any, position: int) -> None:
        """Leave a parked aggregate's event for a retry; an erasure still scrubs the row the ticket has."""
        self.batch.skipped.add((event.originator_id, position))
        if isinstance(event, Ticket.PersonalDataErased):
            self.batch.scrubs.add((event.originator_id, event.person_id))

    def discard(self) -> None:
        """Forget unwritten changes (after a failed write; the events will be read again)."""
        self.batch = self.view.begin_batch(self.batch.after)


_FOLD = vars(TicketsProjection)["fold"].dispatcher
