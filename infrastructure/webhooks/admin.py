"""What an admin does with webhooks: the registry's commands, with the secrets and deliveries that go with them.

The API calls this (api/routers/webhooks.py) as it calls `Services.issue_key` for API keys: the
application records the change, and the tables beside the events take the secret or the
deliveries' new state. A command the registry refuses stores nothing; a secret is stored only
once its endpoint is on record, and shown to the caller once.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Unpack

from domain.errors import DisabledError, NotFoundError
from domain.helpdesk import HelpDesk
from domain.pipeline import KEEP, Acting, Keep
from domain.webhooks.commands import WebhookReceipt
from domain.webhooks.registry import Endpoint
from domain.webhooks.urls import webhook_url
from infrastructure.webhooks.addresses import AddressPolicy
from infrastructure.webhooks.deliveries import Delivery
from infrastructure.webhooks.signing import new_secret
from infrastructure.webhooks.store import WebhookStore


@dataclass(frozen=True, slots=True)
class WithSecret:
    """An endpoint as recorded and its new signing secret (shown this once)."""

    receipt: WebhookReceipt
    secret: str


class WebhookAdmin:
    """Registers, changes, rotates and deletes endpoints; lists and redelivers their deliveries."""

    def __init__(
        self,
        desk: HelpDesk,
        store: WebhookStore,
        policy: AddressPolicy,
        *,
        grace_seconds: float,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.desk = desk
        self.store = store
        self.policy = policy
        self.grace_seconds = grace_seconds
        self.clock = clock

    def register(
        self,
        *,
        tenant: str,
        url: str,
        description: str,
        event_types: Iterable[Any],
        filter: Mapping[str, Any] | None,  # noqa: A002  # the API's name
        **how: Unpack[Acting],
    ) -> WithSecret:
        """Register an endpoint with a new secret; InvalidValueError for a URL it may not call."""
        self.policy.check_url(webhook_url(url))
        endpoint_id = str(uuid.uuid4())
        receipt = self.desk.register_webhook(
            tenant=tenant,
            endpoint_id=endpoint_id,
            url=url,
            description=description,
            event_types=event_types,
            filter=filter,
            **how,
        )
        secret = new_secret()
        self.store.secrets.add(endpoint_id, secret, now=self.clock())
        return WithSecret(receipt, secret)

    def change(
        self,
        *,
        tenant: str,
        endpoint_id: str,
        url: str | Keep = KEEP,
        description: str | Keep = KEEP,
        event_types: Iterable[Any] | Keep = KEEP,
        filter: Mapping[str, Any] | Keep | None = KEEP,  # noqa: A002
        enabled: bool | Keep = KEEP,
        **how: Unpack[Acting],
    ) -> WebhookReceipt:
        """Change what is given; enabling again lets held-back deliveries go, disabling holds them back."""
        if not isinstance(url, Keep):
            self.policy.check_url(webhook_url(url))
        was = self.desk.webhook(tenant, endpoint_id)
        receipt = self.desk.change_webhook(
            tenant=tenant,
            endpoint_id=endpoint_id,
            url=url,
            description=description,
            event_types=event_types,
            filter=filter,
            enabled=enabled,
            **how,
        )
        now_enabled = receipt.endpoint.enabled
        if now_enabled and not was.enabled:
            self.store.health.reset(receipt.endpoint.id)
            self.store.deliveries.resume(receipt.endpoint.id, now=self.clock())
        elif was.enabled and not now_enabled:
            self.store.deliveries.pause(receipt.endpoint.id)
        return receipt

    def rotate_secret(
        self, *, tenant: str, endpoint_id: str, grace_seconds: float | None = None, **how: Unpack[Acting]
    ) -> WithSecret:
        """A new secret; the ones in use still sign beside it for the grace period (the setting's, or given)."""
        grace = self.grace_seconds if grace_seconds is None else grace_seconds
        endpoint = self.desk.webhook(tenant, endpoint_id)
        receipt = self.desk.record_webhook_secret_rotated(
            tenant=tenant, endpoint_id=endpoint.id, previous_until=self.desk.clock() + timedelta(seconds=grace), **how
        )
        secret = new_secret()
        now = self.clock()
        self.store.secrets.rotate(endpoint.id, secret, now=now, previous_until=now + grace)
        return WithSecret(receipt, secret)

    def delete(self, *, tenant: str, endpoint_id: str, **how: Unpack[Acting]) -> int:
        """Delete an endpoint with its secrets and deliveries; the log position of the deletion."""
        endpoint = self.desk.webhook(tenant, endpoint_id)
        position = self.desk.delete_webhook(tenant=tenant, endpoint_id=endpoint.id, **how)
        self.store.secrets.forget(endpoint.id)
        self.store.deliveries.forget(endpoint.id)
        self.store.health.reset(endpoint.id)
        return position

    def failures(self, endpoint: Endpoint) -> int:
        """The endpoint's failed attempts in a row now."""
        return self.store.health.failures(endpoint.id)

    def deliveries(self, *, tenant: str, endpoint_id: str, limit: int, before: int | None) -> list[Delivery]:
        """An endpoint's deliveries, newest event first."""
        endpoint = self.desk.webhook(tenant, endpoint_id)
        return self.store.deliveries.of_endpoint(endpoint.id, limit=limit, before=before)

    def redeliver(self, *, tenant: str, endpoint_id: str, delivery_id: str) -> Delivery:
        """Attempt a delivery again now, with its id (DisabledError while its endpoint is disabled)."""
        endpoint = self.desk.webhook(tenant, endpoint_id)
        if not endpoint.enabled:
            msg = f"webhook {endpoint.id} is disabled ({endpoint.disabled_reason}); enable it first"
            raise DisabledError(msg)
        found = self.store.deliveries.redeliver(endpoint.id, delivery_id, now=self.clock())
        if found is None:
            msg = f"no delivery {delivery_id} of webhook {endpoint.id}"
            raise NotFoundError(msg)
        return found
