"""The admins' "Webhooks" page: the tenant's endpoints, a form to add or change one, and each one's delivery log.

The same commands as `/webhooks` (api/routers/webhooks.py), checked by the same schemas
(api/webhook_schemas.py): registering shows the signing secret this once, on the page the form answers
with (never in an address, never again); disabling holds deliveries back and enabling lets them go; a
delivery is attempted again with its own webhook-id by the Redeliver button. Filters stay the API's.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Depends, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.routers.webhooks import DeliveryId
from api.web.admin_forms import admits, field, listed, readable
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from api.webhook_schemas import WebhookCreate, WebhookUpdate
from domain.errors import DisabledError, InvalidValueError, NotFoundError
from domain.pipeline import KEEP
from domain.webhooks.registry import Endpoint
from infrastructure.composition import Services
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/webhooks"
ACTIONS = ("create_webhook", "list_webhooks", "update_webhook", "list_webhook_deliveries", "redeliver_webhook_delivery")
#: How many of an endpoint's latest deliveries its page lists.
DELIVERIES_SHOWN = 50
WORDS = {"url": "URL", "event_types": "event types"}

EndpointId = Annotated[str, Path(max_length=64)]


@router.get(PAGE, response_class=HTMLResponse)
async def webhooks_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The tenant's endpoints, oldest first, and the form to add one."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    return await _list_page(request, visitor, principal, services)


@router.post(PAGE, response_class=HTMLResponse)
async def add_webhook(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """Register an endpoint; its page answers, showing the signing secret this once."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    typed = _typed(await request.form())
    try:
        body = WebhookCreate.model_validate(_body(typed))
        made = await run_in_threadpool(
            lambda: services.webhook_admin().register(
                tenant=principal.tenant,
                url=body.url,
                description=body.description,
                event_types=[str(kind) for kind in body.event_types],
                filter=None,
                by=principal.actor,
                via=WEB,
            )
        )
    except ValidationError as invalid:
        return await _list_page(request, visitor, principal, services, typed, readable(invalid, WORDS), 422)
    except InvalidValueError as refused:
        return await _list_page(request, visitor, principal, services, typed, str(refused), 422)
    return await _endpoint_page(request, visitor, principal, services, made.receipt.endpoint, secret=made.secret)


@router.get(PAGE + "/{endpoint_id}", response_class=HTMLResponse)
async def endpoint_page(
    request: Request, endpoint_id: EndpointId, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """One endpoint: its form, whether it is enabled (and if not why), and its latest deliveries."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    endpoint = await _endpoint(services, principal, endpoint_id)
    if endpoint is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    return await _endpoint_page(request, visitor, principal, services, endpoint)


@router.post(PAGE + "/{endpoint_id}", response_class=HTMLResponse)
async def change_webhook(
    request: Request, endpoint_id: EndpointId, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Change the endpoint's address, description and event types; a refusal comes back as typed, with why."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    endpoint = await _endpoint(services, principal, endpoint_id)
    if endpoint is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    typed = _typed(await request.form())
    try:
        body = WebhookUpdate.model_validate(_body(typed))
        await run_in_threadpool(
            lambda: services.webhook_admin().change(
                tenant=principal.tenant,
                endpoint_id=endpoint.id,
                url=body.url or KEEP,
                description=body.description if body.description is not None else KEEP,
                event_types=[str(k) for k in body.event_types] if body.event_types else KEEP,
                by=principal.actor,
                via=WEB,
            )
        )
    except ValidationError as invalid:
        refusal = readable(invalid, WORDS)
        return await _endpoint_page(request, visitor, principal, services, endpoint, typed=typed, refusal=refusal)
    except InvalidValueError as refused:
        return await _endpoint_page(request, visitor, principal, services, endpoint, typed=typed, refusal=str(refused))
    return RedirectResponse(f"{PAGE}/{endpoint.id}?said=changed", status_code=303)


@router.post(PAGE + "/{endpoint_id}/enabled", response_class=HTMLResponse)
async def switch_webhook(
    request: Request, endpoint_id: EndpointId, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Disable the endpoint (its deliveries wait) or enable it again (they go)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    endpoint = await _endpoint(services, principal, endpoint_id)
    if endpoint is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    enabled = field(await request.form(), "enabled") == "true"
    await run_in_threadpool(
        lambda: services.webhook_admin().change(
            tenant=principal.tenant, endpoint_id=endpoint.id, enabled=enabled, by=principal.actor, via=WEB
        )
    )
    return RedirectResponse(f"{PAGE}/{endpoint.id}?said={'enabled' if enabled else 'disabled'}", status_code=303)


@router.post(PAGE + "/{endpoint_id}/deliveries/{delivery_id}/redeliver", response_class=HTMLResponse)
async def redeliver(
    request: Request,
    endpoint_id: EndpointId,
    delivery_id: DeliveryId,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
) -> Response:
    """Attempt the delivery again now, with its own webhook-id; refused while the endpoint is disabled."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    endpoint = await _endpoint(services, principal, endpoint_id)
    if endpoint is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    try:
        await run_in_threadpool(
            lambda: services.webhook_admin().redeliver(
                tenant=principal.tenant, endpoint_id=endpoint.id, delivery_id=delivery_id
            )
        )
    except DisabledError as refused:
        return await _endpoint_page(request, visitor, principal, services, endpoint, refusal=str(refused), status=409)
    except NotFoundError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    return RedirectResponse(f"{PAGE}/{endpoint.id}?said=redelivered", status_code=303)


async def _endpoint(services: Services, principal: Principal, endpoint_id: str) -> Endpoint | None:
    """The tenant's endpoint of this id, or None (another tenant's is none of this one's)."""
    try:
        UUID(endpoint_id)
        found: Endpoint = await run_in_threadpool(services.desk.webhook, principal.tenant, endpoint_id)
    except (ValueError, NotFoundError):
        return None
    return found


def _typed(form: Any) -> dict[str, str]:
    return {key: field(form, key) for key in ("url", "description", "event_types")}


def _body(typed: dict[str, str]) -> dict[str, Any]:
    return {"url": typed["url"], "description": typed["description"], "event_types": listed(typed["event_types"])}


async def _list_page(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    typed: dict[str, str] | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    admin = services.webhook_admin()
    endpoints = await run_in_threadpool(services.desk.webhooks, principal.tenant)
    shown = [(e, admin.failures(e)) for e in endpoints]
    return render(
        request,
        visitor,
        "admin_webhooks.html",
        status,
        endpoints=shown,
        typed=typed or {"event_types": "Ticket.*"},
        refusal=refusal,
    )


async def _endpoint_page(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    endpoint: Endpoint,
    *,
    secret: str | None = None,
    typed: dict[str, str] | None = None,
    refusal: str | None = None,
    status: int | None = None,
) -> Response:
    admin = services.webhook_admin()
    deliveries = await run_in_threadpool(
        lambda: admin.deliveries(tenant=principal.tenant, endpoint_id=endpoint.id, limit=DELIVERIES_SHOWN, before=None)
    )
    shown = typed or {
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": ", ".join(endpoint.selection.event_types),
    }
    return render(
        request,
        visitor,
        "admin_webhook.html",
        status or (422 if refusal else 200),
        endpoint=endpoint,
        failures=admin.failures(endpoint),
        deliveries=deliveries,
        secret=secret,
        typed=shown,
        refusal=refusal,
        said=request.query_params.get("said"),
        moment=_moment,
    )


def _moment(seconds: float | None) -> Any:
    """A delivery's moment (seconds since the epoch) as a datetime for `when`."""
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
