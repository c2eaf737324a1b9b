"""A batch of events on its way into the read models: what it changed, slice by slice, and where it is written.

The projection (projection.py) folds each event into the batch through every slice's fold; it
never touches a database itself. It asks its view (a tracking recorder, `TicketsView`) for the
stored rows it needs, and the view writes everything the batch changed together with the batch's
tracking position, in one transaction, so each event is applied exactly once.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from uuid import UUID

from eventsourcing.persistence import Tracking, TrackingRecorder

from domain.sla.policy import Calendar
from projections.activity.rows import ActivityKey
from projections.knowledge.rows import KnowledgeChanges
from projections.metrics.rows import MetricsBatch
from projections.parking.failure import ParkedEntry, Parking
from projections.routing.rows import RoutingChanges
from projections.saved_views.rows import SavedViewRow
from projections.sla.rows import SlaChanges
from projections.tickets.rows import TicketRow
from projections.tickets.search import SearchPart


@dataclass
class Batch:
    """What a batch of events changed, for the view to write in one transaction.

    `after` is the tracking position the batch continues from: the view writes the batch only if
    the stored position is still exactly that, so two workers can never both apply an event.
    """

    after: int = 0
    # tickets/: the rows of the tickets the batch touched, and those whose tag rows must be rewritten
    tickets: dict[UUID, TicketRow] = field(default_factory=dict)
    retagged: set[UUID] = field(default_factory=set)
    search: dict[tuple[UUID, str], SearchPart] = field(default_factory=dict)  # (ticket, part) -> its new text
    solved: dict[tuple[str, str, date], int] = field(default_factory=dict)  # workload/: (tenant, agent, day) -> n
    saved_views: list[SavedViewRow] = field(default_factory=list)  # saved_views/: views created
    routing: RoutingChanges = field(default_factory=RoutingChanges)  # routing/
    activity: dict[ActivityKey, int] = field(default_factory=dict)  # activity/: audit_activity key -> changes
    # people/: (tenant, person, ticket) whose data a ticket holds; (tenant, person) erased: scrub, reclaim rows
    people: set[tuple[str, str, UUID]] = field(default_factory=set)
    erased: set[tuple[str, str]] = field(default_factory=set)
    sla: SlaChanges = field(default_factory=SlaChanges)  # sla/
    metrics: MetricsBatch = field(default_factory=MetricsBatch)  # metrics/
    knowledge: KnowledgeChanges = field(default_factory=KnowledgeChanges)  # knowledge/
    # parking/: aggregates parked by this batch, aggregates already parked whose events it skipped (still
    # parked when it is written, or the batch is void), the positions skipped, and erasures of parked tickets.
    parked: list[Parking] = field(default_factory=list)
    held: set[UUID] = field(default_factory=set)
    skipped: set[tuple[UUID, int]] = field(default_factory=set)  # (aggregate, position)
    scrubs: set[tuple[UUID, str]] = field(default_factory=set)  # (parked ticket, person erased meanwhile)


class BatchConflictError(Exception):
    """Another worker moved the tracking position since this batch was read; the batch is void."""


class TicketsView(TrackingRecorder, ABC):
    """Where the read models live. Implemented for SQLite and PostgreSQL in infrastructure/readmodels/view.py."""

    @abstractmethod
    def begin_batch(self, after: int) -> Batch:
        """Start collecting the changes of a batch of events read after position `after`."""

    @abstractmethod
    def load_tickets(self, batch: Batch, ticket_ids: set[UUID]) -> None:
        """Put the stored rows of these tickets into the batch's working set (missing ones are skipped)."""

    @abstractmethod
    def load_articles(self, changes: KnowledgeChanges, article_ids: set[UUID]) -> None:
        """Put the stored rows of these articles into the batch's knowledge changes (missing ones are skipped)."""

    @abstractmethod
    def load_sla_config(self, changes: SlaChanges, tenant: str) -> None:
        """Put the tenant's stored SLA policies and calendars into the batch (ones already there win)."""

    @abstractmethod
    def load_sla_tiers(self, changes: SlaChanges, profile_ids: set[UUID]) -> None:
        """Put the stored customer tiers of these profiles into the batch (ones already there win)."""

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


@dataclass
class Folding:
    """What a slice's fold sees of the event it folds: the batch it changes, the event's position, the view."""

    batch: Batch
    view: TicketsView
    position: int = 0

    def ticket(self, ticket_id: UUID) -> TicketRow:
        """The ticket's working row, which tells its tenant and organisation (loaded when not in the batch)."""
        row = self.batch.tickets.get(ticket_id)
        if row is None:
            self.view.load_tickets(self.batch, {ticket_id})
            row = self.batch.tickets[ticket_id]
        return row
