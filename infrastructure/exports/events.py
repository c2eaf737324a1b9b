"""The `events` dataset: one row per event of the log, its provenance in columns, its own fields as JSON."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa

from domain.helpdesk import HelpDesk
from infrastructure.exports.columns import UTC_TIME, batch, column, json_text, text_id
from infrastructure.exports.log import LoggedEvent, logged_events
from infrastructure.exports.personal import without_personal
from infrastructure.exports.scope import PAGE, ExportScope, Progress
from infrastructure.readmodels.store import ReadModels

#: Fields every event has, written as columns (the rest go into `data`).
_COLUMN_FIELDS = frozenset(
    {
        "originator_id",
        "originator_version",
        "originator_topic",
        "timestamp",
        "actor_id",
        "actor_kind",
        "actor_role",
        "via",
        "correlation_id",
        "causation_id",
        "tenant",
    }
)

SCHEMA = pa.schema(
    [
        column("position", pa.int64(), nullable=False, meaning="the event's position in the log (its order)"),
        column("tenant", pa.string(), meaning="the tenant it belongs to (null: an event of no tenant)"),
        column("aggregate_id", pa.string(), nullable=False, meaning="the id of what changed (a ticket's id, ...)"),
        column("aggregate_version", pa.int64(), nullable=False, meaning="that aggregate's version after the event"),
        column("type", pa.string(), nullable=False, meaning="the event's type, as `Ticket.CommentAdded`"),
        column("recorded_at", UTC_TIME, nullable=False, meaning="when it was recorded"),
        column("actor_id", pa.string(), meaning="who acted (a pseudonym; a rule as `trigger:<name>`)"),
        column("actor_kind", pa.string(), meaning="requester, agent or system"),
        column("actor_role", pa.string(), meaning="the actor's role (null in events recorded before roles)"),
        column("via", pa.string(), meaning="the channel: api, web, email, cli, ..."),
        column("correlation_id", pa.string(), meaning="shared by everything one request or run caused"),
        column("causation_id", pa.string(), meaning="the event that caused it (`<aggregate>@<version>`)"),
        column("data", pa.string(), nullable=False, meaning="the event's other fields, a JSON object (personal: null)"),
    ]
)


def batches(
    desk: HelpDesk,
    read_models: ReadModels,
    scope: ExportScope,
    progress: Progress | None = None,
    *,
    page: int = PAGE,
) -> Iterator[pa.RecordBatch]:
    """The events in `scope` as record batches of SCHEMA, a page of the log each; progress in log positions."""
    for found in logged_events(desk, read_models, scope, progress=progress, page=page):
        if found:
            yield batch(SCHEMA, [_record(e) for e in found])


def _record(logged: LoggedEvent) -> dict[str, Any]:
    event = logged.event
    fields = vars(event)
    return {
        "position": logged.position,
        "tenant": logged.tenant,
        "aggregate_id": text_id(event.originator_id),
        "aggregate_version": event.originator_version,
        "type": type(event).__qualname__,
        "recorded_at": event.timestamp,
        "actor_id": fields.get("actor_id"),
        "actor_kind": fields.get("actor_kind"),
        "actor_role": fields.get("actor_role"),
        "via": fields.get("via"),
        "correlation_id": fields.get("correlation_id"),
        "causation_id": fields.get("causation_id"),
        "data": json_text(without_personal({k: v for k, v in fields.items() if k not in _COLUMN_FIELDS})),
    }
