"""The projection that feeds every read model: one pass over the log, each event folded by every slice.

Each slice (projections/<slice>/) has its own fold, a `functools.singledispatch` function keyed
by event class. The projection routes an event to the folds that handle its class, in the order
of `SLICES`: the ticket row first (the others read its tenant and organisation, and SLA writes
its due moments onto it), metrics last (it recovers facts of old tickets from the row). The
view (`TicketsView`) writes what the batch changed with its tracking position in one transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.projection import Projection

from domain.tickets.ticket import Ticket
from projections.activity import fold as activity
from projections.batch import Batch, Folding, TicketsView
from projections.knowledge import fold as knowledge
from projections.metrics import fold as metrics
from projections.people import fold as people
from projections.routing import fold as routing
from projections.saved_views import fold as saved_views
from projections.sla import fold as sla
from projections.tickets import fold as tickets
from projections.workload import fold as workload

Fold = Callable[[Any, Folding], None]

#: Every slice's fold, in the order an event reaches them.
SLICES: tuple[Any, ...] = (
    tickets.fold,
    sla.fold,
    workload.fold,
    routing.fold,
    people.fold,
    saved_views.fold,
    activity.fold,
    metrics.fold,
    knowledge.fold,
)


#: The folds of each event class seen so far: worked out once per class, where dispatching is per event.
_FOLDS_OF: dict[type, tuple[Fold, ...]] = {}


def folds_of(event_type: type) -> tuple[Fold, ...]:
    """The folds that handle events of this class (a slice's fallback for other classes does nothing)."""
    folds = _FOLDS_OF.get(event_type)
    if folds is None:
        chosen = [fold.dispatch(event_type) for fold in SLICES]
        folds = tuple(h for h, fold in zip(chosen, SLICES, strict=True) if h is not fold.dispatch(object))
        _FOLDS_OF[event_type] = folds
    return folds


def forget_folds() -> None:
    """Work the folds of each event class out again: needed once a fold is registered while events flow."""
    _FOLDS_OF.clear()


class TicketsProjection(Projection[TicketsView]):
    """Folds events into every read-model slice: tickets, SLA, workload, people, saved views, activity, metrics."""

    name = "tickets"  # the tracking name of the stored positions: kept, so existing read models carry on
    topics = ()
    #: The personal (encrypted) fields the read models keep: a ticket's title (and a new one), for lists and
    #: search; its custom fields (personal ones included) and saved views' filters, which lists show as they
    #: are; its description (and a new one) and its comments' bodies (a merge's copies included), whose
    #: terms search indexes (projections/tickets/search.py). Nothing else personal is decrypted to build them.
    PERSONAL_FIELDS: ClassVar[frozenset[str]] = frozenset(
        {
            "title",
            "new_title",
            "custom_fields",
            "new_value",
            "filters",
            "description",
            "new_description",
            "body",
            "comments",
        }
    )

    def __init__(self, view: TicketsView) -> None:
        super().__init__(view)
        self.folding = Folding(view.begin_batch(0), view)

    @property
    def batch(self) -> Batch:
        """What the events folded since the last flush changed."""
        return self.folding.batch

    def start_batch(self, after: int) -> None:
        """Begin a batch of the events recorded after position `after`."""
        self.folding = Folding(self.view.begin_batch(after), self.view)

    def prefetch(self, ticket_ids: set[UUID]) -> None:
        """Load the stored rows and SLA clocks of tickets the batch's events touch: a query each, not one per ticket."""
        self.view.load_tickets(self.batch, ticket_ids)
        rows = self.batch.tickets
        sla.folder(self.folding).prefetch_clocks({i: rows[i].tenant for i in ticket_ids if i in rows})

    def process_event(self, domain_event: Any, tracking: Tracking) -> None:
        """Fold one event into every slice that handles its class."""
        self.folding.position = tracking.notification_id
        for fold in folds_of(type(domain_event)):
            fold(domain_event, self.folding)

    def flush(self, tracking: Tracking) -> None:
        """Write what the batch changed, with `tracking`, and begin the next batch after it."""
        self.view.commit_batch(self.batch, tracking)
        self.start_batch(tracking.notification_id)

    def skip(self, event: Any, position: int) -> None:
        """Leave a parked aggregate's event for a retry; an erasure still scrubs the row the ticket has."""
        self.batch.skipped.add((event.originator_id, position))
        if isinstance(event, Ticket.PersonalDataErased):
            self.batch.scrubs.add((event.originator_id, event.person_id))

    def discard(self) -> None:
        """Forget unwritten changes (after a failed write; the events will be read again)."""
        self.start_batch(self.batch.after)
