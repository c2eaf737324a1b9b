"""The command pipeline every command goes through: load -> check access and version -> act -> save -> answer.

`CommandPipeline` is the eventsourcing application the commands of every capability build on
(domain/tickets/commands.py, domain/sla/commands.py, domain/keys/commands.py,
domain/privacy/commands.py); `HelpDesk` (domain/helpdesk.py) is all of them together. The moment
of every command comes from the injected clock, so a replay never reads the time; who may reach
and change what is the access policy's (domain/access/policy.py).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Any, NotRequired, TypedDict, TypeVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate

from domain.access import policy as access
from domain.actors import Actor, ActorKind
from domain.clock import Clock, system_clock
from domain.errors import (
    ExpectedVersion,
    NotFoundError,
    NotPermittedError,
    RaceLostError,
    TicketNotFoundError,
    VersionMismatchError,
)
from domain.provenance import CommandContext, Recorded, acting, current_cause
from domain.races import RETRY_SECONDS, CommandOutcomes, Unheard
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import DEFAULT_WORKFLOW, Workflow


class Keep(Enum):
    """Marks an optional update argument that was not given (None would mean 'clear it')."""

    KEEP = "keep"


KEEP = Keep.KEEP
C = TypeVar("C", WorkCalendar, SlaPolicy)
R = TypeVar("R", bound=Recorded)


class Acting(TypedDict):
    """Who carries out a command and through which channel: the keywords every command takes."""

    by: Actor
    via: str


class OnTicket(Acting):
    """The keywords of a command on one ticket: who, through which channel, and what the caller expects of it."""

    expected_version: NotRequired[ExpectedVersion | None]  # the version the caller saw (If-Match); None: any
    tenant: NotRequired[str | None]  # the caller's tenant: another tenant's ticket is "not found"; None: any


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


class CommandPipeline(Application[UUID]):
    """The steps every command shares, over an eventsourcing event store."""

    def __init__(
        self,
        env: Mapping[str, str] | None = None,
        *,
        clock: Clock = system_clock,
        workflow: Workflow = DEFAULT_WORKFLOW,
    ) -> None:
        super().__init__(env)
        self.clock = clock
        self.standard_moves = workflow  # the moves of the standard workflow, version 1 of every tenant's `default`
        self._save_listeners: list[Callable[[int], None]] = []
        self.race_seconds = RETRY_SECONDS  # how long a command that keeps losing races tries (domain/races.py)
        self.command_outcomes: CommandOutcomes = Unheard()  # who is told how commands end (domain/races.py)

    def save(self, *objs: Any, **kwargs: Any) -> list[Any]:  # the recordings: each new event and its position
        """Store the aggregates' new events, all or none; a save that lost a race raises RaceLostError.

        The event store refuses a save whose first new version another save took meanwhile (its
        own error says so in its own terms); that refusal is told by the stored version having
        moved past the version the command read, so the commands can carry out again (domain/races.py).
        """
        read = [(a.id, a.version - len(a.pending_events)) for a in objs if isinstance(a, Aggregate)]
        try:
            return super().save(*objs, **kwargs)
        except Exception as refused:
            if not _is_record_conflict(refused):
                raise  # the database away, say: asking it again would only add to the caller's wait
            moved = self._moved_since(read)
            if moved is None:
                raise
            raise RaceLostError(*moved) from refused

    def _moved_since(self, read: list[tuple[UUID, int]]) -> tuple[UUID, int] | None:
        """The first record whose stored version is past the version read, and that version (None: none)."""
        for record_id, version in read:
            try:
                stored = self.recorder.select_events(record_id, desc=True, limit=1)
            except Exception:  # the store cannot tell now (it may be away): keep the save's own error
                return None
            if stored and stored[0].originator_version > version:
                return record_id, stored[0].originator_version
        return None

    def on_saved(self, listener: Callable[[int], None]) -> None:
        """Call `listener` with the last log position after every save in this process."""
        self._save_listeners.append(listener)

    def _notify(self, recordings: Sequence[Any]) -> None:
        # eventsourcing calls this after each save; it lets in-process projections wake at once.
        if recordings:
            for listener in self._save_listeners:
                listener(recordings[-1].notification.id)

    # --- load ---------------------------------------------------------------------------------------

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

    # --- the shared steps --------------------------------------------------------------------------

    @contextmanager
    def _acting(
        self,
        by: Actor,
        via: str,
        ticket: Ticket | None = None,
        *,
        tenant: str | None = None,
        caused_by: str | None = None,
    ) -> Iterator[CommandContext]:
        """The command context of the commands in the block: what every event they trigger records.

        The command acts in the ticket's tenant, or without a ticket in `tenant` (the one whose record it
        creates or changes).
        """
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
            tenant=ticket.tenant if ticket is not None else tenant,
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

    def _on_ticket(
        self,
        ticket_id: UUID,
        act: Callable[[Ticket], object],
        *,
        by: Actor,
        via: str,
        expected_version: ExpectedVersion | None = None,
        tenant: str | None = None,
    ) -> Receipt:
        """A command on one ticket: load it as `by` may reach and change it, `act` in the command context, save.

        The commands pass their `OnTicket` keywords on whole; naming them here once refuses any other.
        """
        ticket = self._ticket_for_update(ticket_id, expected_version, tenant, by)
        with self._acting(by, via, ticket):
            act(ticket)
        return self._commit(ticket)

    def _commit(self, ticket: Ticket, *others: Ticket) -> Receipt:
        """Save the ticket, with the other tickets the command changed too, in one transaction."""
        # A concurrent save that took the version first makes this one raise RaceLostError; nothing is stored.
        recordings = self.save(ticket, *others)
        return Receipt(ticket=ticket, position=recordings[-1].notification.id if recordings else None)

    def _configured(self, kind: type[R], aggregate_id: UUID, version: int | None = None) -> R | None:
        try:
            found: Any = self.repository.get(aggregate_id, version=version)
        except AggregateNotFoundError:
            return None
        if not isinstance(found, kind) or (version is not None and found.version != version):
            return None
        return found

    def _named_config(self, kind: type[C], what: str, tenant: str, name: str, version: int | None) -> C:
        found = self._configured(kind, kind.create_id(tenant, name), version)
        if found is None:
            msg = f"no {what} {name!r}" + ("" if version is None else f" at version {version}")
            raise NotFoundError(msg)
        return found

    def _commit_config(self, aggregate: WorkCalendar | SlaPolicy) -> ConfigReceipt:
        recordings = self.save(aggregate)
        position = recordings[-1].notification.id if recordings else None
        return ConfigReceipt(name=aggregate.name, version=aggregate.version, position=position)

    def _time_of(self, ticket_id: UUID, version: int) -> datetime:
        (event,) = self.events.get(ticket_id, gt=version - 1, lte=version)
        moment: datetime = getattr(event, "timestamp")  # noqa: B009 -- every ticket event has one
        return moment

    def _events_of(self, ticket_id: UUID, tenant: str | None, *, up_to: int | None = None) -> list[Ticket.Event]:
        events: list[Any] = list(self.events.get(ticket_id, lte=up_to))
        if not events or not isinstance(events[0], Ticket.Opened) or tenant not in (None, events[0].tenant):
            raise TicketNotFoundError(f"no ticket {ticket_id}")
        return events


def _is_expected(version: int, expected: ExpectedVersion) -> bool:
    """Whether `version` is the one expected, or one of several (a caller holding copies of two versions)."""
    return version == expected if isinstance(expected, int) else version in expected


def _is_record_conflict(error: BaseException) -> bool:
    """Whether the store refused a save because a record it would write exists already.

    eventsourcing raises its `RecordConflictError` kind then (`IntegrityError` on SQL stores), from
    its persistence module, which the domain does not import; so it is known here by that name.
    """
    return any(kind.__name__ == "RecordConflictError" for kind in type(error).__mro__)
