"""The FastAPI application factory. Services are built in the lifespan, i.e. per worker process."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import Depends, FastAPI

from api.authorization import authorize
from api.docs_pages import install_docs
from api.hardening import install_hardening
from api.head_requests import HeadAsGetMiddleware
from api.idempotency import IdempotencyMiddleware
from api.openapi import install_openapi
from api.problems import install_problem_handlers
from api.request_record import RequestRecordMiddleware
from api.routers import (
    agents,
    attachments,
    audit,
    audit_queues,
    automation,
    bulk,
    customers,
    directory,
    events,
    exports,
    fields,
    health,
    keys,
    knowledge,
    listing,
    mailboxes,
    me,
    metrics,
    notifications,
    privacy,
    projections,
    reports,
    schedules,
    sla,
    suggestions,
    ticket_articles,
    tickets,
    users,
    views,
    webhooks,
    workflows,
)
from api.web.routes import install_web
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings

DESCRIPTION = """
An event-sourced help desk. Every change to a ticket is recorded as an immutable event with
who did it, when, through which channel, and the old and new values.

* Authenticate with `Authorization: Bearer <key>` (keys: `ledgerdesk keys create`).
* Optimistic concurrency: every ticket response has an `ETag`; send it back as `If-Match`
  to get `412` instead of overwriting a change you have not seen. Without it, a command that
  races another on the same ticket is carried out again by the server on the winner's version:
  you are never asked to retry what the server can.
* Errors are RFC 9457 `application/problem+json`.
"""


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """Build the API. Pass `services` to share already-built ones (tests); else they are built from settings."""
    config = services.settings if services is not None else settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = services is None
        app.state.services = built = services or build_services(config)
        if owned and built.projections_in_process():
            # Every background process beside the read models; on PostgreSQL `ledgerdesk worker` runs them.
            for start in built.background().values():
                start()
        try:
            yield
        finally:
            if owned:
                built.close()

    app = FastAPI(
        title="ledgerdesk", version="0.1.0", description=DESCRIPTION, lifespan=lifespan, docs_url=None, redoc_url=None
    )
    install_docs(app)  # /docs and /redoc, their assets served from here, not from a CDN
    install_problem_handlers(app)
    install_openapi(app)
    app.add_middleware(IdempotencyMiddleware)
    # Outside idempotency: a replayed answer carries its own request's ids, and is counted as answered.
    app.add_middleware(RequestRecordMiddleware, log_requests=config.log_format == "json")
    # The web pages first: `/` is a browser's landing page, and the JSON entry for every other client.
    install_web(app, config)
    app.include_router(health.router)
    app.include_router(metrics.router)  # no tenant and no personal data in it: for scrapers, like /healthz
    app.include_router(bulk.wrong_methods)  # before /tickets/{ticket_id}, which would take the path otherwise
    # Every other route passes the authorization matrix (api/authorization.py).
    routers = (listing, tickets, workflows, views, fields, agents, events, audit, audit_queues, privacy, sla)
    for module in (
        *routers,
        reports,
        exports,
        projections,
        me,
        bulk,
        directory,
        automation,
        webhooks,
        schedules,
        mailboxes,
        attachments,
        notifications,
        users,
        knowledge,
        ticket_articles,
        keys,
        suggestions,
        customers,
    ):
        app.include_router(module.router, dependencies=[Depends(authorize)])
    install_hardening(app, config)
    app.add_middleware(HeadAsGetMiddleware)  # outermost: every layer below sees the GET it stands for
    return app
