"""Reading the event log for an export: pages of events, each with its tenant, none decrypted but those asked for.

A page reads at most up to the position the tickets read model has applied, because the read model
tells a ticket event's tenant (as the event feed does, docs/read-models.md); an event of another
aggregate that records its tenant is that tenant's, any other has none (and is in an export of every
tenant only).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import Notification
from eventsourcing.utils import get_topic

from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from infrastructure.exports.scope import PAGE, ExportScope, Progress
from infrastructure.privacy.mapper import PersonalDataMapper
from infrastructure.readmodels.store import ReadModels
from infrastructure.topics import MOVED


@dataclass(frozen=True, slots=True)
class LoggedEvent:
    """An event of the log, at its position, with its tenant (None: the log does not say)."""

    position: int
    tenant: str | None
    event: Any


def topics_of(event_class: type) -> list[str]:
    """The topics a ticket event class is stored under: its own, and those of where `Ticket` lived before."""
    name = event_class.__qualname__.partition(".")[2]
    return [get_topic(event_class), *(f"{old}.{name}" for old, cls in MOVED.items() if cls is Ticket)]


def logged_events(
    desk: HelpDesk,
    read_models: ReadModels,
    scope: ExportScope,
    *,
    topics: Sequence[str] = (),
    opening: Collection[str] = (),
    progress: Progress | None = None,
    page: int = PAGE,
) -> Iterator[list[LoggedEvent]]:
    """Pages of the events in `scope` (of these topics, if given), in position order.

    Personal fields read as not decrypted, but those named in `opening`.
    """
    stop, after = read_models.position(), 0
    while after < stop:
        notifications = desk.recorder.select_notifications(
            start=after, limit=page, stop=stop, topics=topics, inclusive_of_start=False
        )
        if not notifications:
            break
        owners = read_models.tickets().owners_of({_uuid(n.originator_id) for n in notifications})
        # Another tenant's ticket events are skipped undecoded: decoding is most of an export's time.
        kept = [n for n in notifications if _maybe_of(owners.get(_uuid(n.originator_id)), scope)]
        found = []
        for notification, event in zip(kept, _decoded(desk, kept, opening), strict=True):
            tenant = _tenant_of(event, owners)
            if _wanted(event, tenant, scope):
                found.append(LoggedEvent(notification.id, tenant, event))
        yield found
        after = notifications[-1].id
        if progress is not None:
            progress(after, stop)


def _decoded(desk: HelpDesk, page: Sequence[Notification], opening: Collection[str]) -> list[Any]:
    mapper = desk.mapper
    if isinstance(mapper, PersonalDataMapper):
        return mapper.to_domain_events(page, opening=opening)
    return [mapper.to_domain_event(n) for n in page]


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(value)


def _maybe_of(owner: Any, scope: ExportScope) -> bool:
    """Whether an event may be in `scope` before it is decoded: it is not a ticket's of another tenant."""
    return scope.tenant is None or owner is None or owner.tenant == scope.tenant


def _tenant_of(event: Any, owners: dict[UUID, Any]) -> str | None:
    if isinstance(event, Ticket.Event):
        owner = owners.get(event.originator_id)
        if owner is not None:
            return str(owner.tenant)
    tenant = getattr(event, "tenant", None)
    return tenant if isinstance(tenant, str) and tenant else None


def _wanted(event: Any, tenant: str | None, scope: ExportScope) -> bool:
    if scope.tenant is not None and tenant != scope.tenant:
        return False
    return scope.since is None or event.timestamp >= scope.since
