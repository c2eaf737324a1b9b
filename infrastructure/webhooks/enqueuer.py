"""The enqueuer: follows the event log in order and writes a delivery for each event an endpoint takes.

It reads the log as the feed does (`GET /events`: the read models tell each event's tenant, so it
reads only as far as they have applied), and matches each event against the enabled endpoints
of its tenant only: tenants never receive each other's events. A `Ticket.WebhookRequested` (a
rule's `call_webhook`) goes to the endpoint it names, whatever that endpoint's event types.

Exactly once: the deliveries of a batch and the new position in the log are written in one
transaction of the events' database, with the lease (infrastructure/leases.py) held, so a crash
before the commit writes neither and the next holder reads the batch again, and after it both.
One process at a time does this; any number send (infrastructure/webhooks/sender.py).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence

from domain.helpdesk import HelpDesk
from domain.webhooks.registry import Endpoint
from domain.webhooks.selection import EventFacts
from infrastructure.leases import Lease
from infrastructure.readmodels.feed import EventFeed, FeedEntry
from infrastructure.readmodels.store import ReadModels
from infrastructure.webhooks.deliveries import Deliveries, NewDelivery, delivery_id
from infrastructure.webhooks.sql import Sql

log = logging.getLogger("ledgerdesk.webhooks")

BATCH_SIZE = 500
REQUESTED = "Ticket.WebhookRequested"


class LeaseLostError(Exception):
    """The enqueuer's lease passed to another process during a batch: the batch is not written."""


class Enqueuer:
    """Turns the log's events into deliveries, one batch at a time, while it holds the lease."""

    def __init__(
        self,
        desk: HelpDesk,
        read_models: ReadModels,
        deliveries: Deliveries,
        sql: Sql,
        lease: Lease,
        *,
        batch_size: int = BATCH_SIZE,
        wait_seconds: float = 0.5,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.desk = desk
        self.read_models = read_models
        self.feed = EventFeed(desk, read_models)
        self.deliveries = deliveries
        self.sql = sql
        self.lease = lease
        self.batch_size = batch_size
        self.wait_seconds = wait_seconds
        self.clock = clock

    def run_once(self) -> int:
        """Enqueue the next batch if this process holds the lease; how many events it read (0: none new)."""
        after = self.lease.acquire()
        if after is None:
            return 0  # another process enqueues
        self._wait_for_read_models(after)
        page = self.feed.every_tenant(after=after, limit=self.batch_size)
        if page.after <= after:
            return 0
        new = self._deliveries(page.entries)
        try:
            with self.sql.transaction() as cursor:
                self.deliveries.enqueue(cursor, new, now=self.clock())
                if not self.lease.advance_within(cursor, page.after):
                    raise LeaseLostError
        except LeaseLostError:
            log.warning("the webhook lease passed to another process; standing by")
            return 0
        return page.read

    def _wait_for_read_models(self, after: int) -> None:
        """The feed reads as far as the read models have applied: give them a moment to apply what is new."""
        head = self.desk.recorder.max_notification_id() or 0
        if head > after and self.read_models.position() < head:
            self.read_models.wait_for(head, self.wait_seconds)

    def _deliveries(self, entries: Sequence[tuple[str, FeedEntry]]) -> list[NewDelivery]:
        endpoints: dict[str, list[Endpoint]] = {}
        new: list[NewDelivery] = []
        for tenant, entry in entries:
            if tenant not in endpoints:
                endpoints[tenant] = [e for e in self.desk.webhooks(tenant) if e.enabled]
            requested = entry.payload.get("webhook_id") if entry.type == REQUESTED else None
            facts = EventFacts(entry.type, entry.via, entry.actor_id, entry.actor_kind, entry.payload)
            for endpoint in endpoints[tenant]:
                if endpoint.id == requested or endpoint.selection.selects(facts):
                    new.append(_delivery(tenant, endpoint.id, entry))
        return new


def _delivery(tenant: str, endpoint_id: str, entry: FeedEntry) -> NewDelivery:
    return NewDelivery(
        id=delivery_id(endpoint_id, entry.position),
        endpoint_id=endpoint_id,
        tenant=tenant,
        position=entry.position,
        aggregate_id=str(entry.aggregate_id),
        event_type=entry.type,
    )
