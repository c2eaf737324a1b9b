"""The HelpDesk application: every command and query of the ticket service.

Each command is get -> act -> save. The moment of every command comes from the injected
clock, so a replay never reads the time. Lists, queues and searches are not here: they are
read models built by projections.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, ClassVar, Literal, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application

from domain import values
from domain.access import policy as access
from domain.actors import Actor, ActorKind
from domain.clock import Clock, system_clock
from domain.errors import (
    AlreadyExistsError,
    ExpectedVersion,
    InvalidValueError,
    NotFoundError,
    NotPermittedError,
    TicketNotFoundError,
    VersionMismatchError,
)
from domain.keys.api_key import ApiKey
from domain.privacy.data_subject import DataSubject
from domain.provenance import CommandContext, acting, current_cause, event_cause
from domain.sla.clock import SlaClock, TargetStatus, recompute
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.sla.policy import CALENDAR_TIME, AppliedPolicy, Escalation
from domain.tickets.fields import FieldCatalogue, FieldDefinition
from domain.tickets.history import Change, FieldChange, diff
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import SlaAlert, Ticket
from domain.tickets.workflow import DEFAULT_WORKFLOW, Workflow, status
from domain.values import Attachment, FieldValue, Rating


class Keep(Enum):
    """Marks an optional update argument that was not given (None would mean 'clear it')."""

    KEEP = "keep"


KEEP = Keep.KEEP
C = TypeVar("C", WorkCalendar, SlaPolicy)


@dataclass(frozen=True, slots=True)
class Receipt:
    """What a command did: the ticket as it now is, and the log position of its last new event.

    `position` is None when the command changed nothing and so recorded nothing.
    """

    ticket: Ticket
    position: int | None

    @property
    def ticket_id(self) -> UUID:
        """The ticket's id."""
        return self.ticket.id

    @property
    def version(self) -> int:
        """The ticket's version after the command."""
        return self.ticket.version


@dataclass(frozen=True, slots=True)
class ConfigReceipt:
    """A calendar or policy as now recorded: its name, version, and the log position of its event."""

    name: str
    version: int
    position: int | None  # None when nothing changed


@dataclass(frozen=True, slots=True)
class ErasureReceipt:
    """What an erasure recorded: how many tickets forgot the person, and the log position of the last event."""

    tickets: int
    position: int


@dataclass(frozen=True, slots=True)
class SavedViewReceipt:
    """A saved view as stored, and the log position of its event."""

    view: SavedView
    position: int


