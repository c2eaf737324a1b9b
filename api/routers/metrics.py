"""`GET /metrics`: the service's figures in Prometheus' text format.

Two kinds of figures:

- Counted by the API processes (infrastructure/telemetry.py): requests by route template and
  status with their latency, commands by outcome, races retried. Several workers of one host
  report as one (prometheus-client's multiprocess mode).
- Read from the database at each scrape, so every process answers alike: how far the read models
  are behind the log's head (events and seconds); for each background process that follows the
  log in order under a lease (triggers, webhooks, notifications: infrastructure/leases.py) its
  position, backlog, whether anyone holds it and when it last renewed it (at every batch); the
  dead-letter list; and the unsolved tickets at risk of an SLA breach or breached now. (The router,
  timed rules and schedules sweep the read models' state rather than follow the log: their work
  waiting shows as the read models' lag and in the queues.)

None of them names a tenant or holds personal data. The endpoint answers without authentication,
like /healthz, for scrapers on the private network.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from infrastructure.composition import Services

router = APIRouter(tags=["metrics"])


class DatabaseCollector(Collector):
    """Collects the figures the database knows when scraped."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        """The figures, read now."""
        read_models = self.services.read_models
        view = read_models.view(read_models.active_generation(fresh=True))
        parked = view.parked()
        position = view.max_tracking_id(read_models.desk.name) or 0
        head = read_models.head()
        yield _gauge(
            "ledgerdesk_projection_parked_tickets",
            "Aggregates (tickets, saved views, SLA policies and calendars) the projection has parked.",
            len(parked),
        )
        yield _gauge(
            "ledgerdesk_projection_skipped_events",
            "Events of parked aggregates waiting for a retry.",
            sum(e.skipped for e in parked),
        )
        yield _gauge(
            "ledgerdesk_read_model_position", "The log position the serving read models have applied.", position
        )
        yield _gauge("ledgerdesk_event_log_head", "The last position of the event log.", head)
        yield _gauge(
            "ledgerdesk_read_model_lag_events",
            "Events recorded but not yet applied by the read models.",
            max(0, head - position),
        )
        yield _gauge(
            "ledgerdesk_read_model_lag_seconds",
            "How long ago the oldest event the read models have not applied was recorded (0: none waits).",
            self._waited(position, head),
        )
        yield from self._background(head)
        at_risk, breached = read_models.tickets().sla_risk_counts(datetime.now(UTC))
        yield _gauge("ledgerdesk_sla_at_risk_tickets", "Unsolved tickets within an SLA warning lead time.", at_risk)
        yield _gauge("ledgerdesk_sla_breached_tickets", "Unsolved tickets with a breached SLA target.", breached)

    def _background(self, head: int) -> Iterator[Metric]:
        states = self.services.lease("").states()
        seconds = self.services.settings.lease_seconds
        position = GaugeMetricFamily(
            "ledgerdesk_background_position", "The log position a background process has reached.", labels=["process"]
        )
        backlog = GaugeMetricFamily(
            "ledgerdesk_background_backlog_events",
            "Events recorded after the position a background process has reached.",
            labels=["process"],
        )
        renewed = GaugeMetricFamily(
            "ledgerdesk_background_last_run_timestamp_seconds",
            "When a background process last renewed its lease (it does at every batch), in Unix seconds.",
            labels=["process"],
        )
        held = GaugeMetricFamily(
            "ledgerdesk_background_running",
            "1 while some process holds the background process's lease, 0 when none does (nobody does that work).",
            labels=["process"],
        )
        now = time.time()
        for state in states:
            position.add_metric([state.name], state.position)
            backlog.add_metric([state.name], max(0, head - state.position))
            renewed.add_metric([state.name], max(0.0, state.until - seconds))
            held.add_metric([state.name], 1 if state.until > now else 0)
        yield from (position, backlog, renewed, held)

    def _waited(self, position: int, head: int) -> float:
        if head <= position:
            return 0.0
        desk = self.services.desk
        found = desk.recorder.select_notifications(start=position, limit=1, inclusive_of_start=False)
        if not found:
            return 0.0
        event: Any = desk.mapper.to_domain_event(found[0])
        recorded: datetime = event.timestamp
        return max(0.0, (datetime.now(UTC) - recorded).total_seconds())


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _exposition(services: Services) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(DatabaseCollector(services))
    return generate_latest(services.telemetry.scrape_registry()) + generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The metrics in Prometheus' text format (database reads in one thread-pool call)."""
    body = await run_in_threadpool(_exposition, request.app.state.services)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
