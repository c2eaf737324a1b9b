"""Liveness, readiness and the way in: they answer without authentication, so load balancers and newcomers can ask.

`/healthz` says the process serves requests (restart it if not); `/readyz` says it can serve
them well now: the database answers and the read models are close enough to the log's head
(`LEDGERDESK_READY_LAG_EVENTS`). A load balancer sends traffic only to ready processes.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response, status
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from infrastructure.composition import Services

log = logging.getLogger(__name__)

router = APIRouter(tags=["health"])


class Health(BaseModel):
    """The service is up."""

    status: str = "ok"


class Readiness(BaseModel):
    """Whether the process can serve requests well now, and why not."""

    ready: bool = Field(description="The database answers and the read models are within the allowed lag.")
    database: bool = Field(description="The database answered.")
    head: int | None = Field(default=None, description="The event log's last position.")
    read_model_position: int | None = Field(default=None, description="The position the read models have applied.")
    lag_events: int | None = Field(default=None, description="Events recorded and not yet applied.")
    max_lag_events: int = Field(description="The most events the read models may be behind (a setting).")


class Entry(BaseModel):
    """Where the API describes itself."""

    name: str = Field(default="ledgerdesk", description="The service.")
    docs: str = Field(default="/docs", description="The interactive API documentation (Swagger UI).")
    redoc: str = Field(default="/redoc", description="The same documentation as ReDoc.")
    openapi: str = Field(default="/openapi.json", description="The OpenAPI document.")
    health: str = Field(default="/healthz", description="Liveness.")
    ready: str = Field(default="/readyz", description="Readiness: the database and the read models' lag.")


@router.get("/", response_model=Entry)
def root() -> Entry:
    """Links to the API's documentation and schema, for whoever opens the bare address."""
    return Entry()


@router.get("/healthz", response_model=Health)
def healthz() -> Health:
    """The process is serving requests."""
    return Health()


@router.get(
    "/readyz",
    response_model=Readiness,
    responses={503: {"model": Readiness, "description": "Not ready: the database or the read models are behind."}},
)
async def readyz(request: Request, response: Response) -> Readiness:
    """Ready to serve: the database answers and the read models are within the configured lag (503 otherwise)."""
    services: Services = request.app.state.services
    answer = await run_in_threadpool(_readiness, services)
    if not answer.ready:
        response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
    return answer


def _readiness(services: Services) -> Readiness:
    allowed = services.settings.ready_lag_events
    try:
        head = services.read_models.head()
        position = services.read_models.position()
    except Exception:  # whatever the driver raises when the database is away: not ready, and why is logged
        log.warning("readiness: the database did not answer", exc_info=True)
        return Readiness(ready=False, database=False, max_lag_events=allowed)
    lag = max(0, head - position)
    return Readiness(
        ready=lag <= allowed,
        database=True,
        head=head,
        read_model_position=position,
        lag_events=lag,
        max_lag_events=allowed,
    )
