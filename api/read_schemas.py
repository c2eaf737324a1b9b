"""Query parameters and bodies of the read-model endpoints (lists, queues, workload, saved views, feed)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Any
from uuid import UUID

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, StrictBool

from api.plain_text import ChannelParam, Cursor, FieldFilterParam, IdentifierParam, PlainText, Slug
from domain.tickets.field_search import FIELD_FILTERS_MAX
from domain.tickets.workflow import Status
from domain.values import Priority
from projections.saved_views.rows import SavedViewRow
from projections.sla.rows import NO_DUE
from projections.tickets.queries import SlaFilter, Sort
from projections.tickets.rows import TicketRow

LIMIT_MAX = 500


def _representable_in_utc(moment: datetime) -> datetime:
    """Refuse moments that exist only in their own offset (0001-01-01T00:30+01:00 has no UTC date)."""
    try:
        (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)
    except OverflowError:
        msg = "the moment is outside the years 1-9999 in UTC"
        raise ValueError(msg) from None
    return moment


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}")


def _iso_only(value: Any) -> Any:
    """Refuse what is not ISO-8601 text: pydantic would read `0.5` or `0` as a Unix time."""
    if not isinstance(value, str | datetime | date) or (isinstance(value, str) and not _ISO_DATE.match(value)):
        msg = "expected an ISO-8601 date or date-time such as 2026-11-23 or 2026-11-23T09:00:00Z"
        raise ValueError(msg)
    return value


#: A moment that can be stored and compared in UTC (without an offset: UTC), in ISO-8601 only.
Moment = Annotated[datetime, BeforeValidator(_iso_only), AfterValidator(_representable_in_utc)]
#: A calendar day, in ISO-8601 only (2026-11-23).
Day = Annotated[date, BeforeValidator(_iso_only)]


def json_integer(value: Any) -> Any:
    """A JSON integer as JSON Schema means it: 3 or 3.0, not "3" nor true (pydantic's lax int takes both)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        msg = "expected an integer"
        raise ValueError(msg)  # pydantic turns ValueError, not TypeError, into a 422
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


#: An integer in a JSON body: a number with no fraction (JSON Schema counts 3.0 as an integer).
#: Bounds go before the validator, `Annotated[int, Field(ge=1), BeforeValidator(json_integer)]`,
#: when the type is part of a union (`| None`): after it pydantic documents them as `ge`/`le`,
#: which JSON Schema does not know, instead of `minimum`/`maximum`.
JsonInt = Annotated[int, BeforeValidator(json_integer)]


class ReadQuery(BaseModel):
    """Parameters every read-model endpoint takes. Unknown parameters are an error."""

    model_config = ConfigDict(extra="forbid")

    min_position: int | None = Field(
        default=None,
        ge=0,
        le=2**63 - 1,
        description="Wait (briefly) until the read model has applied this log position, e.g. the "
        "`Ledgerdesk-Position` of your last command. Also accepted as the `Ledgerdesk-Min-Position` header.",
    )


class TicketFilters(BaseModel):
    """Filters of ticket lists (also what a saved view stores)."""

    model_config = ConfigDict(extra="forbid")

    status: list[Slug] = Field(
        default_factory=list, description="Any of these states of the tickets' workflows (repeat the parameter)."
    )
    status_category: list[Status] = Field(
        default_factory=list, description="Any of these state categories (repeat the parameter)."
    )
    priority: list[Priority] = Field(default_factory=list)
    type: list[Slug] = Field(default_factory=list)
    tag: list[Slug] = Field(default_factory=list, description="Tickets carrying all of these tags.")
    requester_id: IdentifierParam | None = None
    organisation: IdentifierParam | None = None
    channel: ChannelParam | None = None
    q: PlainText | None = Field(
        default=None,
        max_length=200,
        description=(
            "Words of the title, description or comments (internal notes for agents only; Chinese by any "
            "two characters; the last word as a prefix), or case-insensitive text in the title."
        ),
    )
    sla: SlaFilter | None = Field(
        default=None,
        description="`at_risk`: a running SLA target is within its warning lead time of being due; "
        "`breached`: a target's due moment has passed unfulfilled. Pair with `sort=sla_due`.",
    )
    field: list[FieldFilterParam] = Field(
        default_factory=list,
        max_length=FIELD_FILTERS_MAX,
        description="Custom fields: `name:value`, e.g. `severity:high`, the value read as the field's kind "
        "(`seats:3`, `due:2026-12-01`, `vip:true`). Repeat the parameter: any of one field's values, and for "
        "a `multi_enum` field every option given (`systems:vpn`: holds vpn). Only defined fields that are not "
        "personal can be searched (422 otherwise, and for a value outside the field's options).",
        examples=[["severity:high"]],
    )
    field_gte: list[FieldFilterParam] = Field(
        default_factory=list,
        max_length=FIELD_FILTERS_MAX,
        description="A number or date custom field at least this: `name:value`, e.g. `due:2026-12-01`.",
    )
    field_lte: list[FieldFilterParam] = Field(
        default_factory=list,
        max_length=FIELD_FILTERS_MAX,
        description="A number or date custom field at most this: `name:value`, e.g. `seats:10`.",
    )


class PageParams(ReadQuery):
    """Paging of a list."""

    after: Cursor | None = Field(default=None, description="The `next_cursor` of the previous page.")
    limit: int = Field(default=50, ge=1, le=LIMIT_MAX)


class QueueQuery(TicketFilters, PageParams):
    """A queue: tickets of unsolved categories, most urgent first (unless `status`, `status_category`, `sort` say)."""

    sort: Sort = Sort.PRIORITY


class UnassignedQueueQuery(QueueQuery):
    """The unassigned queue, optionally of one group."""

    group: IdentifierParam | None = Field(default=None, description="Only this group's unassigned tickets.")


class TicketListQuery(QueueQuery):
    """A search over all tickets of the tenant, newest first by default."""

    sort: Sort = Sort.NEWEST
    group: IdentifierParam | None = None
    assignee: IdentifierParam | None = None
    unassigned: bool = Field(default=False, description="Only tickets without an assignee.")


class TicketSummary(BaseModel):
    """A ticket as the list read model holds it."""

    id: UUID
    title: str
    status: str = Field(description="The ticket's state in its workflow.")
    status_category: str = Field(description="What the state counts as: new, open, pending, on_hold, solved, closed.")
    workflow: str
    workflow_version: int
    priority: str
    type: str | None
    group: str | None
    assignee: str | None
    requester_id: str
    organisation: str | None
    channel: str
    tags: list[str]
    custom_fields: dict[str, Any]
    created_at: datetime
    updated_at: datetime
    solved_at: datetime | None
    closed_at: datetime | None
    reopen_count: int
    public_comments: int
    internal_notes: int
    first_agent_reply_at: datetime | None
    last_contact_customer_at: datetime | None = Field(
        default=None, description="The requester's latest public message (opening the ticket themselves counts)."
    )
    last_contact_agent_at: datetime | None = Field(default=None, description="The latest public reply by an agent.")
    last_requester_activity_at: datetime | None = Field(
        default=None, deprecated=True, description="The same moment as `last_contact_customer_at`."
    )
    version: int
    sla_due_at: datetime | None = Field(default=None, description="Earliest due moment of a running SLA target.")
    sla_warn_at: datetime | None = Field(default=None, description="Earliest warning moment of a running target.")
    sla_breached_at: datetime | None = Field(default=None, description="Earliest breach of a target now breached.")
    stale: bool = Field(
        default=False,
        description="The read model could not apply one of the ticket's events: the row shows the ticket as of "
        "its last applied event until the event is retried (`GET /projections/parked`).",
    )

    @classmethod
    def from_row(cls, row: TicketRow) -> TicketSummary:
        """The public form of a read-model row."""
        return cls(
            id=row.ticket_id,
            title=row.title,
            status=row.status,
            status_category=row.status_category,
            workflow=row.workflow,
            workflow_version=row.workflow_version,
            priority=row.priority,
            type=row.ticket_type,
            group=row.group,
            assignee=row.assignee,
            requester_id=row.requester_id,
            organisation=row.organisation,
            channel=row.channel,
            tags=row.tags,
            custom_fields=row.custom_fields,
            created_at=row.created_at,
            updated_at=row.updated_at,
            solved_at=row.solved_at,
            closed_at=row.closed_at,
            reopen_count=row.reopen_count,
            public_comments=row.public_comments,
            internal_notes=row.internal_notes,
            first_agent_reply_at=row.first_agent_reply_at,
            last_contact_customer_at=row.last_contact_customer_at,
            last_contact_agent_at=row.last_contact_agent_at,
            last_requester_activity_at=row.last_requester_activity_at,
            version=row.version,
            sla_due_at=None if row.sla_due_at == NO_DUE else row.sla_due_at,
            sla_warn_at=row.sla_warn_at,
            sla_breached_at=row.sla_breached_at,
            stale=row.stale,
        )


class TicketPage(BaseModel):
    """One page of tickets."""

    items: list[TicketSummary]
    next_cursor: str | None = Field(description="Pass as `after` for the next page; null on the last page.")
    next: str | None = Field(description="The next page's URL; null on the last page.")
    view_position: int = Field(description="The log position the read model had applied when it answered.")


class SolvedDay(BaseModel):
    """Tickets an agent solved on one day (UTC)."""

    day: date
    solved: int


class WorkloadPublic(BaseModel):
    """An agent's unsolved tickets by status, and tickets solved per day."""

    agent: str
    new: int
    open: int
    pending: int
    on_hold: int
    solved_per_day: list[SolvedDay]
    view_position: int


class WorkloadQuery(ReadQuery):
    """How many days of solved counts to show."""

    days: int = Field(default=30, ge=1, le=366)


class SavedViewCreate(BaseModel):
    """A named set of ticket-list filters, shared within the tenant."""

    model_config = ConfigDict(extra="forbid")

    name: Slug = Field(min_length=1, max_length=64, examples=["vip-network"])
    filters: TicketFilters
    group: IdentifierParam | None = None
    assignee: IdentifierParam | None = None
    unassigned: StrictBool = False


class SavedViewPublic(BaseModel):
    """A saved view."""

    id: UUID
    name: str
    filters: dict[str, Any]
    created_by: str
    created_at: datetime

    @classmethod
    def from_row(cls, row: SavedViewRow) -> SavedViewPublic:
        """The public form of a saved-view row."""
        return cls(
            id=row.view_id, name=row.name, filters=row.filters, created_by=row.created_by, created_at=row.created_at
        )


class SavedViewList(BaseModel):
    """The tenant's saved views."""

    items: list[SavedViewPublic]
    view_position: int


class FeedQuery(ReadQuery):
    """Paging of the event feed."""

    after: Cursor | None = Field(default=None, description="The `next_cursor` of the previous page; omit to start.")
    limit: int = Field(default=100, ge=1, le=LIMIT_MAX)


class FeedActor(BaseModel):
    """Who recorded an event."""

    id: str
    kind: str
    role: str | None = None


class FeedItem(BaseModel):
    """One event of the global log."""

    position: int = Field(description="The event's position in the global log; strictly increasing.")
    ticket_id: UUID | None = Field(description="The ticket the event belongs to; null for other aggregates.")
    aggregate_id: UUID = Field(description="The aggregate the event belongs to (a ticket or a saved view).")
    aggregate_version: int
    type: str = Field(description="The event type, e.g. Ticket.Assigned.")
    actor: FeedActor
    via: str
    at: datetime
    payload: dict[str, Any]


class FeedPage(BaseModel):
    """A page of the event feed, oldest first."""

    items: list[FeedItem]
    next_cursor: str = Field(description="Store it; pass it as `after` to continue exactly after this page.")
    next: str
    view_position: int