class HelpDesk(Application[UUID]):
    """Ticket commands and single-ticket queries over an eventsourcing event store."""

    name = "HelpDesk"
    # A snapshot every 100 events: loading (and as-of) a long-lived ticket replays at most 99 events.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {Ticket: 100}

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock = system_clock,
        workflow: Workflow = DEFAULT_WORKFLOW,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.workflow = workflow
        self._save_listeners: list[Callable[[int], None]] = []

    def on_saved(self, listener: Callable[[int], None]) -> None:
        """Call `listener` with the last log position after every save in this process."""
        self._save_listeners.append(listener)

    def _notify(self, recordings: Sequence[Any]) -> None:
        # eventsourcing calls this after each save; it lets in-process projections wake at once.
        if recordings:
            for listener in self._save_listeners:
                listener(recordings[-1].notification.id)

    # --- commands ---------------------------------------------------------------------------

    def open_ticket(
        self,
        *,
        tenant: str,
        title: str,
        description: str = "",
        requester_id: str,
        requester_name: str | None = None,
        requester_email: str | None = None,
        organisation: str | None = None,
        priority: str = values.Priority.NORMAL.value,
        ticket_type: str | None = None,
        tags: Iterable[str] = (),
        custom_fields: Mapping[str, FieldValue] | None = None,
        by: Actor,
        via: str,
    ) -> Receipt:
        """Open a ticket for a request; it starts in status `new`.

        Custom fields are checked against the tenant's definitions; personal ones become the requester's.
        """
        if custom_fields:
            custom_fields = self._defined_fields(tenant, custom_fields, requester_id)
        with self._acting(by, via):
            ticket = Ticket.open(
                tenant=tenant,
                title=title,
                description=description,
                requester_id=requester_id,
                requester_name=requester_name,
                requester_email=requester_email,
                organisation=organisation,
                priority=priority,
                ticket_type=ticket_type,
                tags=tags,
                custom_fields=custom_fields,
            )
        return self._commit(ticket)

    def assign(
        self,
        ticket_id: UUID,
        *,
        assignee: str | None = None,
        group: str | None = None,
        by: Actor,
        via: str,
        expected_version: ExpectedVersion | None = None,
        tenant: str | None = None,
    ) -> Receipt:
        """Assign (or reassign) a ticket to an agent, a group, or both."""
        ticket = self._ticket_for_update(ticket_id, expected_version, tenant, by)
        if group is not None and by.groups is not None and group not in by.groups:
            msg = f"you may route tickets only to your groups ({', '.join(sorted(by.groups))})"
            raise NotPermittedError(msg)
        with self._acting(by, via, ticket):
            ticket.assign(assignee=assignee, group=group)
        return self._commit(ticket)

    def unassign(
        self,
        ticket_id: UUID,
        *,
        by: Actor,
        via: str,
        expected_version: ExpectedVersion | None = None,
        tenant: str | None = None,
    ) -> Receipt:
        """Take a ticket away from its agent; it stays in its group's queue."""
        ticket = self._ticket_for_update(ticket_id, expected_version, tenant, by)
        with self._acting(by, via, ticket):
            ticket.unassign()
        return self._commit(ticket)

    def transition(
        self,
        ticket_id: UUID,
        to: str,
        *,
        by: Actor,
        via: str,
        expected_version: ExpectedVersion | None = None,
        tenant: str | None = None,
    ) -> Receipt:
        """Move a ticket to another status, as the workflow allows."""
        ticket = self._ticket_for_update(ticket_id, expected_version, tenant, by)
        with self._acting(by, via, ticket):
            ticket.transition(status(to), workflow=self.workflow)
        return self._commit(ticket)

    def add_comment(
        self,
        ticket_id: UUID,
        body: str,
        *,
        public: bool,
        attachments: Iterable[Attachment] = (),
        by: Actor,
        via: str,
        expected_version: ExpectedVersion | None = None,
        tenant: str | None = None,
    ) -> Receipt:
        """Add a public reply or an internal note."""
        ticket = self._ticket_for_update(ticket_id, expected_version, tenant, by)
        with self._acting(by, via, ticket):
            ticket.add_comment(body, public=public, attachments=attachments)
        return self._commit(ticket)

    def rate(
        self,
        ticket_id: UUID,
        rating: str | int,
        comment: str = "",
        *,
        by: Actor,
        via: str,
        expected_version: ExpectedVersion | None = None,
        tenant: str | None = None,
    ) -> Receipt:
        """The requester rates a solved ticket: good/bad or 1-5, with an optional comment."""
        ticket = self._ticket_for_update(ticket_id, expected_version, tenant, by)
        with self._acting(by, via, ticket):
            ticket.rate(Rating.parse(rating), comment)
        return self._commit(ticket)

    def update_ticket(
        self,
        ticket_id: UUID,
        *,
        priority: str | None = None,
        ticket_type: str | Literal[Keep.KEEP] | None = KEEP,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        custom_fields: Mapping[str, FieldValue | None] | None = None,
        by: Actor,
        via: str,
        expected_version: ExpectedVersion | None = None,
        tenant: str | None = None,
    ) -> Receipt:
        """Change priority, type, tags and custom fields together, atomically.

        Each change that alters something records its own event; all are saved in one
        transaction, so either every change is stored or none is.
        """
        ticket = self._ticket_for_update(ticket_id, expected_version, tenant, by)
        if custom_fields:
            custom_fields = self._defined_fields(ticket.tenant, custom_fields, ticket.requester_id)
        with self._acting(by, via, ticket):
            if priority is not None:
                ticket.change_priority(values.priority(priority))
            if ticket_type is not KEEP:
                ticket.change_type(ticket_type)
            ticket.add_tags(add_tags)
            ticket.remove_tags(remove_tags)
            for name, value in (custom_fields or {}).items():
                ticket.set_custom_field(name, value)
        return self._commit(ticket)

    def save_view(self, *, tenant: str, name: str, filters: Mapping[str, Any], by: Actor, via: str) -> SavedViewReceipt:
        """Store a named set of ticket-list filters for everyone in the tenant."""
        if SavedView.create_id(tenant, name) in self.repository:
            msg = f"a saved view named {name!r} already exists"
            raise AlreadyExistsError(msg)
        with self._acting(by, via):
            view = SavedView.create(tenant=tenant, name=name, filters=filters)
        recordings = self.save(view)
        return SavedViewReceipt(view=view, position=recordings[-1].notification.id)

    # --- custom-field definitions ------------------------------------------------------------------

    def define_field(self, *, tenant: str, name: str, kind: str, personal: bool, by: Actor, via: str) -> ConfigReceipt:
        """Define a custom field of the tenant (its kind, whether it is personal), or change its definition.

        A new definition applies to values set from then on: values recorded before keep the form
        they were stored in (a field newly marked personal does not encrypt its past values).
        """
        with self._acting(by, via):
            catalogue = self._field_catalogue(tenant) or FieldCatalogue.start(tenant=tenant)
            catalogue.define(name, kind=kind, personal=personal)
        recordings = self.save(catalogue)
        definition = catalogue.fields[name]
        position = recordings[-1].notification.id if recordings else None
        return ConfigReceipt(name=definition.name, version=definition.version, position=position)

    def field_definitions(self, tenant: str) -> list[FieldDefinition]:
        """The tenant's custom-field definitions, by name."""
        catalogue = self._field_catalogue(tenant)
        return [] if catalogue is None else sorted(catalogue.fields.values(), key=lambda d: d.name)

    def field_definition(self, tenant: str, name: str) -> FieldDefinition:
        """One custom-field definition of the tenant."""
        catalogue = self._field_catalogue(tenant)
        definition = None if catalogue is None else catalogue.definition(name)
        if definition is None:
            msg = f"no custom field definition {name!r}"
            raise NotFoundError(msg)
        return definition

    def _field_catalogue(self, tenant: str) -> FieldCatalogue | None:
        try:
            catalogue: FieldCatalogue = self.repository.get(FieldCatalogue.create_id(tenant))
        except AggregateNotFoundError:
            return None
        return catalogue

    def _defined_fields(self, tenant: str, fields: Mapping[str, Any], owner: str) -> dict[str, Any]:
        # Read once per command, and only by commands that set custom fields.
        catalogue = self._field_catalogue(tenant)
        return dict(fields) if catalogue is None else catalogue.applied(fields, owner)

    # --- administration --------------------------------------------------------------------------

    def record_key_issued(
        self, *, tenant: str, key_id: str, holder_id: str, holder_kind: str, role: str, by: Actor, via: str
    ) -> int:
        """Put the issue of an API key on record; returns its log position."""
        with self._acting(by, via):
            key = ApiKey.issue(tenant=tenant, key_id=key_id, holder_id=holder_id, holder_kind=holder_kind, role=role)
        return int(self.save(key)[-1].notification.id)

    def record_key_revoked(self, *, key_id: str, by: Actor, via: str) -> int | None:
        """Put the revocation of an API key on record; None if it was not on record or already revoked."""
        try:
            key: ApiKey = self.repository.get(ApiKey.create_id(key_id))
        except AggregateNotFoundError:
            return None
        with self._acting(by, via):
            key.revoke()
        recordings = self.save(key)
        return recordings[-1].notification.id if recordings else None

    def erase_person(
        self, *, tenant: str, person_id: str, ticket_ids: Iterable[UUID], by: Actor, via: str
    ) -> ErasureReceipt:
        """Record the erasure of a person's data on each of these tickets, and on the person's record.

        Every ticket that still holds something of the person records `PersonalDataErased` and
        forgets it; all of it is saved in one transaction. Destroying the person's data key,
        which makes the stored copies unreadable, is the caller's next step.
        """
        tickets = []
        for ticket_id in ticket_ids:
            try:
                ticket = self.get_ticket(ticket_id, tenant=tenant)
            except TicketNotFoundError:
                continue
            with self._acting(by, via, ticket):
                ticket.erase_personal_data(person_id)
            if ticket.pending_events:
                tickets.append(ticket)
        subject_id = DataSubject.create_id(tenant, person_id)
        try:
            subject: DataSubject = self.repository.get(subject_id)
        except AggregateNotFoundError:
            with self._acting(by, via):
                subject = DataSubject.register(tenant=tenant, person_id=person_id)
        with self._acting(by, via):
            subject.erased(tickets=len(tickets))
        recordings = self.save(*tickets, subject)
        return ErasureReceipt(tickets=len(tickets), position=recordings[-1].notification.id)

    # --- SLA configuration -------------------------------------------------------------------------

    def define_calendar(
        self, *, tenant: str, name: str, definition: Mapping[str, Any], by: Actor, via: str
    ) -> ConfigReceipt:
        """Create a business calendar, or record a new version of it."""
        calendar = self._configured(WorkCalendar, WorkCalendar.create_id(tenant, name))
        with self._acting(by, via):
            if calendar is None:
                calendar = WorkCalendar.define(tenant=tenant, name=name, definition=definition)
            else:
                calendar.change(definition)
        return self._commit_config(calendar)

    def define_policy(
        self, *, tenant: str, name: str, position: int, terms: Mapping[str, Any], by: Actor, via: str
    ) -> ConfigReceipt:
        """Create an SLA policy, or record a new version of it. Its calendar must exist."""
        calendar_name = terms.get("calendar_id")
        if calendar_name is not None:
            self.work_calendar(tenant, str(calendar_name))
        policy = self._configured(SlaPolicy, SlaPolicy.create_id(tenant, name))
        with self._acting(by, via):
            if policy is None:
                policy = SlaPolicy.define(tenant=tenant, name=name, position=position, terms=terms)
            else:
                policy.change(position=position, terms=terms)
        return self._commit_config(policy)

    def work_calendar(self, tenant: str, name: str, version: int | None = None) -> WorkCalendar:
        """A calendar of the tenant (at `version`, else the latest)."""
        calendar = self._configured(WorkCalendar, WorkCalendar.create_id(tenant, name), version)
        if calendar is None:
            msg = f"no calendar {name!r}" + ("" if version is None else f" at version {version}")
            raise NotFoundError(msg)
        return calendar

    def sla_policy(self, tenant: str, name: str, version: int | None = None) -> SlaPolicy:
        """A policy of the tenant (at `version`, else the latest)."""
        policy = self._configured(SlaPolicy, SlaPolicy.create_id(tenant, name), version)
        if policy is None:
            msg = f"no SLA policy {name!r}" + ("" if version is None else f" at version {version}")
            raise NotFoundError(msg)
        return policy

    def applied_policy(self, tenant: str, name: str, version: int | None = None) -> AppliedPolicy:
        """A policy version with its calendar (the calendar's latest version), ready to fold a ticket with."""
        policy = self.sla_policy(tenant, name, version)
        terms = policy.policy_terms
        calendar = (
            CALENDAR_TIME if terms.calendar_id is None else self.work_calendar(tenant, terms.calendar_id).calendar
        )
        return AppliedPolicy(policy_id=policy.name, version=policy.version, terms=terms, calendar=calendar)

    # --- SLA of one ticket ---------------------------------------------------------------------------

    def recompute_sla(
        self, ticket_id: UUID, *, tenant: str, policy: str, version: int | None = None, now: datetime | None = None
    ) -> list[TargetStatus]:
        """The ticket's SLA figures at `now` (default: now) had policy `policy` at `version` applied all along."""
        applied = self.applied_policy(tenant, policy, version)
        return recompute(self._events_of(ticket_id, tenant), applied, now or self.clock())

    def apply_policy(
        self, ticket_id: UUID, *, tenant: str, policy: str, version: int | None = None, by: Actor, via: str
    ) -> Receipt:
        """Put on record the ticket's SLA clocks recomputed from its whole history under a policy version."""
        applied = self.applied_policy(tenant, policy, version)
        ticket = self.get_ticket(ticket_id, tenant=tenant)
        clock = SlaClock.start()
        for event in self._events_of(ticket_id, tenant):
            clock.apply(event, applied)
        with self._acting(by, via, ticket):
            ticket.recompute_sla(policy_id=applied.policy_id, policy_version=applied.version, clock=clock.as_dict())
        return self._commit(ticket)

    def raise_sla_alert(
        self,
        ticket_id: UUID,
        alert: SlaAlert,
        *,
        breach: bool,
        expected_version: int,
        escalation: Escalation | None = None,
        by: Actor,
        via: str,
    ) -> Receipt:
        """Record an SLA warning or breach once per target and cycle, and on a breach run the escalation.

        `expected_version` is the ticket version the caller judged the target at: if the ticket
        changed since, nothing is recorded (VersionMismatchError) and the caller judges again.
        """
        ticket = self.get_ticket(ticket_id)
        if ticket.version != expected_version:
            raise VersionMismatchError(expected_version, ticket.version)
        with self._acting(by, via, ticket):
            recorded = ticket.record_sla_breach(alert) if breach else ticket.issue_sla_warning(alert)
        if breach and recorded and escalation is not None:
            # The escalation's events say the breach caused them.
            with self._acting(by, via, ticket, caused_by=event_cause(ticket.id, ticket.version)):
                _escalate(ticket, alert, escalation)
        return self._commit(ticket)

    # --- queries of one ticket -------------------------------------------------------------------

    def get_ticket(
        self,
        ticket_id: UUID,
        *,
        tenant: str | None = None,
        requester: str | None = None,
        organisation: str | None = None,
    ) -> Ticket:
        """The ticket as it is now.

        With `tenant`, another tenant's ticket is "not found" (never "forbidden"); with
        `requester`, so is a ticket someone else asked for, unless it is of `organisation`
        (requesters who may read their organisation's tickets).
        """
        ticket = self._ticket(ticket_id)
        if requester is not None:
            reader = Actor(requester, ActorKind.REQUESTER, organisation=organisation)
            if not access.reaches(reader, ticket, tenant=tenant):
                raise TicketNotFoundError(f"no ticket {ticket_id}")
        elif tenant is not None and ticket.tenant != tenant:
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        return ticket

    def _ticket(self, ticket_id: UUID) -> Ticket:
        try:
            ticket: Ticket = self.repository.get(ticket_id)
        except AggregateNotFoundError:
            raise TicketNotFoundError(f"no ticket {ticket_id}") from None
        return ticket

    def ticket_at_version(self, ticket_id: UUID, version: int, *, tenant: str | None = None) -> Ticket:
        """The ticket as it was right after its `version`-th event."""
        if version < 1:
            msg = f"version must be 1 or more (got {version})"
            raise InvalidValueError(msg)
        try:
            ticket: Ticket = self.repository.get(ticket_id, version=version)
        except AggregateNotFoundError:
            raise TicketNotFoundError(f"no ticket {ticket_id}") from None
        if tenant is not None and ticket.tenant != tenant:  # another tenant's ticket does not exist for the caller
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        if ticket.version != version:
            msg = f"ticket {ticket_id} has no version {version}; its latest is {ticket.version}"
            raise TicketNotFoundError(msg)
        return ticket

    def ticket_as_of(self, ticket_id: UUID, moment: datetime, *, tenant: str | None = None) -> Ticket:
        """The ticket as it was at `moment`: its last version recorded at or before then.

        Event times never decrease along a ticket's versions, so the version is found by binary
        search (a few single-event reads), then loaded from the nearest snapshot.
        """
        if moment.tzinfo is None:
            msg = "the as-of moment must carry a time zone offset, e.g. 2026-11-23T09:00:00Z"
            raise InvalidValueError(msg)
        low, high = (
            0,
            self.get_ticket(ticket_id, tenant=tenant).version,
        )  # invariant: time(low) <= moment < time(high + 1)
        while low < high:
            middle = (low + high + 1) // 2
            if self._time_of(ticket_id, middle) <= moment:
                low = middle
            else:
                high = middle - 1
        if low == 0:
            msg = f"ticket {ticket_id} did not exist at {moment.isoformat()}"
            raise TicketNotFoundError(msg)
        return self.ticket_at_version(ticket_id, low)

    def diff(
        self, ticket_id: UUID, from_version: int, to_version: int, *, tenant: str | None = None
    ) -> tuple[FieldChange, ...]:
        """What differs between two versions of a ticket, field by field."""
        before = self.ticket_at_version(ticket_id, from_version, tenant=tenant)
        return diff(before, self.ticket_at_version(ticket_id, to_version, tenant=tenant))

    def history(self, ticket_id: UUID, *, tenant: str | None = None) -> list[Change]:
        """Every change to the ticket, oldest first: who, when, through which channel, old -> new."""
        return [
            Change(
                version=e.originator_version,
                at=e.timestamp,
                actor_id=e.actor_id,
                actor_kind=e.actor_kind,
                actor_role=e.actor_role,
                via=e.via,
                event=type(e).__name__,
                changes=e.field_changes(),
                correlation_id=e.correlation_id,
                causation_id=e.causation_id,
            )
            for e in self._events_of(ticket_id, tenant)
        ]

    # --- the shared steps --------------------------------------------------------------------------

    @contextmanager
    def _acting(
        self, by: Actor, via: str, ticket: Ticket | None = None, *, caused_by: str | None = None
    ) -> Iterator[CommandContext]:
        """The command context of the commands in the block: what every event they trigger records."""
        # A change never precedes the change it follows: with clocks of several processes a
        # little apart, a ticket's event times still never go backwards (as-of relies on it).
        now = self.clock()
        if ticket is not None and now < ticket.modified_on:
            now = ticket.modified_on
        cause = current_cause()
        context = CommandContext(
            actor=by,
            via=via,
            at=now,
            correlation_id=cause.correlation_id,
            causation_id=caused_by or cause.causation_id,
        )
        with acting(context):
            yield context

    def _ticket_for_update(
        self, ticket_id: UUID, expected_version: ExpectedVersion | None, tenant: str | None, by: Actor
    ) -> Ticket:
        # Who reaches and may change which ticket is the access policy's (domain/access/policy.py).
        ticket = self._ticket(ticket_id)
        if not access.reaches(by, ticket, tenant=tenant):
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        if not access.may_change(by, ticket):
            msg = "only the requester can change this ticket; others of the organisation can read it"
            raise NotPermittedError(msg)
        if expected_version is not None and not _is_expected(ticket.version, expected_version):
            raise VersionMismatchError(expected_version, ticket.version)
        return ticket

    def _commit(self, ticket: Ticket) -> Receipt:
        # A conflicting concurrent save raises the store's IntegrityError; nothing is stored.
        recordings = self.save(ticket)
        return Receipt(ticket=ticket, position=recordings[-1].notification.id if recordings else None)

    def _configured(self, kind: type[C], aggregate_id: UUID, version: int | None = None) -> C | None:
        try:
            found: Any = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, kind) or (version is not None and found.version != version):
            return None
        return found

    def _commit_config(self, aggregate: WorkCalendar | SlaPolicy) -> ConfigReceipt:
        recordings = self.save(aggregate)
        position = recordings[-1].notification.id if recordings else None
        return ConfigReceipt(name=aggregate.name, version=aggregate.version, position=position)

    def _time_of(self, ticket_id: UUID, version: int) -> datetime:
        (event,) = self.events.get(ticket_id, gt=version - 1, lte=version)
        moment: datetime = getattr(event, "timestamp")  # noqa: B009 -- every ticket event has one
        return moment

    def _events_of(self, ticket_id: UUID, tenant: str | None) -> list[Ticket.Event]:
        events: list[Any] = list(self.events.get(ticket_id))
        if not events or not isinstance(events[0], Ticket.Opened) or tenant not in (None, events[0].tenant):
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        return events


def _escalate(ticket: Ticket, alert: SlaAlert, escalation: Escalation) -> None:
    """The escalation a policy sets for a breach: each action an ordinary event on the ticket."""
    if escalation.raise_priority_to is not None:
        raised = values.priority(escalation.raise_priority_to)
        if raised.rank > ticket.priority.rank:
            ticket.change_priority(raised)
    if escalation.reassign_group is not None:
        ticket.assign(group=escalation.reassign_group)
    if escalation.notify:
        mentions = " ".join(f"@{who}" for who in escalation.notify)
        target = alert.target.replace("_", " ")
        note = f"{mentions} SLA breached: {target} (cycle {alert.cycle}) was due {alert.due_at.isoformat()}."
        ticket.add_comment(note, public=False)


def _is_expected(version: int, expected: ExpectedVersion) -> bool:
    """Whether `version` is the one expected, or one of several (a caller holding copies of two versions)."""
    return version == expected if isinstance(expected, int) else version in expected
