"""The projection's dead-letter list, for admins: events the read models could not apply, and their retry.

A tenant's admin sees and retries only the tenant's own parked tickets (and saved views, SLA
policies and calendars). Entries carry ids, positions, event types and error classes, never
personal data (projections/parking.py).
"""

from __future__ import annotations

from datetime import datetime
from uuid import UUID

from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field

from api.deps import PrincipalDep, ServicesDep
from api.problems import problem_responses
from infrastructure.composition import Services
from infrastructure.readmodels.worker import ProjectionWorker
from projections.parking.failure import ParkedEntry

router = APIRouter(prefix="/projections", tags=["projections"])


class ParkedPublic(BaseModel):
    """One parked aggregate: what failed, where, and how many of its events wait for a retry."""

    aggregate_id: UUID = Field(description="The ticket (or saved view, SLA policy or calendar) set aside.")
    position: int = Field(description="Log position of the event that could not be applied.")
    event_type: str
    stage: str = Field(description="`decode`, `fold` or `write`: where applying the event failed.")
    error_type: str
    reason: str = Field(description="What went wrong, without any of the event's values.")
    parked_at: datetime
    attempts: int = Field(description="1, plus one per retry that failed again.")
    skipped_events: int = Field(description="Events of the aggregate not applied yet (the failed one included).")

    @classmethod
    def from_entry(cls, entry: ParkedEntry) -> ParkedPublic:
        """The public form of a dead-letter entry."""
        return cls(
            aggregate_id=entry.aggregate_id,
            position=entry.position,
            event_type=entry.topic,
            stage=entry.stage,
            error_type=entry.error_type,
            reason=entry.reason,
            parked_at=entry.parked_at,
            attempts=entry.attempts,
            skipped_events=entry.skipped,
        )


class ParkedList(BaseModel):
    """The tenant's parked aggregates, oldest failure first."""

    items: list[ParkedPublic]


class RetryRequest(BaseModel):
    """Which parked aggregate to retry (all of the tenant's when absent)."""

    model_config = ConfigDict(extra="forbid")
    aggregate_id: UUID | None = None


class RetryResult(BaseModel):
    """What a retry did to one parked aggregate."""

    aggregate_id: UUID
    recovered: bool
    replayed_events: int
    error_type: str | None = Field(default=None, description="Why it stays parked, when it does.")
    reason: str | None = None


class RetryResults(BaseModel):
    """One result per parked aggregate retried."""

    items: list[RetryResult]


@router.get("/parked", response_model=ParkedList, responses=problem_responses(401, 403))
def list_parked(services: ServicesDep, principal: PrincipalDep) -> ParkedList:
    """Events of this tenant that the read models could not apply: their tickets' rows read as `stale`."""
    entries = services.read_models.active_view().parked(tenant=principal.tenant)
    return ParkedList(items=[ParkedPublic.from_entry(e) for e in entries])


@router.post("/parked/retry", response_model=RetryResults, responses=problem_responses(401, 403, 422))
def retry_parked(
    request: Request, services: ServicesDep, principal: PrincipalDep, body: RetryRequest | None = None
) -> RetryResults:
    """Replay the tenant's parked events (once their cause is fixed); those that fail again stay parked."""
    wanted = None if body is None else body.aggregate_id
    outcomes = _retrier(request, services).retry(wanted, tenant=principal.tenant)
    return RetryResults(
        items=[
            RetryResult(
                aggregate_id=o.aggregate_id,
                recovered=o.recovered,
                replayed_events=o.replayed,
                error_type=None if o.failure is None else o.failure.error_type,
                reason=None if o.failure is None else o.failure.reason,
            )
            for o in outcomes
        ]
    )


def _retrier(request: Request, services: Services) -> ProjectionWorker:
    """A worker to retry with: the process's own when it projects, else one kept for retries (never started)."""
    if services.worker is not None:
        return services.worker
    retrier: ProjectionWorker | None = getattr(request.app.state, "retrier", None)
    if retrier is None:
        retrier = request.app.state.retrier = ProjectionWorker(services.desk, services.read_models)
    return retrier
