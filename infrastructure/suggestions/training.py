"""Training: each tenant's solved and closed tickets, read, learned from, and stored as a new model version.

Which tickets and their outcome (type, group, priority) come from the `tickets` read model; the
read model keeps no descriptions (they are the requester's personal data, sealed in the events),
so each description is read through the application, which opens it with the requester's data
key; an erased requester's words read `[erased]` and teach nothing. One trainer at a time across
every host: the lease `suggestion-training` (infrastructure/leases.py), whose position keeps the
moment of the last training, so the worker's schedule survives restarts and is shared by hosts.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime

from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.suggestions.rules import enough_to_learn
from domain.values import ERASED
from infrastructure.leases import Lease
from infrastructure.readmodels.store import ReadModels
from infrastructure.suggestions.model import Example, text_of, train
from infrastructure.suggestions.store import ModelStore, ModelVersion
from projections.tickets.queries import PAGE_MAX, Sort, TicketFilter
from projections.tickets.rows import TicketRow

log = logging.getLogger("ledgerdesk.suggestions")

#: Told how far a tenant's reading has come: (tickets read, tickets to read).
Progress = Callable[[int, int], None]
DONE_CATEGORIES = ("solved", "closed")


class AnotherTrainerError(RuntimeError):
    """Another process is training now (it holds the training lease)."""


@dataclass(frozen=True, slots=True)
class Outcome:
    """What training did for one tenant: the new version, or why there is none."""

    tenant: str
    version: ModelVersion | None
    skipped: str | None = None  # "too_few_training_tickets" or "off"


class Trainer:
    """Trains tenants' models under the training lease."""

    def __init__(
        self,
        desk: HelpDesk,
        read_models: ReadModels,
        store: ModelStore,
        lease: Lease,
        *,
        min_tickets: int,
        off_tenants: frozenset[str] = frozenset(),
    ) -> None:
        self.desk = desk
        self.read_models = read_models
        self.store = store
        self.lease = lease
        self.min_tickets = min_tickets
        self.off_tenants = off_tenants

    def tenants(self) -> list[str]:
        """Every tenant with tickets, but those turned off."""
        return [t for t in self.read_models.tickets().tenants() if t not in self.off_tenants]

    def train(self, tenants: list[str], progress: Callable[[str], Progress] | None = None) -> list[Outcome]:
        """Train each tenant's model, holding the lease throughout; AnotherTrainerError if another holds it."""
        if self.lease.acquire() is None:
            raise AnotherTrainerError("another process is training suggestion models now; try again later")
        try:
            outcomes = []
            for tenant in tenants:
                outcomes.append(self.train_tenant(tenant, None if progress is None else progress(tenant)))
                self.lease.acquire()  # renew between tenants
            self.lease.advance(int(time.time()))  # the moment of this training: the schedule counts from it
        finally:
            self.lease.release()  # an on-demand training elsewhere need not wait the lease out
        return outcomes

    def due(self, interval_seconds: float) -> bool:
        """Whether the schedule's next training is due: the last one, on any host, is that long ago."""
        return time.time() - self._last_trained() >= interval_seconds

    def _last_trained(self) -> int:
        for state in self.lease.states():
            if state.name == self.lease.name:
                return state.position
        return self.lease.acquire() or 0  # in memory the lease is this process's alone; 0: never trained

    def train_tenant(self, tenant: str, progress: Progress | None = None) -> Outcome:
        """Read the tenant's done tickets, train, store a version; or say why not."""
        if tenant in self.off_tenants:
            return Outcome(tenant, None, "off")
        rows = list(self._done_rows(tenant))
        if not enough_to_learn(len(rows), self.min_tickets):
            return Outcome(tenant, None, "too_few_training_tickets")
        started = time.monotonic()
        examples = list(self._examples(rows, progress))
        model = train(examples)
        version = self.store.add(
            tenant,
            model,
            trained_at=self.desk.clock(),
            window=window_of(rows),
            size=len(examples),
            seconds=time.monotonic() - started,
        )
        log.info("trained suggestion model %s of %s on %s tickets", version.version, tenant, version.size)
        return Outcome(tenant, version)

    def solved_count(self, tenant: str) -> int:
        """How many done tickets the tenant has (what the minimum training size is judged on)."""
        return sum(1 for _ in self._done_rows(tenant))

    def _done_rows(self, tenant: str) -> Iterator[TicketRow]:
        where = TicketFilter(tenant=tenant, categories=DONE_CATEGORIES)
        queries, after = self.read_models.tickets(), None
        while True:
            page = queries.list_tickets(where, sort=Sort.OLDEST, limit=PAGE_MAX, after=after)
            yield from page.rows
            if page.next_cursor is None:
                return
            after = page.next_cursor

    def _examples(self, rows: list[TicketRow], progress: Progress | None) -> Iterator[Example]:
        for done, row in enumerate(rows, start=1):
            description = self._description(row)
            labels = {"type": row.ticket_type, "group": row.group, "priority": row.priority}
            if row.title != ERASED:
                yield Example(text_of(row.title, description), labels)
            if progress is not None:
                progress(done, len(rows))

    def _description(self, row: TicketRow) -> str:
        try:
            description = self.desk.get_ticket(row.ticket_id).description
        except DomainError:  # gone from the log it was projected from: learn from the title alone
            return ""
        return "" if description == ERASED else description


def window_of(rows: list[TicketRow]) -> tuple[datetime, datetime]:
    """The opening moments of the first and last ticket learned from."""
    moments = [r.created_at for r in rows]
    return min(moments), max(moments)
