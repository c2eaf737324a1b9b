"""The event feed: the global log in recording order, one tenant's events, resumable from a cursor.

A client that stores the last cursor never misses or repeats an event: positions are the log's
notification ids, which PostgreSQL commits in increasing order (eventsourcing locks the events
table for each insert, so no id can become visible after a larger one) and SQLite writes one
transaction at a time. A page reads only up to the position the ticket read model has applied,
because the read model is what tells a ticket event's tenant; the cursor moves past every event
read, shown or not, so other tenants' events are never read twice.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from uuid import UUID

from domain.errors import InvalidValueError
from domain.helpdesk import HelpDesk
from domain.tickets.saved_views import SavedView
from infrastructure.readmodels.store import ReadModels
from projections.tickets.queries import Owner

_BASE_FIELDS = {
    "originator_id",
    "originator_version",
    "originator_topic",
    "timestamp",
    "actor_id",
    "actor_kind",
    "actor_role",
    "via",
}
_CURSOR_PREFIX = "p1:"
POSITION_MAX = 2**63 - 1


@dataclass(frozen=True, slots=True)
class FeedEntry:
    """One event as the feed shows it."""

    position: int
    aggregate_id: UUID
    aggregate_version: int
    type: str
    actor_id: str
    actor_kind: str
    actor_role: str | None
    via: str
    at: datetime
    payload: dict[str, Any]


@dataclass(frozen=True, slots=True)
class FeedPage:
    """Entries of one page and the position to continue after."""

    entries: list[FeedEntry]
    after: int
    view_position: int


def encode_position(position: int) -> str:
    """An opaque cursor for a log position."""
    return base64.urlsafe_b64encode(f"{_CURSOR_PREFIX}{position}".encode()).decode().rstrip("=")


def decode_position(cursor: str) -> int:
    """The log position in a cursor."""
    with contextlib.suppress(ValueError, binascii.Error, UnicodeDecodeError):  # malformed: refused below
        text = base64.urlsafe_b64decode((cursor + "=" * (-len(cursor) % 4)).encode()).decode()
        position = int(text.removeprefix(_CURSOR_PREFIX)) if text.startswith(_CURSOR_PREFIX) else -1
        if 0 <= position <= POSITION_MAX:
            return position
    msg = "the cursor is not a feed cursor; start again without 'after'"
    raise InvalidValueError(msg)


class EventFeed:
    """Pages of one tenant's events from the global log."""

    def __init__(self, desk: HelpDesk, read_models: ReadModels) -> None:
        self.desk = desk
        self.read_models = read_models

    def page(self, tenant: str, *, after: int, limit: int) -> FeedPage:
        """Up to `limit` events after `after`, of which those of `tenant` are returned."""
        found = self.every_tenant(after=after, limit=limit)
        entries = [entry for owner, entry in found.entries if owner == tenant]
        return FeedPage(entries, found.after, found.view_position)

    def every_tenant(self, *, after: int, limit: int) -> TenantsPage:
        """Up to `limit` events after `after` (as far as the read models have applied), each with its tenant."""
        view_position = self.read_models.position()
        notifications = self.desk.recorder.select_notifications(
            start=after, limit=limit, stop=view_position, inclusive_of_start=False
        )
        if not notifications:
            return TenantsPage([], after, view_position, 0)
        events: list[Any] = [self.desk.mapper.to_domain_event(n) for n in notifications]
        ticket_ids = {e.originator_id for e in events if not isinstance(e, SavedView.Created)}
        owners = self.read_models.tickets().owners_of(ticket_ids)
        entries = [
            (tenant, _entry(notification.id, event))
            for notification, event in zip(notifications, events, strict=True)
            if (tenant := _tenant_of(event, owners)) is not None
        ]
        return TenantsPage(entries, notifications[-1].id, view_position, len(notifications))

    def entry_at(self, position: int) -> FeedEntry | None:
        """The event at a log position as the feed shows it (personal data as it reads now), or None."""
        found = self.desk.recorder.select_notifications(start=position, limit=1)
        if not found or found[0].id != position:
            return None
        return _entry(position, self.desk.mapper.to_domain_event(found[0]))


@dataclass(frozen=True, slots=True)
class TenantsPage:
    """Events of every tenant, each with its tenant, and the position to continue after."""

    entries: list[tuple[str, FeedEntry]]
    after: int
    view_position: int
    read: int  # events read, shown or not


def feed_item(entry: FeedEntry) -> dict[str, Any]:
    """One event in the form `GET /events` shows it (an item of its page), as plain values."""
    return {
        "position": entry.position,
        "ticket_id": entry.aggregate_id if entry.type.startswith("Ticket.") else None,
        "aggregate_id": entry.aggregate_id,
        "aggregate_version": entry.aggregate_version,
        "type": entry.type,
        "actor": {"id": entry.actor_id, "kind": entry.actor_kind, "role": entry.actor_role},
        "via": entry.via,
        "at": entry.at,
        "payload": entry.payload,
    }


def _tenant_of(event: Any, owners: dict[UUID, Owner]) -> str | None:
    if isinstance(event, SavedView.Created):
        return str(event.tenant)
    owner = owners.get(event.originator_id)
    return None if owner is None else owner.tenant


def _entry(position: int, event: Any) -> FeedEntry:
    kind = type(event)
    return FeedEntry(
        position=position,
        aggregate_id=event.originator_id,
        aggregate_version=event.originator_version,
        type=kind.__qualname__,
        actor_id=event.actor_id,
        actor_kind=event.actor_kind,
        actor_role=event.actor_role,
        via=event.via,
        at=event.timestamp,
        payload={k: v for k, v in event.__dict__.items() if k not in _BASE_FIELDS},
    )
