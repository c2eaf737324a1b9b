"""Prometheus metrics of the read models, read from the database on each scrape.

Figures come from the database, not from this process's memory, so every API process (and the
projection worker's) answers the same. They name no tenant and carry no personal data: the
dead-letter list's size, how far the read models are and how far behind the log's head.
Answers without authentication, like /healthz, for scrapers on the private network.
"""

from __future__ import annotations

from collections.abc import Iterator

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector
from starlette.concurrency import run_in_threadpool

from infrastructure.readmodels.store import ReadModels

router = APIRouter(tags=["metrics"])


class ReadModelCollector(Collector):
    """Collects the read models' figures from the database when scraped."""

    def __init__(self, read_models: ReadModels) -> None:
        self.read_models = read_models

    def collect(self) -> Iterator[Metric]:
        """The figures, read now."""
        view = self.read_models.view(self.read_models.active_generation(fresh=True))
        parked = view.parked()
        position = view.max_tracking_id(self.read_models.desk.name) or 0
        head = self.read_models.head()
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


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=value)


def _exposition(read_models: ReadModels) -> bytes:
    registry = CollectorRegistry(auto_describe=False)
    registry.register(ReadModelCollector(read_models))
    return generate_latest(registry)


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    """The metrics in Prometheus' text format (database reads in one thread-pool call)."""
    body = await run_in_threadpool(_exposition, request.app.state.services.read_models)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
