"""Webhook commands: register, change, enable, disable, rotate and delete a tenant's endpoints; read them.

Each is an ordinary command on the tenant's registry (domain/webhooks/registry.py), so every
change names who made it. The webhook process disables an endpoint as actor `webhooks` via
`webhook` after too many failed deliveries in a row: the reason is on record, never silent.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack
from uuid import UUID

from domain.actors import Actor, ActorKind
from domain.errors import NotFoundError
from domain.pipeline import Acting, CommandPipeline, Keep
from domain.races import retried
from domain.webhooks.registry import Endpoint, WebhookRegistry

#: Who the webhook process acts as, and its channel.
WEBHOOK_ACTOR = Actor("webhooks", ActorKind.SYSTEM)
WEBHOOK_CHANNEL = "webhook"


@dataclass(frozen=True, slots=True)
class WebhookReceipt:
    """An endpoint as now recorded, and the log position of the last event recorded (None: nothing changed)."""

    endpoint: Endpoint
    position: int | None


class WebhookCommands(CommandPipeline):
    """The commands and queries of a tenant's webhook endpoints (their secrets are infrastructure's)."""

    @retried
    def register_webhook(
        self,
        *,
        tenant: str,
        endpoint_id: str,
        url: str,
        description: str,
        event_types: Iterable[Any],
        filter: Mapping[str, Any] | None,  # noqa: A002  # the API's name
        **how: Unpack[Acting],
    ) -> WebhookReceipt:
        """Register an endpoint under a new id; InvalidValueError (or InvalidRuleError) says what is wrong."""
        with self._acting(tenant=tenant, **how):
            registry = self.webhook_registry(tenant) or WebhookRegistry.start(tenant=tenant)
            registry.register(endpoint_id, url=url, description=description, types=event_types, filter=filter)
        return self._commit_registry(registry, endpoint_id)

    @retried
    def change_webhook(
        self,
        *,
        tenant: str,
        endpoint_id: str,
        url: str | Keep,
        description: str | Keep,
        event_types: Iterable[Any] | Keep,
        filter: Mapping[str, Any] | Keep | None,  # noqa: A002
        enabled: bool | Keep,
        **how: Unpack[Acting],
    ) -> WebhookReceipt:
        """Change what is given of an endpoint (Keep: as it is); what is already so records nothing."""
        registry, endpoint = self._registry_with(tenant, endpoint_id)
        with self._acting(tenant=tenant, **how):
            registry.change(
                endpoint_id,
                url=endpoint.url if isinstance(url, Keep) else url,
                description=endpoint.description if isinstance(description, Keep) else description,
                types=endpoint.selection.event_types if isinstance(event_types, Keep) else event_types,
                filter=endpoint.filter_form if isinstance(filter, Keep) else filter,
            )
            if enabled is True:
                registry.enable(endpoint_id)
            elif enabled is False:
                registry.disable(endpoint_id, reason=f"disabled by {how['by'].id}")
        return self._commit_registry(registry, endpoint_id)

    @retried
    def disable_failing_webhook(self, *, tenant: str, endpoint_id: str, failures: int, last: str) -> WebhookReceipt:
        """Disable an endpoint whose last `failures` deliveries failed (as the webhook process), saying so."""
        registry, _ = self._registry_with(tenant, endpoint_id)
        reason = f"{failures} consecutive failed deliveries; the last: {last}"[:1000]
        with self._acting(WEBHOOK_ACTOR, WEBHOOK_CHANNEL, tenant=tenant):
            registry.disable(endpoint_id, reason=reason, failures=failures)
        return self._commit_registry(registry, endpoint_id)

    @retried
    def record_webhook_secret_rotated(
        self, *, tenant: str, endpoint_id: str, previous_until: datetime, **how: Unpack[Acting]
    ) -> WebhookReceipt:
        """Put a secret's rotation on record (never the secret): the previous one signs until `previous_until`."""
        registry, _ = self._registry_with(tenant, endpoint_id)
        with self._acting(tenant=tenant, **how):
            registry.rotate_secret(endpoint_id, previous_until=previous_until)
        return self._commit_registry(registry, endpoint_id)

    @retried
    def delete_webhook(self, *, tenant: str, endpoint_id: str, **how: Unpack[Acting]) -> int:
        """Delete an endpoint; the log position of the deletion."""
        registry, _ = self._registry_with(tenant, endpoint_id)
        with self._acting(tenant=tenant, **how):
            registry.delete(endpoint_id)
        return int(self.save(registry)[-1].notification.id)

    # --- queries -----------------------------------------------------------------------------------

    def webhook_registry(self, tenant: str) -> WebhookRegistry | None:
        """The tenant's registry (None: it never had an endpoint)."""
        return self._configured(WebhookRegistry, WebhookRegistry.create_id(tenant))

    def webhook(self, tenant: str, endpoint_id: str) -> Endpoint:
        """One endpoint of the tenant, or NotFoundError (another tenant's is not found either)."""
        return self._registry_with(tenant, endpoint_id)[1]

    def webhooks(self, tenant: str) -> list[Endpoint]:
        """The tenant's endpoints, oldest first."""
        registry = self.webhook_registry(tenant)
        return [] if registry is None else registry.listed()

    def _registry_with(self, tenant: str, endpoint_id: str) -> tuple[WebhookRegistry, Endpoint]:
        registry = self.webhook_registry(tenant)
        endpoint = None if registry is None else registry.endpoint(_endpoint_id(endpoint_id))
        if registry is None or endpoint is None:
            msg = f"no webhook {endpoint_id}"
            raise NotFoundError(msg)
        return registry, endpoint

    def _commit_registry(self, registry: WebhookRegistry, endpoint_id: str) -> WebhookReceipt:
        recordings = self.save(registry)
        endpoint = registry.endpoint(endpoint_id)
        assert endpoint is not None  # the command just recorded it
        return WebhookReceipt(endpoint, recordings[-1].notification.id if recordings else None)


def _endpoint_id(value: str) -> str:
    """An endpoint id in its one written form (a UUID), so `ABC...` and `abc...` are one endpoint."""
    try:
        return str(UUID(value))
    except (ValueError, TypeError, AttributeError):
        return value  # not found, as any other unknown id
