"""Webhooks: a tenant's endpoints, their signing secrets (shown once) and their deliveries (docs/webhooks.md).

The endpoints are read from the tenant's registry itself (an aggregate), so a change is there the
moment its request answers; deliveries from their table beside the events.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Path, Query, Response, status

from api.automation_schemas import plain
from api.deps import ChannelDep, PrincipalDep, ServicesDep
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from api.webhook_schemas import (
    DeliveryList,
    DeliveryPublic,
    RotatedSecret,
    SecretRotation,
    WebhookCreate,
    WebhookCreated,
    WebhookList,
    WebhookPublic,
    WebhookUpdate,
)
from domain.pipeline import KEEP
from domain.webhooks.registry import Endpoint
from infrastructure.composition import Services
from infrastructure.webhooks.deliveries import PENDING, Delivery

router = APIRouter(prefix="/webhooks", tags=["webhooks"])

DeliveryId = Annotated[str, Path(pattern=r"^msg_[0-9a-f]{32}$", description="A delivery's id (its webhook-id).")]
POSITION_MAX = 2**63 - 1


@router.post(
    "", status_code=status.HTTP_201_CREATED, response_model=WebhookCreated, responses=problem_responses(401, 403, 422)
)
def create_webhook(
    body: WebhookCreate, services: ServicesDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> WebhookCreated:
    """Register an endpoint; the answer shows its signing secret, this once and never again.

    A URL that is not http(s), or that names a private, loopback, link-local or metadata address
    outright, is 422; where its host name resolves to is checked again at every delivery.
    """
    made = services.webhook_admin().register(
        tenant=principal.tenant,
        url=body.url,
        description=body.description,
        event_types=[str(kind) for kind in body.event_types],
        filter=plain(body.filter),
        by=principal.actor,
        via=via,
    )
    endpoint = made.receipt.endpoint
    response.headers["Location"] = f"/webhooks/{endpoint.id}"
    if made.receipt.position is not None:
        response.headers[POSITION_HEADER] = str(made.receipt.position)
    return WebhookCreated(**_fields(services, endpoint), secret=made.secret)


@router.get("", response_model=WebhookList, responses=problem_responses(401, 403))
def list_webhooks(services: ServicesDep, principal: PrincipalDep) -> WebhookList:
    """The tenant's endpoints, oldest first (never their secrets)."""
    return WebhookList(items=[_public(services, e) for e in services.desk.webhooks(principal.tenant)])


@router.get("/{webhook_id}", response_model=WebhookPublic, responses=problem_responses(401, 403, 404, 422))
def get_webhook(webhook_id: UUID, services: ServicesDep, principal: PrincipalDep) -> WebhookPublic:
    """One endpoint: whether it is enabled, and if not why (an admin, or failed deliveries); never its secret."""
    return _public(services, services.desk.webhook(principal.tenant, str(webhook_id)))


@router.patch("/{webhook_id}", response_model=WebhookPublic, responses=problem_responses(401, 403, 404, 422))
def update_webhook(
    webhook_id: UUID,
    body: WebhookUpdate,
    services: ServicesDep,
    principal: PrincipalDep,
    via: ChannelDep,
    response: Response,
) -> WebhookPublic:
    """Change what is given; `enabled: true` lets held-back deliveries go again, `false` holds them back."""
    given = body.model_fields_set
    receipt = services.webhook_admin().change(
        tenant=principal.tenant,
        endpoint_id=str(webhook_id),
        url=body.url if "url" in given and body.url is not None else KEEP,
        description=body.description if "description" in given and body.description is not None else KEEP,
        event_types=[str(k) for k in body.event_types] if "event_types" in given and body.event_types else KEEP,
        filter=plain(body.filter) if "filter" in given else KEEP,
        enabled=body.enabled if "enabled" in given and body.enabled is not None else KEEP,
        by=principal.actor,
        via=via,
    )
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return _public(services, receipt.endpoint)


@router.delete("/{webhook_id}", status_code=status.HTTP_204_NO_CONTENT, responses=problem_responses(401, 403, 404, 422))
def delete_webhook(webhook_id: UUID, services: ServicesDep, principal: PrincipalDep, via: ChannelDep) -> Response:
    """Delete an endpoint with its secrets and deliveries (its history stays on record)."""
    position = services.webhook_admin().delete(
        tenant=principal.tenant, endpoint_id=str(webhook_id), by=principal.actor, via=via
    )
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers={POSITION_HEADER: str(position)})


