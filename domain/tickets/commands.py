"""Ticket commands and single-ticket queries: open, assign, move, comment, rate, classify; history, as-of, diff."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any, Literal, Unpack
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain import values
from domain.access import policy as access
from domain.actors import Actor
from domain.directory.commands import DirectoryCommands
from domain.directory.geo import Place
from domain.errors import (
    AlreadyExistsError,
    IllegalTransitionError,
    InvalidValueError,
    NotFoundError,
    NotPermittedError,
    TicketClosedError,
    TicketNotFoundError,
)
from domain.pipeline import KEEP, Acting, ConfigReceipt, Keep, OnTicket, Receipt, SavedViewReceipt
from domain.provenance import current
from domain.races import retried
from domain.tickets import field_search
from domain.tickets.field_search import Comparison, FieldCondition
from domain.tickets.fields import FieldCatalogue, FieldDefinition
from domain.tickets.history import Change, FieldChange, diff, field_changes
from domain.tickets.links import LinkType, link_type
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import Ticket
from domain.tickets.transcripts import TranscriptMessage
from domain.tickets.workflow import Status
from domain.values import Attachment, FieldValue, Rating
from domain.workflows.commands import WorkflowCommands
from domain.workflows.lifecycle import UNSOLVED_CATEGORIES, Lifecycle


class TicketCommands(WorkflowCommands, DirectoryCommands):
    """The commands and queries of tickets, their custom-field catalogue and saved views."""

    # --- commands ---------------------------------------------------------------------------

    @retried
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
        group: str | None = None,
        parent_id: UUID | None = None,
        transcript: Sequence[TranscriptMessage] = (),
        location: Place | None = None,
        **how: Unpack[Acting],
    ) -> Receipt:
        """Open a ticket for a request, in the initial state of the workflow serving its type (in `group`'s queue).

        Custom fields are checked against the tenant's definitions; personal ones become the requester's.
        A chat bot's `transcript` becomes the ticket's first comments, in the same save.
        """
        parent = None if parent_id is None else self._parent_for(parent_id, tenant, how["by"])
        with self._acting(tenant=tenant, **how):
            ticket = self._new_ticket(
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
                group=group,
            )
            if transcript:
                ticket.take_transcript(transcript)
            if location is not None:
                ticket.set_location(location)
            if parent is not None:
                ticket.link(LinkType.CHILD_OF, parent)
                parent.link(LinkType.PARENT_OF, ticket)
        return self._commit(ticket, *([] if parent is None else [parent]))

    def _new_ticket(
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
        group: str | None = None,
        ticket_id: UUID | None = None,
    ) -> Ticket:
        """A ticket opened in the current command context, not saved yet (`ticket_id`: the id it must have)."""
        by = current().actor
        self._check_routing(by, group)
        self.check_assignment(tenant, None, group)
        if custom_fields:
            custom_fields = self._defined_fields(tenant, custom_fields, requester_id)
        workflow = self.workflow_for_type(tenant, ticket_type)
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
            workflow=workflow,
            ticket_id=ticket_id,
        )
        if group is not None:
            ticket.assign(group=group)  # saved with the opening, in one transaction
        return ticket

    def _parent_for(self, parent_id: UUID, tenant: str, by: Actor) -> Ticket:
        try:
            parent = self._ticket_for_update(parent_id, None, tenant, by)
        except TicketNotFoundError:  # a body naming what is not there is bad input, not a missing resource
            raise InvalidValueError(f"no parent ticket {parent_id}") from None
        if parent.category is Status.CLOSED:
            msg = "the parent ticket is closed, which is final; it takes no new children"
            raise TicketClosedError(msg)
        return parent

    @retried
    def assign(
        self,
        ticket_id: UUID,
        *,
        assignee: str | None = None,
        group: str | None = None,
        **how: Unpack[OnTicket],
    ) -> Receipt:
        """Assign (or reassign) a ticket to an agent, a group, or both."""
        self._check_routing(how["by"], group)

        def assign(ticket: Ticket) -> None:
            self.check_assignment(ticket.tenant, assignee, group)
            ticket.assign(assignee=assignee, group=group)

        return self._on_ticket(ticket_id, assign, **how)

    def route(
        self,
        ticket_id: UUID,
        *,
        agent: str,
        group: str,
        reason: str,
        caused_by: str | None = None,
        travel: tuple[float, float] | None = None,
        **how: Unpack[OnTicket],
    ) -> Receipt:
        """A routing decision: the ticket waiting in `group`'s queue goes to `agent`, for `reason`.

        `travel` (kilometres, km/h), from nearest-agent routing: the estimated arrival is recorded with it.

        The router decided from the tenant's directory itself, so it is not read again here. With
        `expected_version` (the version the decision was made on) a ticket changed since is refused
        (VersionMismatchError); one that no longer waits in the queue is refused as well.
        """
        ticket = self._ticket_for_update(ticket_id, how.get("expected_version"), how.get("tenant"), how["by"])
        with self._acting(how["by"], how["via"], ticket, caused_by=caused_by):
            ticket.route(agent, group=group, reason=reason)
            if travel is not None:
                ticket.estimate_arrival(agent, distance_km=travel[0], speed_kmh=travel[1])
        return self._commit(ticket)

    @retried
    def claim(self, ticket_id: UUID, **how: Unpack[OnTicket]) -> Receipt:
        """The calling agent takes an unassigned ticket (抢单); AlreadyClaimedError names whoever has it."""

        def claim(ticket: Ticket) -> None:
            self.check_assignment(ticket.tenant, how["by"].id, None)
            ticket.claim()

        return self._on_ticket(ticket_id, claim, **how)

    @retried
    def transfer(
        self,
        ticket_id: UUID,
        *,
        assignee: str | None = None,
        group: str | None = None,
        reason: str,
        **how: Unpack[OnTicket],
    ) -> Receipt:
        """Hand a ticket on to another agent and/or group (转派), the reason kept as an internal note beside it.

        A transfer that changes nothing records nothing, the note included.
        """
        self._check_routing(how["by"], group)
        said = values.text(reason, "reason")

        def hand_on(ticket: Ticket) -> None:
            self.check_assignment(ticket.tenant, assignee, group)
            before = ticket.version
            ticket.assign(assignee=assignee, group=group)
            if ticket.version != before:
                ticket.add_comment(f"Transferred: {said}", public=False)

        return self._on_ticket(ticket_id, hand_on, **how)

    def _check_routing(self, by: Actor, group: str | None) -> None:
        if group is not None and not access.may_route_to(by, group):
            msg = f"you may route tickets only to your groups ({', '.join(sorted(by.groups or ()))})"
            raise NotPermittedError(msg)

    @retried
    def unassign(self, ticket_id: UUID, **how: Unpack[OnTicket]) -> Receipt:
        """Take a ticket away from its agent; it stays in its group's queue."""
        return self._on_ticket(ticket_id, lambda ticket: ticket.unassign(), **how)

    @retried
    def transition(
        self,
        ticket_id: UUID,
        to: str,
        *,
        fields: Mapping[str, FieldValue] | None = None,
        **how: Unpack[OnTicket],
    ) -> Receipt:
        """Move a ticket to another state, as its workflow version allows; `fields` are set first, in one save.

        A move that requires custom fields (a resolution code, say) finds them on the ticket, set
        before or with the move. A parent moves to a solved state only once its children are solved
        or closed (unless its workflow allows it); a child's solve is put on its parent's record too.
        """
        ticket = self._for_update(ticket_id, how)
        defined = self._defined_fields(ticket.tenant, fields, ticket.requester_id) if fields else {}
        with self._acting(how["by"], how["via"], ticket):
            for name, value in defined.items():
                ticket.set_custom_field(name, value)
            others = self.move(ticket, to)
        return self._commit(ticket, *others)

    def move(self, ticket: Ticket, to: str) -> list[Ticket]:
        """Move a loaded ticket in the current command context; the other tickets the move changed (its parent)."""
        lifecycle = self.lifecycle_of(ticket)
        solving = lifecycle.category_of(to) is Status.SOLVED and ticket.category is not Status.SOLVED
        if solving and not lifecycle.allow_open_children:
            self._check_children_done(ticket)
        parent_id = ticket.parent() if solving else None
        parent = None if parent_id is None else self.get_ticket(parent_id)
        ticket.transition(to, lifecycle=lifecycle)
        if parent is None:
            return []
        parent.record_child_solved(ticket.id)
        return [parent]

    def _check_children_done(self, ticket: Ticket) -> None:
        open_children = [c for c in ticket.children() if self.get_ticket(c).category in UNSOLVED_CATEGORIES]
        if open_children:
            listed = ", ".join(str(c) for c in open_children)
            msg = f"the ticket has children not solved yet: {listed}; solve or close them first"
            raise IllegalTransitionError(msg)

    # --- links ------------------------------------------------------------------------------------

    @retried
    def link_tickets(self, ticket_id: UUID, other_id: UUID, kind: str, **how: Unpack[OnTicket]) -> Receipt:
        """Link two tickets (both record it, each from its side, in one save); an existing link records nothing."""
        link = link_type(kind)
        ticket = self._for_update(ticket_id, how)
        other = self._linkable(other_id, ticket.tenant, how["by"])
        with self._acting(how["by"], how["via"], ticket):
            ticket.link(link, other)
            other.link(link.inverse, ticket)
        return self._commit(ticket, other)

    @retried
    def unlink_tickets(self, ticket_id: UUID, other_id: UUID, kind: str, **how: Unpack[OnTicket]) -> Receipt:
        """Remove a link from both tickets (named from either side); one that is not there records nothing."""
        link = link_type(kind, removing=True)
        ticket = self._for_update(ticket_id, how)
        other = self._linkable(other_id, ticket.tenant, how["by"])
        with self._acting(how["by"], how["via"], ticket):
            ticket.unlink(link, other.id)
            other.unlink(link.inverse, ticket.id)
        return self._commit(ticket, other)

    # --- merging ----------------------------------------------------------------------------------

    @retried
    def merge_tickets(self, ticket_id: UUID, into: UUID, *, reason: str = "", **how: Unpack[OnTicket]) -> Receipt:
        """Merge a ticket into another, in one save: it closes as merged, the other takes copies of its comments.

        Each copy keeps its author, moment, kind and attachments, and names the ticket, number and
        channel it was first written with. The ticket merged into must be one the caller reaches
        and may change (another tenant's is as absent as a missing one), and not closed.
        """
        source = self._for_update(ticket_id, how)
        try:
            target = self._ticket_for_update(into, None, source.tenant, how["by"])
        except TicketNotFoundError:  # named in the body, not the path: bad input
            raise InvalidValueError(f"no ticket {into} to merge into") from None
        lifecycle = self.lifecycle_of(source)
        with self._acting(how["by"], how["via"], source):
            source.merge_into(target, lifecycle=lifecycle, reason=reason)
            target.take_merged(source, self._comment_channels(source.id), reason=reason)
        return self._commit(source, target)

    def _comment_channels(self, ticket_id: UUID) -> dict[int, str]:
        # A comment's channel is its event's (the state keeps none): read from the ticket's log.
        return {e.number: e.via for e in self._events_of(ticket_id, None) if isinstance(e, Ticket.CommentAdded)}

    def _for_update(self, ticket_id: UUID, how: OnTicket) -> Ticket:
        return self._ticket_for_update(ticket_id, how.get("expected_version"), how.get("tenant"), how["by"])

    def _linkable(self, other_id: UUID, tenant: str, by: Actor) -> Ticket:
        # The other ticket is changed too (its side of the link): the caller must reach and change it.
        try:
            return self._ticket_for_update(other_id, None, tenant, by)
        except TicketNotFoundError:  # named in the body, not the path: bad input
            raise InvalidValueError(f"no ticket {other_id} to link") from None

    def lifecycle_of(self, ticket: Ticket) -> Lifecycle:
        """The lifecycle of the workflow version a ticket runs under."""
        return self.workflow(ticket.tenant, ticket.workflow, ticket.workflow_version).lifecycle

    @retried
    def add_comment(
        self,
        ticket_id: UUID,
        body: str,
        *,
        public: bool,
        attachments: Iterable[Attachment] = (),
        **how: Unpack[OnTicket],
    ) -> Receipt:
        """Add a public reply or an internal note."""
        return self._on_ticket(
            ticket_id, lambda ticket: ticket.add_comment(body, public=public, attachments=attachments), **how
        )

    @retried
    def check_in(self, ticket_id: UUID, position: Place, **how: Unpack[OnTicket]) -> Receipt:
        """The calling agent arrives on site (上门): a visit begins, at this moment and position."""
        return self._on_ticket(ticket_id, lambda ticket: ticket.check_in(position), **how)

    @retried
    def check_out(self, ticket_id: UUID, position: Place, **how: Unpack[OnTicket]) -> Receipt:
        """The calling agent leaves the site: their visit ends, at this moment and position."""
        return self._on_ticket(ticket_id, lambda ticket: ticket.check_out(position), **how)

    @retried
    def rate(self, ticket_id: UUID, rating: str | int, comment: str = "", **how: Unpack[OnTicket]) -> Receipt:
        """The requester rates a solved ticket: good/bad or 1-5, with an optional comment."""
        return self._on_ticket(ticket_id, lambda ticket: ticket.rate(Rating.parse(rating), comment), **how)

    @retried
    def update_ticket(
        self,
        ticket_id: UUID,
        *,
        title: str | None = None,
        description: str | None = None,
        priority: str | None = None,
        ticket_type: str | Literal[Keep.KEEP] | None = KEEP,
        add_tags: Iterable[str] = (),
        remove_tags: Iterable[str] = (),
        custom_fields: Mapping[str, FieldValue | None] | None = None,
        location: Place | Literal[Keep.KEEP] | None = KEEP,
        **how: Unpack[OnTicket],
    ) -> Receipt:
        """Change title, description, priority, type, tags, custom fields and location together, atomically.

        None keeps a value, but for `ticket_type` and `location`, where None clears it and KEEP keeps it.

        Each change that alters something records its own event; all are saved in one
        transaction, so either every change is stored or none is.
        """

        def change(ticket: Ticket) -> None:
            # Checked against the tenant's catalogue first: a refused field leaves nothing half done.
            defined = self._defined_fields(ticket.tenant, custom_fields, ticket.requester_id) if custom_fields else {}
            if title is not None:
                ticket.change_title(title)
            if description is not None:
                ticket.change_description(description)
            if priority is not None:
                ticket.change_priority(values.priority(priority))
            if ticket_type is not KEEP:
                ticket.change_type(ticket_type)
            ticket.add_tags(add_tags)
            ticket.remove_tags(remove_tags)
            for name, value in defined.items():
                ticket.set_custom_field(name, value)
            if location is not KEEP:
                ticket.set_location(location)

        return self._on_ticket(ticket_id, change, **how)

    @retried
    def save_view(
        self, *, tenant: str, name: str, filters: Mapping[str, Any], **how: Unpack[Acting]
    ) -> SavedViewReceipt:
        """Store a named set of ticket-list filters for everyone in the tenant.

        Its custom-field filters are checked as a list would read them (InvalidValueError if one
        cannot be searched); a definition changed later may refuse them then, saying why.
        """
        self.field_conditions(tenant, field_search.searched(filters))
        if SavedView.create_id(tenant, name) in self.repository:
            msg = f"a saved view named {name!r} already exists"
            raise AlreadyExistsError(msg)
        with self._acting(tenant=tenant, **how):
            view = SavedView.create(tenant=tenant, name=name, filters=filters)
        recordings = self.save(view)
        return SavedViewReceipt(view=view, position=recordings[-1].notification.id)

    # --- custom-field definitions ------------------------------------------------------------------

    @retried
    def define_field(
        self,
        *,
        tenant: str,
        name: str,
        kind: str,
        personal: bool,
        options: Sequence[str] | None = None,
        **how: Unpack[Acting],
    ) -> ConfigReceipt:
        """Define a custom field of the tenant (its kind, its options, whether it is personal), or change it.

        A new definition applies to values set from then on: values recorded before keep the form
        they were stored in (a field newly marked personal does not encrypt its past values, and
        values outside newly narrowed options stay as they were).
        """
        with self._acting(tenant=tenant, **how):
            catalogue = self._field_catalogue(tenant) or FieldCatalogue.start(tenant=tenant)
            catalogue.define(name, kind=kind, personal=personal, options=options)
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

    def field_conditions(self, tenant: str, filters: Iterable[tuple[Comparison, str]]) -> tuple[FieldCondition, ...]:
        """What custom-field filters (`name:value`) of a ticket list search for, read against the definitions."""
        filters = list(filters)
        return field_search.conditions(self._field_catalogue(tenant), filters) if filters else ()

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

    # --- queries of one ticket -------------------------------------------------------------------

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
        return [_change(e) for e in self._events_of(ticket_id, tenant)]

    def history_page(
        self, ticket_id: UUID, *, after_version: int = 0, limit: int, tenant: str | None = None
    ) -> list[Change]:
        """The changes after `after_version`, at most `limit` of them, oldest first: a long history a page at a time.

        Two short reads whatever the history's length: the first event (whose tenant it is) and the page.
        """
        self._events_of(ticket_id, tenant, up_to=1)
        page: list[Any] = list(self.events.get(ticket_id, gt=after_version, limit=limit))
        return [_change(e) for e in page]


def _change(event: Ticket.Event) -> Change:
    """One event of a ticket in the words of an audit trail."""
    return Change(
        version=event.originator_version,
        at=event.timestamp,
        actor_id=event.actor_id,
        actor_kind=event.actor_kind,
        actor_role=event.actor_role,
        via=event.via,
        event=type(event).__name__,
        changes=field_changes(event),
        correlation_id=event.correlation_id,
        causation_id=event.causation_id,
        reason=event.reason if isinstance(event, Ticket.Assigned) else None,
    )
