"""The bodies of webhook endpoints and their deliveries."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import Annotated
from uuid import UUID

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.automation_schemas import AllIn, AnyIn
from api.plain_text import DocumentedPattern, PlainText
from api.read_schemas import JsonInt
from domain.webhooks.registry import DESCRIPTION_MAX
from domain.webhooks.selection import EVENT_TYPES, EVENT_TYPES_MAX, EVERY_EVENT, EVERY_TICKET_EVENT
from domain.webhooks.urls import URL_MAX, URL_PATTERN

Url = Annotated[
    PlainText,
    DocumentedPattern(URL_PATTERN),
    Field(min_length=1, max_length=URL_MAX, examples=["https://hooks.example.com/ledgerdesk"]),
]
EventType = StrEnum(  # type: ignore[misc]
    "EventType",
    {
        name.replace(".", "_").replace("*", "ALL").upper(): name
        for name in (EVERY_EVENT, EVERY_TICKET_EVENT, *EVENT_TYPES)
    },
)
EventTypes = Annotated[
    list[EventType],
    Field(
        min_length=1,
        max_length=EVENT_TYPES_MAX,
        description="Event types as the feed names them (Ticket.Opened, Ticket.CommentAdded, SavedView.Created, "
        "...), Ticket.* for every ticket event, or * for every event.",
        examples=[["Ticket.Opened", "Ticket.CommentAdded"]],
    ),
]
Filter = Annotated[
    AllIn | AnyIn | None,
    Field(
        description="Tests on each event (as the feed shows it): type, via, actor_id, actor_kind, payload.<name>; "
        "none: every event of the types.",
        examples=[{"all": [{"field": "payload.public", "op": "equals", "value": True}]}],
    ),
]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class WebhookCreate(Strict):
    """A new endpoint: where deliveries go and which events."""

    url: Url
    description: Annotated[PlainText, Field(max_length=DESCRIPTION_MAX)] = ""
    event_types: EventTypes
    filter: Filter = None


class WebhookUpdate(Strict):
    """What to change of an endpoint; what is left out stays (`filter: null` removes the filter)."""

    url: Url | None = None
    description: Annotated[PlainText, Field(max_length=DESCRIPTION_MAX)] | None = None
    event_types: EventTypes | None = None
    filter: Filter = None
    enabled: StrictBool | None = Field(
        default=None, description="false stops deliveries (pending ones are held back); true lets them go again."
    )


class WebhookPublic(BaseModel):
    """An endpoint as it stands (never its secret)."""

    id: UUID
    url: str
    description: str
    event_types: list[str]
    filter: dict[str, object] | None
    enabled: bool
    disabled_reason: str | None = Field(description="Why it is disabled: who did it, or the failures that did.")
    disabled_at: datetime | None
    consecutive_failures: int = Field(description="Failed attempts in a row; at the limit the endpoint is disabled.")
    created_at: datetime
    updated_at: datetime
    secret_rotated_at: datetime | None
    previous_secret_valid_until: datetime | None = Field(
        description="After a rotation: until when the previous secret still signs, beside the new one."
    )


class WebhookCreated(WebhookPublic):
    """A new endpoint and its signing secret, shown this once."""

    secret: str = Field(description="The signing secret (whsec_...). Store it now: it is never shown again.")


class WebhookList(BaseModel):
    """The tenant's endpoints, oldest first."""

    items: list[WebhookPublic]


class SecretRotation(Strict):
    """How long the secret in use still signs beside the new one."""

    grace_seconds: JsonInt | None = Field(
        default=None, ge=0, le=7 * 86_400, description="Default: LEDGERDESK_WEBHOOK_SECRET_GRACE_SECONDS (a day)."
    )


class RotatedSecret(BaseModel):
    """The new signing secret, shown this once, and the endpoint as it now stands."""

    secret: str = Field(description="The new signing secret (whsec_...). It is never shown again.")
    webhook: WebhookPublic


class DeliveryPublic(BaseModel):
    """One delivery of one event to the endpoint: its id is the `webhook-id` header of every attempt."""

    id: str
    event_position: int = Field(description="The event's position in the log (as /events shows it).")
    event_type: str
    aggregate_id: str = Field(description="The ticket (or other aggregate) the event belongs to.")
    status: str = Field(description="pending, delivered, failed (given up), paused (the endpoint is disabled).")
    attempts: int
    response_status: int | None = Field(description="The HTTP status of the last attempt's answer, if there was one.")
    latency_ms: float | None = Field(description="How long the last attempt took.")
    last_error: str | None
    next_attempt_at: datetime | None = Field(description="When a pending delivery is tried next.")
    created_at: datetime
    last_attempt_at: datetime | None
    delivered_at: datetime | None


class DeliveryList(BaseModel):
    """An endpoint's deliveries, newest event first."""

    items: list[DeliveryPublic]
    next_before: int | None = Field(description="Pass as `before` for the next (older) page; null: no more.")
