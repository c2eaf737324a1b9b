"""A tenant's webhook endpoints: registered, changed, disabled (by an admin, or after failing deliveries), deleted.

One registry per tenant (its id follows from the tenant), so the webhook process reads every
endpoint of a tenant in one load. Every change is an event with who made it, so an admin's
changes and the process's disabling are on record. The signing secrets never are: they live
beside the events (infrastructure/webhooks/secrets.py); the registry records only that a secret
was rotated, and until when the previous one still signs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError, NotFoundError
from domain.provenance import FROM_CONTEXT, Recorded, TenantOwned
from domain.webhooks.selection import Selection, event_filter, event_types
from domain.webhooks.urls import webhook_url

_REGISTRIES = uuid.UUID("3f6d2a8e-5b1c-4e7f-9a0d-8c2b4e6f1a53")
ENDPOINTS_MAX = 50
DESCRIPTION_MAX = 200


@dataclass(frozen=True, slots=True)
class Endpoint:
    """One endpoint as it now stands."""

    id: str
    url: str
    description: str
    selection: Selection
    filter_form: dict[str, Any] | None  # the filter as defined (JSON)
    enabled: bool
    disabled_reason: str | None  # why it is disabled: by whom, or after which failures
    disabled_at: datetime | None
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None
    previous_secret_until: datetime | None  # until when the secret before the last rotation still signs


class WebhookRegistry(TenantOwned):
    """Every webhook endpoint of a tenant, as it now stands (earlier definitions are in the events)."""

    class Event(TenantOwned.Event):
        """Base of registry events: whose registry, who changed it, and how."""

    class Started(Event, Recorded.Created):
        """The tenant's first endpoint is about to be registered."""

    class EndpointRegistered(Event):
        endpoint_id: str
        url: str
        description: str
        event_types: list[str]
        filter: dict[str, Any] | None

    class EndpointChanged(Event):
        """The endpoint's whole new definition."""

        endpoint_id: str
        url: str
        description: str
        event_types: list[str]
        filter: dict[str, Any] | None

    class EndpointDisabled(Event):
        """No more deliveries go to the endpoint until it is enabled again; `reason` says why."""

        endpoint_id: str
        reason: str
        failures: int | None  # the consecutive failed deliveries that disabled it, or None (an admin did)

    class EndpointEnabled(Event):
        endpoint_id: str

    class SecretRotated(Event):
        """A new signing secret; the one before still signs (beside it) until `previous_until`."""

        endpoint_id: str
        previous_until: datetime

    class EndpointDeleted(Event):
        endpoint_id: str

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's registry."""
        return uuid.uuid5(_REGISTRIES, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> WebhookRegistry:
        """A new, empty registry for the tenant."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant
        self.endpoints: dict[str, dict[str, Any]] = {}  # endpoint id -> its fields as they now stand

    # --- definitions -------------------------------------------------------------------------------

    def register(
        self,
        endpoint_id: str,
        *,
        url: str,
        description: str,
        types: Iterable[Any],
        filter: Mapping[str, Any] | None,  # noqa: A002  # the API's name
    ) -> None:
        """Register a new endpoint (enabled), or InvalidValueError / InvalidRuleError naming what is wrong."""
        if endpoint_id in self.endpoints:
            msg = f"webhook {endpoint_id} exists already"
            raise InvalidValueError(msg)
        if len(self.endpoints) >= ENDPOINTS_MAX:
            msg = f"a tenant may have at most {ENDPOINTS_MAX} webhook endpoints"
            raise InvalidValueError(msg)
        self._registered(endpoint_id=endpoint_id, **_definition(url, description, types, filter))

    @event(EndpointRegistered)
    def _registered(
        self,
        timestamp: datetime = FROM_CONTEXT,
        *,
        endpoint_id: str,
        url: str,
        description: str,
        event_types: list[str],
        filter: dict[str, Any] | None,  # noqa: A002
    ) -> None:
        fields = {"url": url, "description": description, "event_types": event_types, "filter": filter}
        self.endpoints = {
            **self.endpoints,
            endpoint_id: {
                **fields,
                "enabled": True,
                "disabled_reason": None,
                "disabled_at": None,
                "created_at": timestamp,
                "updated_at": timestamp,
                "secret_rotated_at": None,
                "previous_secret_until": None,
            },
        }

    def change(
        self,
        endpoint_id: str,
        *,
        url: str,
        description: str,
        types: Iterable[Any],
        filter: Mapping[str, Any] | None,  # noqa: A002
    ) -> None:
        """Change an endpoint's definition; the same definition records nothing."""
        found = self._found(endpoint_id)
        definition = _definition(url, description, types, filter)
        if {name: found[name] for name in definition} != definition:
            self._changed(endpoint_id=endpoint_id, **definition)

    @event(EndpointChanged)
    def _changed(
        self,
        timestamp: datetime = FROM_CONTEXT,
        *,
        endpoint_id: str,
        url: str,
        description: str,
        event_types: list[str],
        filter: dict[str, Any] | None,  # noqa: A002
    ) -> None:
        fields = {"url": url, "description": description, "event_types": event_types, "filter": filter}
        self._update(endpoint_id, **fields, updated_at=timestamp)

    def disable(self, endpoint_id: str, *, reason: str, failures: int | None = None) -> None:
        """Stop deliveries to the endpoint, saying why; a disabled endpoint records nothing."""
        if self._found(endpoint_id)["enabled"]:
            self._disabled(endpoint_id=endpoint_id, reason=values.text(reason, "reason"), failures=failures)

    @event(EndpointDisabled)
    def _disabled(
        self, timestamp: datetime = FROM_CONTEXT, *, endpoint_id: str, reason: str, failures: int | None
    ) -> None:
        self._update(endpoint_id, enabled=False, disabled_reason=reason, disabled_at=timestamp, updated_at=timestamp)

    def enable(self, endpoint_id: str) -> None:
        """Let deliveries go to the endpoint again; an enabled endpoint records nothing."""
        if not self._found(endpoint_id)["enabled"]:
            self._enabled(endpoint_id=endpoint_id)

    @event(EndpointEnabled)
    def _enabled(self, timestamp: datetime = FROM_CONTEXT, *, endpoint_id: str) -> None:
        self._update(endpoint_id, enabled=True, disabled_reason=None, disabled_at=None, updated_at=timestamp)

    def rotate_secret(self, endpoint_id: str, *, previous_until: datetime) -> None:
        """Record that the endpoint's secret was rotated; the previous one signs too until `previous_until`."""
        self._found(endpoint_id)
        self._rotated(endpoint_id=endpoint_id, previous_until=previous_until)

    @event(SecretRotated)
    def _rotated(self, timestamp: datetime = FROM_CONTEXT, *, endpoint_id: str, previous_until: datetime) -> None:
        self._update(endpoint_id, secret_rotated_at=timestamp, previous_secret_until=previous_until)

    def delete(self, endpoint_id: str) -> None:
        """Remove the endpoint (its events stay on record)."""
        self._found(endpoint_id)
        self._deleted(endpoint_id=endpoint_id)

    @event(EndpointDeleted)
    def _deleted(self, *, endpoint_id: str) -> None:
        self.endpoints = {k: v for k, v in self.endpoints.items() if k != endpoint_id}

    # --- queries -----------------------------------------------------------------------------------

    def endpoint(self, endpoint_id: str) -> Endpoint | None:
        """An endpoint as it now stands, or None."""
        found = self.endpoints.get(endpoint_id)
        return None if found is None else _endpoint(endpoint_id, found)

    def listed(self) -> list[Endpoint]:
        """Every endpoint, oldest first."""
        ordered = sorted(self.endpoints.items(), key=lambda item: (item[1]["created_at"], item[0]))
        return [_endpoint(endpoint_id, found) for endpoint_id, found in ordered]

    def _found(self, endpoint_id: str) -> dict[str, Any]:
        found = self.endpoints.get(endpoint_id)
        if found is None:
            msg = f"no webhook {endpoint_id}"
            raise NotFoundError(msg)
        return found

    def _update(self, endpoint_id: str, **fields: Any) -> None:
        self.endpoints = {**self.endpoints, endpoint_id: {**self.endpoints[endpoint_id], **fields}}


def _definition(
    url: str,
    description: str,
    types: Iterable[Any],
    filter: Mapping[str, Any] | None,  # noqa: A002
) -> dict[str, Any]:
    checked = webhook_url(url)
    said = values.text(description, "description", allow_blank=True)
    if len(said) > DESCRIPTION_MAX:
        msg = f"description must be at most {DESCRIPTION_MAX} characters"
        raise InvalidValueError(msg)
    parsed = event_filter(filter)
    return {
        "url": checked,
        "description": said,
        "event_types": list(event_types(types)),
        "filter": None if parsed is None else parsed.as_dict(),
    }


def _endpoint(endpoint_id: str, found: Mapping[str, Any]) -> Endpoint:
    return Endpoint(
        id=endpoint_id,
        url=found["url"],
        description=found["description"],
        selection=Selection(tuple(found["event_types"]), event_filter(found["filter"])),
        filter_form=found["filter"],
        enabled=found["enabled"],
        disabled_reason=found["disabled_reason"],
        disabled_at=found["disabled_at"],
        created_at=found["created_at"],
        updated_at=found["updated_at"],
        secret_rotated_at=found["secret_rotated_at"],
        previous_secret_until=found["previous_secret_until"],
    )
