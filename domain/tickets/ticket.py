"""The Ticket aggregate: one request, recorded as an immutable sequence of events.

Public methods speak the help desk's language (`assign`, `transition`, `add_comment`):
they validate and compute, then call a private `@event` method that only assigns state,
because that method is replayed every time the ticket is loaded. A public method that
would change nothing records nothing, so retrying a command is harmless.

The event classes are nested here for good: stored events name them (`domain.tickets.ticket:Ticket.Opened`).
What a ticket holds lives beside it (comments.py, sla_alerts.py, its snapshot form in snapshots.py), and
how each event reads as changed fields is the history's (history.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from eventsourcing.domain import Snapshot as BaseSnapshot
from eventsourcing.domain import event

from domain import values
from domain.actors import Actor, ActorKind, identifier
from domain.directory import geo
from domain.directory.geo import Place
from domain.errors import (
    AlreadyClaimedError,
    AlreadyExistsError,
    IllegalTransitionError,
    InvalidValueError,
    NotFoundError,
    NotPermittedError,
    TicketClosedError,
)
from domain.provenance import FROM_CONTEXT, Recorded, current, no_cause
from domain.tickets.comments import Comment, CommentOrigin
from domain.tickets.links import LINKS_MAX, Link, LinkType
from domain.tickets.sla_alerts import AlertKind, SlaAlert, alert_key
from domain.tickets.snapshots import plain_state, restored_state
from domain.tickets.transcripts import TranscriptMessage, transcript_comments
from domain.tickets.workflow import Status
from domain.values import ERASED, Attachment, FieldValue, Priority, Rating
from domain.workflows.catalogue import DEFAULT, STANDARD_VERSION, Version
from domain.workflows.lifecycle import UNSOLVED_CATEGORIES, Lifecycle, Move

FieldDict = dict[str, Any]


#: The most knowledge-base articles one ticket links.
LINKED_ARTICLES_MAX = 50


class Ticket(Recorded):
    """A help-desk ticket. Its state is the fold of its events; nothing is updated in place."""

    class Event(Recorded.Event):
        """Base of every ticket event: records who acted and through which channel."""

        # Version 2 added actor_role, version 3 correlation_id and causation_id; older events are
        # read with None for what they did not record.
        class_version = 3

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            """Events recorded before roles were recorded say nothing of the role."""
            state["actor_role"] = None

        upcast_v2_v3 = staticmethod(no_cause)

    class Opened(Event, Recorded.Created):
        tenant: str
        title: str
        description: str
        requester_id: str
        requester_name: str | None
        requester_email: str | None
        organisation: str | None
        priority: str
        ticket_type: str | None
        tags: list[str]
        custom_fields: dict[str, FieldDict]
        workflow: str  # the workflow and version the ticket runs under (domain/workflows)
        workflow_version: int
        status: str  # its initial state
        status_category: str

        # Version 3 added the requester's name and e-mail address; 5 the workflow.
        class_version = 5  # 4: correlation_id and causation_id (domain/provenance.py)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Tickets opened before names and addresses were recorded have neither."""
            state["requester_name"] = None
            state["requester_email"] = None

        upcast_v3_v4 = staticmethod(no_cause)

        @staticmethod
        def upcast_v4_v5(state: dict[str, Any]) -> None:
            """Tickets opened before workflows could be defined run the standard one, from `new`."""
            state.update(workflow=DEFAULT, workflow_version=1, status="new", status_category="new")

    class Assigned(Event):
        assignee: str | None
        group: str | None
        old_assignee: str | None
        old_group: str | None
        reason: str | None  # why, when a rule decided ("round_robin: next after carol"); None for a person

        class_version = 4  # 4: the reason

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            """Assignments recorded before rules assigned were all made by people, who give no reason."""
            state["reason"] = None

    class Unassigned(Event):
        old_assignee: str

    class Transitioned(Event):
        old_status: str  # states of the ticket's workflow
        new_status: str
        old_category: str  # and their categories (domain/workflows/lifecycle.py)
        new_category: str

        class_version = 4  # 4: the categories

        @staticmethod
        def upcast_v3_v4(state: dict[str, Any]) -> None:
            """Moves recorded under the standard workflow only, whose states are their own categories."""
            state["old_category"], state["new_category"] = state["old_status"], state["new_status"]

    class WorkflowMigrated(Event):
        """The ticket moved to another version of its workflow, its state mapped to one of the new version's."""

        workflow: str
        old_version: int
        new_version: int
        old_status: str
        new_status: str
        old_category: str
        new_category: str

    class CommentAdded(Event):
        tenant: str  # whose key store holds the author's data key (see docs/security.md)
        number: int
        public: bool
        body: str
        mentions: list[str]
        attachments: list[FieldDict]

        # Version 3 added the tenant; earlier comments were stored unencrypted and name none.
        class_version = 4  # 4: correlation_id and causation_id (domain/provenance.py)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Comments stored before the tenant was recorded name none."""
            state["tenant"] = ""

        upcast_v3_v4 = staticmethod(no_cause)

    class Rated(Event):
        tenant: str  # whose key store holds the requester's data key
        scale: str  # "good_bad" (1 good, 0 bad) or "one_to_five"
        score: int
        comment: str
        old_rating: FieldDict | None

        # Version 3 added the tenant (as for comments).
        class_version = 4  # 4: correlation_id and causation_id (domain/provenance.py)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Ratings stored before the tenant was recorded name none."""
            state["tenant"] = ""

        upcast_v3_v4 = staticmethod(no_cause)

    class PersonalDataErased(Event):
        """A person's personal data on this ticket was erased (their data key is destroyed)."""

        person_id: str

    class SlaAlerted(Event):
        """Base of an SLA warning or breach: which target of which cycle, due when, under which policy version."""

        target: str
        cycle: int
        due_at: datetime
        policy_id: str
        policy_version: int

    class SlaWarningIssued(SlaAlerted):
        """A target's due moment is near (within the policy's warning lead time)."""

    class SlaBreached(SlaAlerted):
        """A target's due moment passed without it being fulfilled."""

    class SlaRecomputed(Event):
        """The ticket's SLA clocks, recomputed from its whole history under a policy version, on request."""

        policy_id: str | None
        policy_version: int | None
        clock: dict[str, Any]  # the SLA clock's state after folding the history (domain.sla.SlaClock.as_dict)

    class PriorityChanged(Event):
        old_priority: str
        new_priority: str

    class TypeChanged(Event):
        old_type: str | None
        new_type: str | None

    class TagsChanged(Event):
        old_tags: list[str]
        new_tags: list[str]

    class CustomFieldChanged(Event):
        tenant: str  # whose key store holds the data key of a personal field's owner
        name: str
        old_value: FieldDict | None
        new_value: FieldDict | None  # None: the field was cleared

        # Version 3 added the tenant; earlier changes hold no personal values and name none.
        class_version = 4  # 4: correlation_id and causation_id (domain/provenance.py)

        @staticmethod
        def upcast_v2_v3(state: dict[str, Any]) -> None:
            """Changes stored before the tenant was recorded name none."""
            state["tenant"] = ""

        upcast_v3_v4 = staticmethod(no_cause)

    class Linked(Event):
        """The ticket was linked to another (the other ticket records the inverse link in the same save)."""

        link: str  # the kind, from this ticket's side (domain/tickets/links.py)
        other: str  # the other ticket's id

    class Unlinked(Event):
        """A link to another ticket was removed (from both)."""

        link: str
        other: str

    class ChildSolved(Event):
        """A child ticket of this one moved to a solved state (recorded with the child's move)."""

        child: str

    class ArticlesLinked(Event):
        """An agent linked knowledge-base articles to the ticket (inserted them into a reply); their ids."""

        articles: list[str]

    class TriggerFired(Event):
        """A trigger's conditions held after the event `cause`: its actions follow, by `trigger:<name>`."""

        trigger: str
        trigger_version: int
        cause: int  # the ticket version whose event the trigger ran on
        depth: int  # 1 for the first trigger fired on that event, 2 for the next, ...
        failed: str | None  # why the ticket refused its actions (then none of them is recorded), or None

    class AutomationFired(Event):
        """A timed rule's conditions held: its actions follow, by `automation:<name>`; once per `instance`."""

        automation: str
        automation_version: int
        instance: str  # the rule and the moments its hours were counted from: one firing per instance
        failed: str | None  # why the ticket refused its actions (then none of them is recorded), or None

    class WebhookRequested(Event):
        """A rule asked for this ticket's news to go to a webhook endpoint of the tenant (`call_webhook`)."""

        webhook_id: str

    class NotificationRequested(Event):
        """A rule asked for an e-mail about this ticket (`notify`): to whom, with which template kind."""

        to: str  # "requester", "assignee", "group" or an agent's id
        template: str  # a notification kind (domain/notifications/kinds.py)

    class NotificationSent(Event):
        """The mail server accepted a notification about this ticket (recorded by the notifier afterwards)."""

        recipient_id: str  # the person, never their address
        recipient_kind: str  # "requester" or "agent"
        kind: str  # what it told of (domain/notifications/kinds.py)
        message_id: str  # its Message-ID, the same on every re-send
        cause: int  # the log position of the event it told of

    class NotificationFailed(Event):
        """The mail server refused a notification for good (a 5xx answer), or it could not be sent in time."""

        recipient_id: str
        recipient_kind: str
        kind: str
        message_id: str
        cause: int
        error: str

    class OpenedOnSchedule(Event):
        """The ticket was opened by an occurrence of a schedule (recorded with the opening, in one save)."""

        schedule: str
        schedule_version: int
        occurrence: datetime  # the moment the occurrence stood for

    class TriggerChainStopped(Event):
        """More triggers held after the event `cause` than a chain may fire: these did not fire."""

        cause: int
        depth: int
        not_fired: list[str]

    class MergedInto(Event):
        """The ticket was merged into another, which closed it (the other records `Merged` in the same save).

        A move to a state of category closed, as `Transitioned` records one (SLA clocks stop, reports
        count a close), made by the merge rather than by one of the workflow's transitions.
        """

        tenant: str  # whose key store holds the merging agent's data key (the reason is theirs)
        old_status: str
        new_status: str  # the first state of category closed of the ticket's workflow version
        old_category: str
        new_category: str
        target: str  # the ticket merged into
        reason: str

    class Merged(Event):
        """Another ticket was merged into this one: a copy of each of its comments is put on this one."""

        tenant: str  # whose key store holds the data keys of the copies' authors
        source: str  # the ticket merged into this one
        reason: str
        comments: list[FieldDict]  # the copies, numbered on this ticket, each with its origin (`Comment.as_dict`)

    class TitleChanged(Event):
        """The title was changed (both titles are the requester's personal data, as in `Opened`)."""

        tenant: str  # whose key store holds the requester's data key
        requester_id: str  # whose data key seals both titles
        old_title: str
        new_title: str

    class DescriptionChanged(Event):
        """The description was changed (both descriptions are the requester's personal data, as in `Opened`)."""

        tenant: str
        requester_id: str
        old_description: str
        new_description: str

    class Snapshot(BaseSnapshot):
        """A ticket's state at a version, in plain values so the stock transcoder can store it."""

        @classmethod
        def take(cls, aggregate: Any) -> Ticket.Snapshot:
            """Snapshot a ticket: enums as their values, value objects as dicts."""
            taken = super().take(aggregate)
            return cls(
                originator_id=taken.originator_id,
                originator_version=taken.originator_version,
                timestamp=taken.timestamp,
                topic=taken.topic,
                state=plain_state(taken.state),
            )

        def mutate(self, _: None) -> Ticket:
            """Rebuild the ticket from the snapshot's plain values."""
            state = restored_state(self.state)
            state.update(_id=self.originator_id, _version=self.originator_version, _pending_events=[])
            ticket = object.__new__(Ticket)
            object.__setattr__(ticket, "__dict__", state)
            return ticket

    # --- opening -----------------------------------------------------------------------

    @classmethod
    def open(
        cls,
        *,
        tenant: str,
        title: str,
        description: str,
        requester_id: str,
        requester_name: str | None = None,
        requester_email: str | None = None,
        organisation: str | None = None,
        priority: str = Priority.NORMAL.value,
        ticket_type: str | None = None,
        tags: Iterable[str] = (),
        custom_fields: Mapping[str, FieldValue] | None = None,
        workflow: Version = STANDARD_VERSION,
        ticket_id: UUID | None = None,
    ) -> Ticket:
        """Validate a new request and open a ticket for it, in the initial state of its workflow.

        `ticket_id` gives the ticket an id that follows from what opened it (a schedule's occurrence), so
        the store refuses a second ticket for the same occurrence; else the id is new.
        """
        fields = dict(custom_fields or {})
        if len(fields) > values.CUSTOM_FIELDS_MAX:
            msg = f"a ticket may carry at most {values.CUSTOM_FIELDS_MAX} custom fields"
            raise InvalidValueError(msg)
        opened = cls._create(
            cls.Opened,
            id=ticket_id,  # None: a new id
            tenant=identifier(tenant, "tenant"),
            title=values.title(title),
            description=values.text(description, "description", allow_blank=True),
            requester_id=identifier(requester_id, "requester id"),
            requester_name=None if requester_name is None else values.person_name(requester_name),
            requester_email=None if requester_email is None else values.email(requester_email),
            organisation=None if organisation is None else identifier(organisation, "organisation"),
            priority=values.priority(priority).value,
            ticket_type=None if ticket_type is None else values.slug(ticket_type, "type"),
            tags=values.tags(tags),
            custom_fields={values.slug(k, "custom field name"): v.as_dict() for k, v in sorted(fields.items())},
            workflow=workflow.name,
            workflow_version=workflow.version,
            status=workflow.lifecycle.initial,
            status_category=workflow.lifecycle.category_of(workflow.lifecycle.initial).value,
        )
        ticket: Ticket = opened
        return ticket

    @event(Opened)
    def __init__(
        self,
        via: str = FROM_CONTEXT,  # provenance the state needs: before `*`, or eventsourcing requires it
        actor_id: str = FROM_CONTEXT,
        actor_kind: str = FROM_CONTEXT,
        timestamp: datetime = FROM_CONTEXT,
        *,
        tenant: str,
        title: str,
        description: str,
        requester_id: str,
        requester_name: str | None,
        requester_email: str | None,
        organisation: str | None,
        priority: str,
        ticket_type: str | None,
        tags: list[str],
        custom_fields: dict[str, FieldDict],
        workflow: str,
        workflow_version: int,
        status: str,
        status_category: str,
    ) -> None:
        self.tenant = tenant
        self.title = title
        self.description = description
        self.requester_id = requester_id
        self.requester_name = requester_name
        self.requester_email = requester_email
        self.organisation = organisation
        self.channel = via
        self.opened_by = actor_id
        self.priority = Priority(priority)
        self.ticket_type = ticket_type
        self.tags = list(tags)
        self.custom_fields = {k: FieldValue.from_dict(v) for k, v in custom_fields.items()}
        self.workflow = workflow
        self.workflow_version = workflow_version
        self.status = status  # a state of the workflow
        self.category = Status(status_category)  # what the state counts as (new, open, ... closed)
        self.assignee: str | None = None
        self.group: str | None = None
        self.comments: list[Comment] = []
        self.satisfaction: FieldDict | None = None
        self.sla_alerts: list[str] = []  # "warning:<target>:<cycle>" and "breach:<target>:<cycle>" recorded so far
        self.triggers_through = 0  # the latest version whose event triggers fired on (domain/automation)
        self.automations_fired: list[str] = []  # the instances of timed rules fired on this ticket
        self.links: list[Link] = []
        self.children_solved: list[str] = []  # the children whose solves are on this ticket's record, in order
        self.linked_articles: list[str] = []  # the knowledge-base articles linked to the ticket, in order
        self.merged_into: str | None = None  # the ticket this one was merged into (which closed it)
        # The latest public message of each side (the request itself, when the requester opened the ticket).
        self.last_contact_customer_at = timestamp if actor_kind == ActorKind.REQUESTER.value else None
        self.last_contact_agent_at: datetime | None = None
        self.merged_sources: list[str] = []  # the tickets merged into this one, in order
        self.suggestions: list[FieldDict] = []  # what models suggested, each with how it ended (domain/suggestions)
        self.location: FieldDict | None = None  # where it is served, and who was sent (field service, below)
        self.dispatch: FieldDict | None = None
        self.visits: list[FieldDict] = []  # on-site visits: agent, arrived_at, left_at (domain/tickets/visits.py)

    def __deepcopy__(self, memo: dict[int, Any]) -> Ticket:
        """A copy that commands can change without touching the original (a cached ticket).

        Events only ever rebind attributes or add to, remove from or replace the state's own lists,
        dicts and sets; what those hold (strings, frozen `Comment`s and `FieldValue`s, dicts that
        are replaced whole) is never changed in place. So copying each container one level deep is
        as safe as `copy.deepcopy` and costs the length of the lists, not a walk of every comment.
        """
        ticket = object.__new__(type(self))
        object.__setattr__(ticket, "__dict__", {k: _shallow_copy(v) for k, v in self.__dict__.items()})
        memo[id(self)] = ticket
        return ticket

    # --- assignment ----------------------------------------------------------------------

    def assign(self, *, assignee: str | None = None, group: str | None = None) -> None:
        """Assign to an agent, a group, or both.

        Naming only a group moves the ticket into that group's queue and clears the agent;
        naming only an agent keeps the group.
        """
        self._ensure_not_closed()
        if assignee is None and group is None:
            msg = "assignment needs an assignee, a group, or both"
            raise InvalidValueError(msg)
        new_group = self.group if group is None else identifier(group, "group")
        new_assignee = None if assignee is None else identifier(assignee, "assignee")
        if (new_assignee, new_group) == (self.assignee, self.group):
            return
        self._assigned(
            assignee=new_assignee,
            group=new_group,
            old_assignee=self.assignee,
            old_group=self.group,
            reason=None,
        )

    def claim(self) -> None:
        """The acting agent takes the ticket from its queue; the first to claim it has it (抢单)."""
        self._ensure_not_closed()
        actor = current().actor
        if actor.kind is not ActorKind.AGENT:
            msg = "only agents claim tickets"
            raise NotPermittedError(msg)
        if self.assignee == actor.id:
            return
        if self.assignee is not None:
            msg = f"{self.assignee} has this ticket already"
            raise AlreadyClaimedError(msg, assignee=self.assignee)
        self._assigned(assignee=actor.id, group=self.group, old_assignee=None, old_group=self.group, reason=None)

    def route(self, agent: str, *, group: str, reason: str) -> None:
        """The group's routing gives the ticket, waiting in the group's queue, to one of its agents, saying why.

        Refused once the ticket no longer waits there (someone took it, it moved or was solved):
        the routing decided on a ticket that is not there any more.
        """
        self._ensure_not_closed()
        if self.assignee is not None:
            msg = f"{self.assignee} has this ticket already"
            raise AlreadyClaimedError(msg, assignee=self.assignee)
        if self.group != group or self.category not in UNSOLVED_CATEGORIES:
            msg = f"the ticket no longer waits in the queue of group {group!r}"
            raise InvalidValueError(msg)
        checked = identifier(agent, "assignee")
        said = values.text(reason, "reason")
        self._assigned(assignee=checked, group=group, old_assignee=None, old_group=group, reason=said)

    @event(Assigned)
    def _assigned(
        self,
        *,
        assignee: str | None,
        group: str | None,
        old_assignee: str | None,
        old_group: str | None,
        reason: str | None,
    ) -> None:
        self.assignee = assignee
        self.group = group

    def unassign(self) -> None:
        """Take the ticket away from its agent; it stays in its group's queue."""
        self._ensure_not_closed()
        if self.assignee is None:
            return
        self._unassigned(old_assignee=self.assignee)

    @event(Unassigned)
    def _unassigned(
        self,
        *,
        old_assignee: str,
    ) -> None:
        self.assignee = None

    # --- workflow ------------------------------------------------------------------------

    def transition(self, to: str, *, lifecycle: Lifecycle) -> None:
        """Move to another state, as the ticket's workflow version allows it for the caller's role.

        A requester may reopen a solved ticket (a move the workflow defines from a solved state to
        an unsolved one), and make other moves only where the workflow names the customer role.
        """
        self._ensure_not_closed()
        actor = current().actor
        new_category = lifecycle.category_of(to)
        if actor.kind is ActorKind.REQUESTER and not self._requester_may(to, new_category, lifecycle):
            msg = "requesters can only reopen a solved ticket"
            raise NotPermittedError(msg)
        system = actor.kind is ActorKind.SYSTEM
        lifecycle.move(self.status, to, role=actor.role or "", present=self.custom_fields, system=system)
        self._transitioned(
            old_status=self.status, new_status=to, old_category=self.category.value, new_category=new_category.value
        )

    def moves_for(self, actor: Actor, lifecycle: Lifecycle) -> list[Move]:
        """The moves `actor` may make now (whatever custom fields they require), in the workflow's order."""
        if self.category is Status.CLOSED:
            return []
        moves = lifecycle.moves_from(self.status)
        if actor.kind is ActorKind.SYSTEM:
            return moves
        if actor.kind is ActorKind.REQUESTER:
            return [m for m in moves if self._requester_may(m.target, lifecycle.category_of(m.target), lifecycle)]
        return [m for m in moves if m.allows(actor.role or "")]

    def _requester_may(self, to: str, category: Status, lifecycle: Lifecycle) -> bool:
        """A defined move the workflow names the customer role for, or else a reopen (solved to unsolved)."""
        reopen = self.category is Status.SOLVED and category in UNSOLVED_CATEGORIES
        for move in lifecycle.moves_from(self.status):
            if move.target == to:
                return reopen if move.roles is None else "customer" in move.roles
        return False

    @event(Transitioned)
    def _transitioned(
        self,
        *,
        old_status: str,
        new_status: str,
        old_category: str,
        new_category: str,
    ) -> None:
        self.status = new_status
        self.category = Status(new_category)

    def migrate(self, to: Version, mapping: Mapping[str, str]) -> None:
        """Run under another version of the ticket's workflow, the current state mapped to one of that version."""
        self._ensure_not_closed()
        if to.name != self.workflow or to.version == self.workflow_version:
            return
        new_status = mapping.get(self.status, self.status)
        new_category = to.lifecycle.category_of(new_status)
        self._migrated(
            workflow=to.name,
            old_version=self.workflow_version,
            new_version=to.version,
            old_status=self.status,
            new_status=new_status,
            old_category=self.category.value,
            new_category=new_category.value,
        )

    @event(WorkflowMigrated)
    def _migrated(
        self,
        *,
        workflow: str,
        old_version: int,
        new_version: int,
        old_status: str,
        new_status: str,
        old_category: str,
        new_category: str,
    ) -> None:
        self.workflow_version = new_version
        self.status = new_status
        self.category = Status(new_category)

    # --- links ---------------------------------------------------------------------------

    def link(self, kind: LinkType, other: Ticket) -> None:
        """Link this ticket to `other` (which the caller links back with the inverse); an existing link records nothing.

        Links may be added to a closed ticket: they say how other tickets relate to it, and change
        nothing of its own.
        """
        if other.id == self.id:
            msg = "a ticket cannot be linked to itself"
            raise InvalidValueError(msg)
        if other.tenant != self.tenant:
            msg = "tickets of different tenants cannot be linked"
            raise InvalidValueError(msg)
        link = Link(kind, str(other.id))
        if link in self.links:
            return
        if len(self.links) >= LINKS_MAX:
            msg = f"a ticket may carry at most {LINKS_MAX} links"
            raise InvalidValueError(msg)
        self._linked(link=kind.value, other=str(other.id))

    @event(Linked)
    def _linked(
        self,
        *,
        link: str,
        other: str,
    ) -> None:
        self.links = [*self.links, Link(LinkType(link), other)]

    def unlink(self, kind: LinkType, other_id: UUID) -> None:
        """Remove a link (one that is not there records nothing)."""
        if Link(kind, str(other_id)) in self.links:
            self._unlinked(link=kind.value, other=str(other_id))

    @event(Unlinked)
    def _unlinked(
        self,
        *,
        link: str,
        other: str,
    ) -> None:
        self.links = [k for k in self.links if k != Link(LinkType(link), other)]

    def link_articles(self, article_ids: list[UUID]) -> None:
        """Link knowledge-base articles (their tenant's, checked by the command); linked ones record nothing."""
        self._ensure_not_closed()
        new = list(dict.fromkeys(str(i) for i in article_ids if str(i) not in self.linked_articles))
        if len(self.linked_articles) + len(new) > LINKED_ARTICLES_MAX:
            msg = f"a ticket may link at most {LINKED_ARTICLES_MAX} articles"
            raise InvalidValueError(msg)
        if new:
            self._articles_linked(articles=new)

    @event(ArticlesLinked)
    def _articles_linked(self, *, articles: list[str]) -> None:
        self.linked_articles = [*self.linked_articles, *articles]

    def children(self) -> list[UUID]:
        """The ids of this ticket's children, in the order they were opened."""
        return [UUID(k.ticket_id) for k in self.links if k.type is LinkType.PARENT_OF]

    def parent(self) -> UUID | None:
        """The id of this ticket's parent, if it has one."""
        return next((UUID(k.ticket_id) for k in self.links if k.type is LinkType.CHILD_OF), None)

    def record_child_solved(self, child: UUID) -> None:
        """Put a child's solve on this ticket's record (a closed parent takes nothing)."""
        if self.category is not Status.CLOSED:
            self._child_solved(child=str(child))

    @event(ChildSolved)
    def _child_solved(
        self,
        *,
        child: str,
    ) -> None:
        self.children_solved = [*self.children_solved, child]

    # --- merging ---------------------------------------------------------------------------

    def merge_into(self, target: Ticket, *, lifecycle: Lifecycle, reason: str = "") -> None:
        """Close this ticket as merged into `target`, in the first closed state of its workflow.

        The caller has `target` take this ticket's comments (`take_merged`) in the same save. Not
        one of the workflow's transitions: a merge closes the ticket from whatever state it is in.
        """
        self._ensure_not_closed()
        if current().actor.kind is ActorKind.REQUESTER:
            msg = "requesters cannot merge tickets; agents do"
            raise NotPermittedError(msg)
        if target.id == self.id:
            msg = "a ticket cannot be merged into itself"
            raise InvalidValueError(msg)
        if target.tenant != self.tenant:
            msg = "tickets of different tenants cannot be merged"
            raise InvalidValueError(msg)
        if target.category is Status.CLOSED:
            msg = "the ticket to merge into is closed, which is final; merge into one that is not"
            raise TicketClosedError(msg)
        closed = lifecycle.first_closed_state()
        if closed is None:
            msg = f"the ticket's workflow {self.workflow!r} has no closed state for a merged ticket"
            raise IllegalTransitionError(msg)
        self._merged_into(
            old_status=self.status,
            new_status=closed,
            old_category=self.category.value,
            new_category=Status.CLOSED.value,
            target=str(target.id),
            reason=values.text(reason, "reason", allow_blank=True),
        )

    @event(MergedInto)
    def _merged_into(
        self,
        *,
        old_status: str,
        new_status: str,
        old_category: str,
        new_category: str,
        target: str,
        reason: str,
    ) -> None:
        self.status = new_status
        self.category = Status(new_category)
        self.merged_into = target

    def take_merged(self, source: Ticket, channels: Mapping[int, str], *, reason: str = "") -> None:
        """Record `source` merged into this ticket, with a copy of each of its comments as it was first written.

        `channels` are the channels the source's own comments came through, by number (its log
        says them). The copies are numbered after this ticket's comments; each keeps its author,
        moment, kind, mentions and attachments, and its origin (a copy of a copy keeps the first).
        """
        self._ensure_not_closed()
        start = len(self.comments) + 1
        copies = [
            c.copied(start + i, c.origin or CommentOrigin(str(source.id), c.number, channels[c.number]))
            for i, c in enumerate(source.comments)
        ]
        self._merged(
            source=str(source.id),
            reason=values.text(reason, "reason", allow_blank=True),
            comments=[c.as_dict() for c in copies],
        )

    @event(Merged)
    def _merged(
        self,
        *,
        source: str,
        reason: str,
        comments: list[FieldDict],
    ) -> None:
        self.merged_sources = [*self.merged_sources, source]
        self.comments = [*self.comments, *(Comment.from_dict(c) for c in comments)]

    # --- conversation ---------------------------------------------------------------------

    def add_comment(
        self,
        body: str,
        *,
        public: bool,
        attachments: Iterable[Attachment] = (),
    ) -> int:
        """Add a public reply or an internal note; returns the comment's number on this ticket."""
        self._ensure_not_closed()
        if not public and current().actor.kind is ActorKind.REQUESTER:
            msg = "requesters can only add public replies; internal notes are for agents"
            raise NotPermittedError(msg)
        files = [a.as_dict() for a in attachments]
        if len(files) > values.ATTACHMENTS_MAX:
            msg = f"a comment may carry at most {values.ATTACHMENTS_MAX} attachments"
            raise InvalidValueError(msg)
        number = len(self.comments) + 1
        checked = values.text(body, "comment body")
        self._commented(
            number=number,
            public=public,
            body=checked,
            mentions=values.mentions(checked),
            attachments=files,
        )
        return number

    @event(CommentAdded)
    def _commented(
        self,
        actor_id: str = FROM_CONTEXT,  # provenance the state needs: before `*`, or eventsourcing requires it
        actor_kind: str = FROM_CONTEXT,
        timestamp: datetime = FROM_CONTEXT,
        *,
        number: int,
        public: bool,
        body: str,
        mentions: list[str],
        attachments: list[FieldDict],
    ) -> None:
        comment = Comment(number, actor_id, actor_kind, public, body, tuple(mentions), tuple(attachments), timestamp)
        self.comments.append(comment)
        if public and actor_kind == ActorKind.REQUESTER.value:
            self.last_contact_customer_at = timestamp
        elif public and actor_kind == ActorKind.AGENT.value:
            self.last_contact_agent_at = timestamp

    # --- classification ---------------------------------------------------------------------

    def rate(self, rating: Rating, comment: str) -> None:
        """Record the requester's satisfaction with the solution (again, to change it)."""
        if current().actor.kind is not ActorKind.REQUESTER:
            msg = "only the requester rates a ticket"
            raise NotPermittedError(msg)
        if self.category is not Status.SOLVED:
            msg = f"a ticket can be rated once solved (it is {self.status})"
            raise NotPermittedError(msg)
        self._rated(
            scale=rating.scale,
            score=rating.score,
            comment=values.text(comment, "rating comment", allow_blank=True),
            old_rating=self.satisfaction,
        )

    @event(Rated)
    def _rated(
        self,
        *,
        scale: str,
        score: int,
        comment: str,
        old_rating: FieldDict | None,
    ) -> None:
        self.satisfaction = {"scale": scale, "score": score, "comment": comment}

    # --- service levels ------------------------------------------------------------------------------

    def issue_sla_warning(self, alert: SlaAlert) -> bool:
        """Record that a target is nearly due; once per target and cycle. True if recorded now."""
        return self._alert("warning", alert, self._sla_warning_issued)

    def record_sla_breach(self, alert: SlaAlert) -> bool:
        """Record that a target's due moment passed unfulfilled; once per target and cycle. True if recorded now."""
        return self._alert("breach", alert, self._sla_breached)

    def _alert(self, kind: AlertKind, alert: SlaAlert, record: Callable[..., None]) -> bool:
        # A closed ticket has no running targets; an alert that reaches it is late news, not a change.
        if self.category is Status.CLOSED or alert_key(kind, alert.target, alert.cycle) in self.sla_alerts:
            return False
        record(**alert.fields())
        return True

    @event(SlaWarningIssued)
    def _sla_warning_issued(
        self,
        *,
        target: str,
        cycle: int,
        due_at: datetime,
        policy_id: str,
        policy_version: int,
    ) -> None:
        self.sla_alerts = [*self.sla_alerts, alert_key("warning", target, cycle)]

    @event(SlaBreached)
    def _sla_breached(
        self,
        *,
        target: str,
        cycle: int,
        due_at: datetime,
        policy_id: str,
        policy_version: int,
    ) -> None:
        self.sla_alerts = [*self.sla_alerts, alert_key("breach", target, cycle)]

    def recompute_sla(self, *, policy_id: str | None, policy_version: int | None, clock: FieldDict) -> None:
        """Put on record SLA clocks recomputed from this ticket's history (the caller folded it)."""
        self._ensure_not_closed()
        self._sla_recomputed(policy_id=policy_id, policy_version=policy_version, clock=dict(clock))

    @event(SlaRecomputed)
    def _sla_recomputed(
        self,
        *,
        policy_id: str | None,
        policy_version: int | None,
        clock: FieldDict,
    ) -> None:
        pass  # the SLA read model takes the clocks from the event; the ticket itself keeps nothing of them

    # --- privacy ---------------------------------------------------------------------------------

    def erase_personal_data(self, person_id: str) -> None:
        """Record that a person's data on this ticket is erased, and forget it here.

        Allowed on closed tickets too: erasure is owed whatever the ticket's state. Records
        nothing when the ticket holds nothing of that person that is not erased already.
        """
        if self._holds_personal_data_of(identifier(person_id, "person id")):
            self._personal_data_erased(person_id=person_id)

    def _holds_personal_data_of(self, person_id: str) -> bool:
        if person_id == self.requester_id and any(v not in (None, "", ERASED) for v in self._requester_texts()):
            return True
        if any(f.owner == person_id and f.value != ERASED for f in self.custom_fields.values()):
            return True  # a personal custom field about them (its definition says so)
        return any(c.author_id == person_id and c.body != ERASED for c in self.comments)

    def _requester_texts(self) -> tuple[str | None, ...]:
        rating = self.satisfaction["comment"] if self.satisfaction else None
        return (self.title, self.description, self.requester_name, self.requester_email, rating)

    @event(PersonalDataErased)
    def _personal_data_erased(
        self,
        *,
        person_id: str,
    ) -> None:
        if person_id == self.requester_id:
            self.title = self.description = ERASED
            self.requester_name = None if self.requester_name is None else ERASED
            self.requester_email = None if self.requester_email is None else ERASED
            if self.satisfaction and self.satisfaction["comment"]:
                self.satisfaction = {**self.satisfaction, "comment": ERASED}
            self.location = None
        self.comments = [c.erased() if c.author_id == person_id else c for c in self.comments]
        self.custom_fields = {k: v.erased() if v.owner == person_id else v for k, v in self.custom_fields.items()}

    # --- triggers ----------------------------------------------------------------------------

    def fire_trigger(self, trigger: str, version: int, *, cause: int, depth: int, failed: str | None = None) -> None:
        """Record that a trigger fired on the event at version `cause`; its actions come next, in the same save."""
        if cause <= 0 or cause > self.version:
            msg = f"no event at version {cause} of this ticket"
            raise InvalidValueError(msg)
        self._trigger_fired(trigger=trigger, trigger_version=version, cause=cause, depth=depth, failed=failed)

    @event(TriggerFired)
    def _trigger_fired(self, *, trigger: str, trigger_version: int, cause: int, depth: int, failed: str | None) -> None:
        self.triggers_through = max(self.triggers_through, cause)

    def fire_automation(self, automation: str, version: int, *, instance: str, failed: str | None = None) -> None:
        """Record that a timed rule fired (its actions come next, in the same save); an instance fires once."""
        if instance in self.automations_fired:
            msg = f"the timed rule fired on this ticket already ({instance})"
            raise AlreadyExistsError(msg)
        self._automation_fired(automation=automation, automation_version=version, instance=instance, failed=failed)

    @event(AutomationFired)
    def _automation_fired(self, *, automation: str, automation_version: int, instance: str, failed: str | None) -> None:
        self.automations_fired = [*self.automations_fired, instance]

    def request_webhook(self, webhook_id: str) -> None:
        """Record that a rule asked for a delivery to the webhook endpoint `webhook_id` (the webhook process sends)."""
        self._webhook_requested(webhook_id=webhook_id)

    @event(WebhookRequested)
    def _webhook_requested(self, *, webhook_id: str) -> None:
        """Nothing of the ticket's state changes: the event is a record for the webhook process."""

    def request_notification(self, to: str, template: str) -> None:
        """Record that a rule asked for an e-mail to `to` of the kind `template` (the notifier sends it)."""
        self._notification_requested(to=to, template=template)

    @event(NotificationRequested)
    def _notification_requested(self, *, to: str, template: str) -> None:
        """Nothing of the ticket's state changes: the event is a record for the notifier."""

    def record_notification_sent(
        self, *, recipient_id: str, recipient_kind: str, kind: str, message_id: str, cause: int
    ) -> None:
        """Record that a notification was accepted by the mail server (also on a closed ticket: it is a record)."""
        self._notification_sent(
            recipient_id=recipient_id, recipient_kind=recipient_kind, kind=kind, message_id=message_id, cause=cause
        )

    @event(NotificationSent)
    def _notification_sent(
        self, *, recipient_id: str, recipient_kind: str, kind: str, message_id: str, cause: int
    ) -> None:
        """Nothing of the ticket's state changes: the event is the notification's record."""

    def record_notification_failed(
        self, *, recipient_id: str, recipient_kind: str, kind: str, message_id: str, cause: int, error: str
    ) -> None:
        """Record that a notification was given up (the mail server refused it for good)."""
        self._notification_failed(
            recipient_id=recipient_id,
            recipient_kind=recipient_kind,
            kind=kind,
            message_id=message_id,
            cause=cause,
            error=error[:500],
        )

    @event(NotificationFailed)
    def _notification_failed(
        self, *, recipient_id: str, recipient_kind: str, kind: str, message_id: str, cause: int, error: str
    ) -> None:
        """Nothing of the ticket's state changes: the event is the notification's record."""

    def note_schedule(self, schedule: str, version: int, *, occurrence: datetime) -> None:
        """Record which schedule, at which version, and which of its occurrences opened this ticket."""
        self._opened_on_schedule(schedule=schedule, schedule_version=version, occurrence=occurrence)

    @event(OpenedOnSchedule)
    def _opened_on_schedule(self, *, schedule: str, schedule_version: int, occurrence: datetime) -> None:
        """Nothing of the ticket's state changes: the event is its record."""

    def stop_trigger_chain(self, *, cause: int, depth: int, not_fired: list[str]) -> None:
        """Record that a chain of triggers stopped at its longest, naming those that would have fired next."""
        self._trigger_chain_stopped(cause=cause, depth=depth, not_fired=not_fired)

    @event(TriggerChainStopped)
    def _trigger_chain_stopped(self, *, cause: int, depth: int, not_fired: list[str]) -> None:
        self.triggers_through = max(self.triggers_through, cause)

    def change_title(self, new: str) -> None:
        """Retitle the ticket (the requester's words: personal data, as the first title)."""
        self._ensure_not_closed()
        checked = values.title(new)
        if checked == self.title:
            return
        self._title_changed(requester_id=self.requester_id, old_title=self.title, new_title=checked)

    @event(TitleChanged)
    def _title_changed(
        self,
        *,
        requester_id: str,
        old_title: str,
        new_title: str,
    ) -> None:
        self.title = new_title

    def change_description(self, new: str) -> None:
        """Rewrite the description (blank is allowed; personal data of the requester, as the first one)."""
        self._ensure_not_closed()
        checked = values.text(new, "description", allow_blank=True)
        if checked == self.description:
            return
        self._description_changed(
            requester_id=self.requester_id, old_description=self.description, new_description=checked
        )

    @event(DescriptionChanged)
    def _description_changed(
        self,
        *,
        requester_id: str,
        old_description: str,
        new_description: str,
    ) -> None:
        self.description = new_description

    def change_priority(self, new: Priority) -> None:
        """Reprioritise the ticket."""
        self._ensure_not_closed()
        if new is self.priority:
            return
        self._priority_changed(old_priority=self.priority.value, new_priority=new.value)

    @event(PriorityChanged)
    def _priority_changed(
        self,
        *,
        old_priority: str,
        new_priority: str,
    ) -> None:
        self.priority = Priority(new_priority)

    def change_type(self, new: str | None) -> None:
        """Reclassify the ticket (None clears the type)."""
        self._ensure_not_closed()
        checked = None if new is None else values.slug(new, "type")
        if checked == self.ticket_type:
            return
        self._type_changed(old_type=self.ticket_type, new_type=checked)

    @event(TypeChanged)
    def _type_changed(
        self,
        *,
        old_type: str | None,
        new_type: str | None,
    ) -> None:
        self.ticket_type = new_type

    def add_tags(self, tags: Iterable[str]) -> None:
        """Add tags (ones already present are ignored)."""
        self._retag(values.tags([*self.tags, *tags]))

    def remove_tags(self, tags: Iterable[str]) -> None:
        """Remove tags (ones not present are ignored)."""
        removed = {values.slug(tag, "tag") for tag in tags}
        self._retag([t for t in self.tags if t not in removed])

    def _retag(self, new_tags: list[str]) -> None:
        self._ensure_not_closed()
        if new_tags == self.tags:
            return
        self._tags_changed(old_tags=list(self.tags), new_tags=new_tags)

    @event(TagsChanged)
    def _tags_changed(
        self,
        *,
        old_tags: list[str],
        new_tags: list[str],
    ) -> None:
        self.tags = list(new_tags)

    def set_custom_field(self, name: str, value: FieldValue | None) -> None:
        """Set a typed custom field, or clear it with None."""
        self._ensure_not_closed()
        values.slug(name, "custom field name")
        old = self.custom_fields.get(name)
        if old == value:
            return
        if old is None and len(self.custom_fields) >= values.CUSTOM_FIELDS_MAX:
            msg = f"a ticket may carry at most {values.CUSTOM_FIELDS_MAX} custom fields"
            raise InvalidValueError(msg)
        self._custom_field_changed(
            name=name,
            old_value=None if old is None else old.as_dict(),
            new_value=None if value is None else value.as_dict(),
        )

    @event(CustomFieldChanged)
    def _custom_field_changed(
        self,
        *,
        name: str,
        old_value: FieldDict | None,
        new_value: FieldDict | None,
    ) -> None:
        if new_value is None:
            self.custom_fields.pop(name, None)
        else:
            self.custom_fields[name] = FieldValue.from_dict(new_value)

    # --- rules shared by the commands -------------------------------------------------------------

    def _ensure_not_closed(self) -> None:
        if self.category is Status.CLOSED:
            msg = "the ticket is closed, which is final; open a follow-up ticket instead"
            if self.merged_into is not None:
                msg = f"the ticket was merged into {self.merged_into}, which is final; change that ticket instead"
            raise TicketClosedError(msg)

    # --- suggestions (domain/suggestions) -----------------------------------------------------------

    class Suggested(Event):
        """A model learned from the tenant's solved tickets suggested a value for a field of this ticket."""

        tenant: str  # the ticket's (the suggestions report reads these events by tenant)
        number: int  # the suggestion's number on this ticket, from 1
        field: str  # type, group or priority
        value: str
        confidence: float  # the model's calibrated probability of the value
        model_version: int

    class SuggestionAccepted(Event):
        """An agent (or a rule) took a suggestion; the field's change follows in the same save."""

        tenant: str
        number: int
        field: str
        value: str
        model_version: int

    class SuggestionCorrected(Event):
        """An agent chose another value than the one suggested; the field's change follows in the same save."""

        tenant: str
        number: int
        field: str
        suggested: str
        value: str  # the value the agent chose
        model_version: int

    def suggest(self, *, field: str, value: str, confidence: float, model_version: int) -> bool:
        """Record a model's suggestion, unless one for this field from this model version is on record already."""
        if any(s["field"] == field and s["model_version"] == model_version for s in self.suggestions):
            return False
        self._suggested(
            number=len(self.suggestions) + 1,
            field=field,
            value=value,
            confidence=confidence,
            model_version=model_version,
        )
        return True

    @event(Suggested)
    def _suggested(self, *, number: int, field: str, value: str, confidence: float, model_version: int) -> None:
        made = {"number": number, "field": field, "value": value, "confidence": confidence}
        self.suggestions = [*self.suggestions, {**made, "model_version": model_version, "outcome": None}]

    def suggestion(self, number: int) -> FieldDict:
        """The suggestion numbered `number` (NotFoundError if there is none)."""
        for made in self.suggestions:
            if made["number"] == number:
                return made
        msg = f"no suggestion {number} on this ticket"
        raise NotFoundError(msg)

    def accept_suggestion(self, number: int) -> FieldDict:
        """Record that a suggestion was taken; the caller applies its value through the field's own change."""
        made = self._open_suggestion(number)
        self._suggestion_accepted(
            number=number, field=made["field"], value=made["value"], model_version=made["model_version"]
        )
        return made

    @event(SuggestionAccepted)
    def _suggestion_accepted(self, *, number: int, field: str, value: str, model_version: int) -> None:
        self._settle_suggestion(number, "accepted", value)

    def correct_suggestion(self, number: int, value: str) -> FieldDict:
        """Record that an agent chose `value` instead; the caller applies it through the field's own change."""
        made = self._open_suggestion(number)
        self._suggestion_corrected(
            number=number,
            field=made["field"],
            suggested=made["value"],
            value=value,
            model_version=made["model_version"],
        )
        return made

    @event(SuggestionCorrected)
    def _suggestion_corrected(self, *, number: int, field: str, suggested: str, value: str, model_version: int) -> None:
        self._settle_suggestion(number, "corrected", value)

    def _open_suggestion(self, number: int) -> FieldDict:
        self._ensure_not_closed()
        made = self.suggestion(number)
        if made["outcome"] is not None:
            msg = f"suggestion {number} was {made['outcome']} already"
            raise AlreadyExistsError(msg)
        return made

    def _settle_suggestion(self, number: int, outcome: str, chosen: str) -> None:
        self.suggestions = [
            {**s, "outcome": outcome, "chosen": chosen} if s["number"] == number else s for s in self.suggestions
        ]

    # --- hand-off from a chat bot (domain/tickets/transcripts.py) -----------------------------------

    class HandedOver(Event):
        """A chat bot handed its conversation over: each message a public comment, with its own author and time."""

        tenant: str  # whose key store holds the authors' data keys (as for `Merged` copies)
        comments: list[FieldDict]  # the messages as comments, in order (`Comment.as_dict`)

    def take_transcript(self, messages: Sequence[TranscriptMessage]) -> None:
        """Put a chat's messages on the ticket as its first comments (a ticket opened through chat only)."""
        if self.channel != "chat":
            msg = f"a transcript comes with a ticket opened through chat (this one came through {self.channel})"
            raise InvalidValueError(msg)
        if current().actor.kind is ActorKind.REQUESTER:
            msg = "a transcript is handed over by the chat bot or by staff, not by the customer"
            raise NotPermittedError(msg)
        if self.comments:
            msg = "a transcript becomes the ticket's first comments: it comes with the opening"
            raise InvalidValueError(msg)
        comments = transcript_comments(messages, requester_id=self.requester_id, first_number=1, now=current().at)
        if comments:
            self._handed_over(comments=[c.as_dict() for c in comments])

    @event(HandedOver)
    def _handed_over(self, *, comments: list[FieldDict]) -> None:
        taken = [Comment.from_dict(c) for c in comments]
        self.comments = [*self.comments, *taken]
        said = [c.at for c in taken if c.author_kind == ActorKind.REQUESTER.value]
        if said:  # the customer's last message is their latest contact, as a public reply of theirs is
            self.last_contact_customer_at = max(said[-1], self.last_contact_customer_at or said[-1])

    # --- field service: where the ticket is served, who was sent, when they arrive (domain/directory/geo.py) ----

    class LocationSet(Event):
        """Where the ticket is to be served, or None: no longer said (the requester's personal data)."""

        tenant: str  # whose key store holds the requester's data key
        requester_id: str  # whose data key seals both places
        old_location: FieldDict | None  # `Place.as_dict`
        new_location: FieldDict | None

    class Dispatched(Event):
        """Nearest-agent routing sent `agent` (recorded with its `Assigned`): how far, and when they should arrive."""

        agent: str
        distance_km: float
        speed_kmh: float
        arrival_due: datetime

    def set_location(self, location: Place | None) -> None:
        """Say where the ticket is to be served (None: no longer say)."""
        self._ensure_not_closed()
        new = None if location is None else location.as_dict()
        if new != self.location:
            self._location_set(requester_id=self.requester_id, old_location=self.location, new_location=new)

    @event(LocationSet)
    def _location_set(
        self, *, requester_id: str, old_location: FieldDict | None, new_location: FieldDict | None
    ) -> None:
        self.location = new_location if isinstance(new_location, dict) else None  # not a dict once erased

    def estimate_arrival(self, agent: str, *, distance_km: float, speed_kmh: float) -> None:
        """Record who was sent, from how far, and when they should arrive at `speed_kmh` from now."""
        due = geo.arrival(current().at, distance_km, speed_kmh)
        self._dispatched(agent=agent, distance_km=round(distance_km, 3), speed_kmh=speed_kmh, arrival_due=due)

    @event(Dispatched)
    def _dispatched(
        self,
        timestamp: datetime = FROM_CONTEXT,  # provenance the state needs: before `*`, or eventsourcing requires it
        *,
        agent: str,
        distance_km: float,
        speed_kmh: float,
        arrival_due: datetime,
    ) -> None:
        sent = {"agent": agent, "distance_km": distance_km, "speed_kmh": speed_kmh, "arrival_due": arrival_due}
        self.dispatch = {**sent, "sent_at": timestamp}

    class CheckedIn(Event):
        """The acting agent arrived where the ticket is served, at the event's moment, at `position`."""

        tenant: str  # whose key store holds the agent's data key: the position is theirs
        position: FieldDict  # `Place.as_dict`

    class CheckedOut(Event):
        """The acting agent left, at the event's moment, from `position`."""

        tenant: str
        position: FieldDict

    def check_in(self, position: Place) -> None:
        """The acting agent is on site now (one visit at a time: the one before must be checked out)."""
        self._ensure_not_closed()
        actor = current().actor
        if actor.kind is not ActorKind.AGENT:
            msg = "agents check in on site"
            raise NotPermittedError(msg)
        here = next((v["agent"] for v in self.visits if v["left_at"] is None), None)
        if here is not None:
            msg = f"{here} is checked in on this ticket; check out first"
            raise AlreadyExistsError(msg)
        self._checked_in(position=position.as_dict())

    @event(CheckedIn)
    def _checked_in(
        self, actor_id: str = FROM_CONTEXT, timestamp: datetime = FROM_CONTEXT, *, position: FieldDict
    ) -> None:
        self.visits = [*self.visits, {"agent": actor_id, "arrived_at": timestamp, "left_at": None}]

    def check_out(self, position: Place) -> None:
        """The acting agent, checked in, leaves the site (allowed once the ticket is closed: they were there)."""
        actor = current().actor
        if not any(v["agent"] == actor.id and v["left_at"] is None for v in self.visits):
            msg = "you are not checked in on this ticket"
            raise IllegalTransitionError(msg)
        self._checked_out(position=position.as_dict())

    @event(CheckedOut)
    def _checked_out(
        self, actor_id: str = FROM_CONTEXT, timestamp: datetime = FROM_CONTEXT, *, position: FieldDict
    ) -> None:
        left = {"left_at": timestamp}
        self.visits = [{**v, **left} if v["agent"] == actor_id and v["left_at"] is None else v for v in self.visits]


def _shallow_copy(value: Any) -> Any:
    return type(value)(value) if isinstance(value, list | dict | set) else value
