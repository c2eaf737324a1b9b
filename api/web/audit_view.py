"""What the auditors' pages show, read as the audit API reads it: a ticket's timeline, the ticket as it was, a diff.

The timeline is `GET /tickets/{id}/history` a page at a time (`HelpDesk.history_page`), each event with
its chain row read from the chain table in one query per page (`AuditLog.chain_of`); the ticket as it
was is `GET /tickets/{id}?version=` or `?as_of=` (`HelpDesk.ticket_at_version`, `ticket_as_of`; the
latest version is the ticket as loaded now); the diff is `GET /tickets/{id}/diff`'s (`history.diff` of
the two versions). Which tickets the visitor reaches is the access
policy's, as for the ticket page (`readable`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID
from zoneinfo import ZoneInfo

from api.schemas import HistoryEntry
from domain.tickets.history import FieldChange, diff, ticket_fields
from domain.tickets.ticket import Ticket
from infrastructure.audit.chain import ChainRow
from infrastructure.audit.log import AuditLog, AuditUnavailableError
from infrastructure.composition import Services
from infrastructure.keys import Principal

#: Events per page of the timeline; "Load more" fetches the next page.
PAGE_SIZE = 200


@dataclass(frozen=True, slots=True)
class TimelinePage:
    """Some events of a ticket's timeline, oldest first, and where the next page starts (None: the last page)."""

    entries: list[HistoryEntry]
    next_after: int | None


@dataclass(frozen=True, slots=True)
class PastTicket:
    """A ticket as it was right after one of its versions: its fields as plain values."""

    version: int
    at: datetime
    fields: list[tuple[str, Any]]


class MomentError(ValueError):
    """A moment typed in the time picker that is not one."""


def timeline_page(services: Services, principal: Principal, ticket_id: UUID, after: int) -> TimelinePage:
    """The events after version `after` (at most PAGE_SIZE), each with its position and chain hash."""
    changes = services.desk.history_page(ticket_id, after_version=after, limit=PAGE_SIZE, tenant=principal.tenant)
    chain = _chain_of(services, ticket_id, after)
    entries = [_entry(change.version, chain, HistoryEntry.from_domain(change)) for change in changes]
    full = len(entries) == PAGE_SIZE
    return TimelinePage(entries, entries[-1].version if full else None)


def _entry(version: int, chain: dict[int, ChainRow], entry: HistoryEntry) -> HistoryEntry:
    row = chain.get(version)
    if row is None:
        return entry
    return entry.model_copy(update={"position": row.position, "chain_hash": row.chain_hash.hex()})


def _chain_of(services: Services, ticket_id: UUID, after: int) -> dict[int, ChainRow]:
    try:
        return AuditLog(services.desk).chain_of(ticket_id, after_version=after, limit=PAGE_SIZE)
    except AuditUnavailableError:  # events kept in memory carry no chain
        return {}


def past_ticket(services: Services, principal: Principal, ticket_id: UUID, version: int) -> PastTicket:
    """The ticket right after its `version`-th event (TicketNotFoundError if it has none)."""
    ticket = _at_version(services, principal, ticket_id, version)
    return PastTicket(ticket.version, ticket.modified_on, list(ticket_fields(ticket).items()))


def past_ticket_at(services: Services, principal: Principal, ticket_id: UUID, moment: datetime) -> PastTicket:
    """The ticket as it was at `moment` (TicketNotFoundError before it existed)."""
    ticket = services.desk.ticket_as_of(ticket_id, moment, tenant=principal.tenant)
    return PastTicket(ticket.version, ticket.modified_on, list(ticket_fields(ticket).items()))


def changes_between(
    services: Services, principal: Principal, ticket_id: UUID, from_version: int, to_version: int
) -> tuple[FieldChange, ...]:
    """What differs between two versions, as `GET /tickets/{id}/diff` answers (the same `diff` of two tickets)."""
    before = _at_version(services, principal, ticket_id, from_version)
    return diff(before, _at_version(services, principal, ticket_id, to_version))


def _at_version(services: Services, principal: Principal, ticket_id: UUID, version: int) -> Ticket:
    """The ticket at `version`; the latest is the ticket as loaded now (from the application's cache, most often).

    Not replayed: for a long-lived ticket, that replay's snapshot alone is large to read.
    """
    desk, tenant = services.desk, principal.tenant
    now = desk.get_ticket(ticket_id, tenant=tenant)
    return now if version == now.version else desk.ticket_at_version(ticket_id, version, tenant=tenant)


def local_moment(typed: str, time_zone: str) -> datetime:
    """The moment a `datetime-local` field names, read in the visitor's time zone (as they see times)."""
    try:
        wall = datetime.fromisoformat(typed.strip())
    except ValueError:
        raise MomentError(typed) from None
    if wall.tzinfo is not None:
        return wall
    return wall.replace(tzinfo=ZoneInfo(time_zone))


def local_field_value(moment: datetime, time_zone: str) -> str:
    """A moment as a `datetime-local` field's value in the visitor's time zone, to the second.

    Rounded up, so that picking the value shown again shows the version it was taken from (as-of is
    "the last version at or before"), not the one before it.
    """
    rounded = (moment + timedelta(microseconds=999_999)).replace(microsecond=0)
    return rounded.astimezone(ZoneInfo(time_zone)).replace(tzinfo=None).isoformat()


def utc_text(moment: datetime) -> str:
    """A moment in UTC, to the second, as auditors compare it with exports and the API."""
    return moment.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")