@router.post(
    "/{webhook_id}/rotate-secret", response_model=RotatedSecret, responses=problem_responses(401, 403, 404, 422)
)
def rotate_webhook_secret(
    webhook_id: UUID,
    services: ServicesDep,
    principal: PrincipalDep,
    via: ChannelDep,
    response: Response,
    body: Annotated[SecretRotation | None, Body()] = None,
) -> RotatedSecret:
    """A new signing secret, shown this once; the one in use still signs beside it for the grace period.

    Deliveries carry one signature per secret in use (`v1,... v1,...`), so a receiver verifies
    with either while it changes over.
    """
    rotated = services.webhook_admin().rotate_secret(
        tenant=principal.tenant,
        endpoint_id=str(webhook_id),
        grace_seconds=None if body is None else body.grace_seconds,
        by=principal.actor,
        via=via,
    )
    if rotated.receipt.position is not None:
        response.headers[POSITION_HEADER] = str(rotated.receipt.position)
    return RotatedSecret(secret=rotated.secret, webhook=_public(services, rotated.receipt.endpoint))


@router.get("/{webhook_id}/deliveries", response_model=DeliveryList, responses=problem_responses(401, 403, 404, 422))
def list_webhook_deliveries(
    webhook_id: UUID,
    services: ServicesDep,
    principal: PrincipalDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    before: Annotated[int | None, Query(ge=1, le=POSITION_MAX, description="Deliveries of earlier events.")] = None,
) -> DeliveryList:
    """The endpoint's deliveries, newest event first: status, attempts, last answer and latency, next retry."""
    found = services.webhook_admin().deliveries(
        tenant=principal.tenant, endpoint_id=str(webhook_id), limit=limit, before=before
    )
    next_before = found[-1].position if len(found) == limit else None
    return DeliveryList(items=[_delivery(d) for d in found], next_before=next_before)


@router.post(
    "/{webhook_id}/deliveries/{delivery_id}/redeliver",
    status_code=status.HTTP_202_ACCEPTED,
    response_model=DeliveryPublic,
    responses=problem_responses(401, 403, 404, 409, 422),
)
def redeliver_webhook_delivery(
    webhook_id: UUID, delivery_id: DeliveryId, services: ServicesDep, principal: PrincipalDep
) -> DeliveryPublic:
    """Attempt a delivery again now, with the same webhook-id (409 while the endpoint is disabled)."""
    again = services.webhook_admin().redeliver(
        tenant=principal.tenant, endpoint_id=str(webhook_id), delivery_id=delivery_id
    )
    return _delivery(again)


def _public(services: Services, endpoint: Endpoint) -> WebhookPublic:
    return WebhookPublic(**_fields(services, endpoint))


def _fields(services: Services, endpoint: Endpoint) -> dict[str, Any]:
    return {
        "id": endpoint.id,
        "url": endpoint.url,
        "description": endpoint.description,
        "event_types": list(endpoint.selection.event_types),
        "filter": endpoint.filter_form,
        "enabled": endpoint.enabled,
        "disabled_reason": endpoint.disabled_reason,
        "disabled_at": endpoint.disabled_at,
        "consecutive_failures": services.webhook_admin().failures(endpoint),
        "created_at": endpoint.created_at,
        "updated_at": endpoint.updated_at,
        "secret_rotated_at": endpoint.secret_rotated_at,
        "previous_secret_valid_until": endpoint.previous_secret_until,
    }


def _delivery(delivery: Delivery) -> DeliveryPublic:
    return DeliveryPublic(
        id=delivery.id,
        event_position=delivery.position,
        event_type=delivery.event_type,
        aggregate_id=delivery.aggregate_id,
        status=delivery.status,
        attempts=delivery.attempts,
        response_status=delivery.response_status,
        latency_ms=delivery.latency_ms,
        last_error=delivery.last_error,
        next_attempt_at=_moment(delivery.next_attempt_at) if delivery.status == PENDING else None,
        created_at=_moment(delivery.created_at),
        last_attempt_at=_moment(delivery.last_attempt_at),
        delivered_at=_moment(delivery.delivered_at),
    )


def _moment(seconds: float | None) -> Any:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
