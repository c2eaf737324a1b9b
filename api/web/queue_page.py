"""The agents' queue page `/`: four queues sorted by SLA due, filters, search, saved views.

The queues are the `tickets` read model through the same query as `GET /tickets` and
`GET /queues/...` (projections/tickets/queries.py), limited by the access policy's `list_scope`;
saved views are the API's (`POST /views`, `GET /views`: `SavedView` events and their read
model), of which the page lists the ones the user saved.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Annotated, Any
from urllib.parse import parse_qsl, urlencode

from babel.dates import format_timedelta
from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.read_schemas import SavedViewCreate
from api.web.pages import render, wants_fragment
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain import values
from domain.access import policy as access
from domain.actors import identifier
from domain.errors import AlreadyExistsError, InvalidValueError
from infrastructure.composition import Services
from infrastructure.keys import Principal
from projections.saved_views.rows import SavedViewRow
from projections.sla.rows import NO_DUE
from projections.tickets.queries import UNASSIGNED, SlaFilter, Sort, TicketFilter
from projections.tickets.rows import UNSOLVED, TicketRow

#: How many tickets a queue shows, most urgent first.
QUEUE_SIZE = 100
#: The web pages' channel on the events they cause.
WEB = "web"

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])


class QueueName(StrEnum):
    """The queues of the page, each a tab."""

    MINE = "mine"  # assigned to me
    GROUPS = "groups"  # everything of my groups (for an agent not limited to groups: the whole tenant)
    UNASSIGNED = "unassigned"  # nobody's yet, within my reach
    AT_RISK = "at_risk"  # a running SLA target is within its warning lead time of being due


@dataclass(frozen=True, slots=True)
class QueueChoice:
    """What the page shows: a queue and its filters, as the address's query says (invalid values dropped)."""

    queue: QueueName = QueueName.MINE
    status: str | None = None
    priority: str | None = None
    group: str | None = None
    tag: str | None = None
    q: str | None = None

    def query(self, **changes: Any) -> str:
        """The choice (with `changes`) as the query string of the page's address."""
        chosen = replace(self, **changes)
        pairs = [("queue", QueueName(chosen.queue).value)]
        pairs += [(k, v) for k in ("status", "priority", "group", "tag", "q") if (v := getattr(chosen, k))]
        return urlencode(pairs)

    @property
    def filtered(self) -> bool:
        """Whether any filter narrows the queue."""
        return any((self.status, self.priority, self.group, self.tag, self.q))


def _checked(value: str | None, check: Any) -> str | None:
    if not value or not value.strip():
        return None
    try:
        return str(check(value.strip()))
    except (InvalidValueError, ValueError):
        return None


def choice_from(params: dict[str, str]) -> QueueChoice:
    """The queue and filters a query string asks for; what is not a valid value is left out."""
    try:
        queue = QueueName(params.get("queue", QueueName.MINE.value))
    except ValueError:
        queue = QueueName.MINE
    text = (params.get("q") or "").strip()[:200]
    return QueueChoice(
        queue=queue,
        status=_checked(params.get("status"), lambda v: values.slug(v, "status")),
        priority=_checked(params.get("priority"), lambda v: values.Priority(v).value),
        group=_checked(params.get("group"), lambda v: identifier(v, "group")),
        tag=_checked(params.get("tag"), lambda v: values.slug(v.lower(), "tag")),
        q=text if text and values.unstorable(text) is None else None,
    )


def queue_filter(principal: Principal, choice: QueueChoice, now: datetime) -> TicketFilter:
    """The read-model filter of a queue: unsolved tickets (or those of `status`) in the principal's reach."""
    where = TicketFilter(
        tenant=principal.tenant,
        categories=() if choice.status else UNSOLVED,
        statuses=(choice.status,) if choice.status else (),
        priorities=(choice.priority,) if choice.priority else (),
        group=choice.group,
        tags=(choice.tag,) if choice.tag else (),
        text=choice.q,
        scope=access.list_scope(principal.actor),
    )
    if choice.queue is QueueName.MINE:
        return replace(where, assignee=principal.actor.id)
    if choice.queue is QueueName.UNASSIGNED:
        return replace(where, assignee=UNASSIGNED)
    if choice.queue is QueueName.AT_RISK:
        return replace(where, sla=SlaFilter.AT_RISK, now=now)
    return where


@dataclass(frozen=True, slots=True)
class QueueRow:
    """A ticket of a queue, with its SLA countdown as the user reads it."""

    ticket: TicketRow
    countdown: str | None  # "in 2 hours" / "2 hours" (overdue), in the user's language; None without a target
    overdue: bool
    at_risk: bool


def countdown(row: TicketRow, now: datetime, language: str) -> QueueRow:
    """How long until (or since) the ticket's earliest running SLA target is due."""
    if row.sla_due_at >= NO_DUE:
        return QueueRow(row, None, overdue=False, at_risk=False)
    left = row.sla_due_at - now
    overdue = left <= timedelta(0) or row.sla_breached_at is not None
    shown = format_timedelta(abs(left), granularity="minute", threshold=1.5, locale=language)
    if not overdue:
        shown = format_timedelta(left, granularity="minute", threshold=1.5, add_direction=True, locale=language)
    at_risk = not overdue and row.sla_warn_at is not None and row.sla_warn_at <= now
    return QueueRow(row, shown, overdue=overdue, at_risk=at_risk)


@dataclass(frozen=True, slots=True)
class QueueListing:
    """A queue as the page shows it."""

    choice: QueueChoice
    rows: list[QueueRow]
    more: bool  # more tickets match than the page shows
    views: list[SavedViewRow]


def read_queue(services: Services, principal: Principal, choice: QueueChoice, language: str) -> QueueListing:
    """The queue's tickets, most urgent SLA first, and the user's saved views."""
    now = services.desk.clock()
    read_models = services.read_models
    page = read_models.tickets().list_tickets(queue_filter(principal, choice, now), sort=Sort.SLA_DUE, limit=QUEUE_SIZE)
    views: list[SavedViewRow] = []
    if access.may(principal.role, "list_views"):
        mine = principal.actor.id
        views = [v for v in read_models.saved_views().saved_views(principal.tenant) if v.created_by == mine]
    rows = [countdown(row, now, language) for row in page.rows]
    return QueueListing(choice, rows, more=page.next_cursor is not None, views=views)


def view_filters(principal: Principal, choice: QueueChoice) -> dict[str, Any]:
    """A queue choice as a saved view's filters (the query parameters of `GET /tickets`)."""
    filters: dict[str, Any] = {}
    if choice.queue is QueueName.MINE:
        filters["assignee"] = principal.actor.id
    elif choice.queue is QueueName.UNASSIGNED:
        filters["unassigned"] = True
    elif choice.queue is QueueName.AT_RISK:
        filters["sla"] = SlaFilter.AT_RISK.value
    for name in ("status", "priority", "tag"):
        if value := getattr(choice, name):
            filters[name] = [value]
    if choice.group:
        filters["group"] = choice.group
    if choice.q:
        filters["q"] = choice.q
    return filters


def view_choice(principal: Principal, filters: dict[str, Any]) -> QueueChoice:
    """The queue choice a saved view's filters stand for (what the page can show of them)."""
    if filters.get("unassigned"):
        queue = QueueName.UNASSIGNED
    elif filters.get("assignee") == principal.actor.id:
        queue = QueueName.MINE
    elif filters.get("sla") == SlaFilter.AT_RISK.value:
        queue = QueueName.AT_RISK
    else:
        queue = QueueName.GROUPS

    def first(name: str) -> str:
        value = filters.get(name)
        return str(value[0]) if isinstance(value, list) and value else str(value or "")

    params = {"queue": queue.value, **{n: first(n) for n in ("status", "priority", "group", "tag", "q")}}
    return choice_from(params)


def view_name(typed: str) -> str:
    """The name of a saved view as typed, as the slug views are named by (`Urgent network` → `urgent-network`)."""
    return "-".join(typed.strip().lower().split())


def _context(principal: Principal, listing: QueueListing, choice: QueueChoice, error: str | None) -> dict[str, Any]:
    """What the queue page's templates use besides what every page has."""
    return {
        "listing": listing,
        "choice": choice,
        "view_choice": view_choice,
        "error": error,
        "may_save": access.may(principal.role, "save_view"),
        "may_open": access.may(principal.role, "open_ticket"),
    }


async def agent_queue_page(request: Request, visitor: Visitor, services: Services, principal: Principal) -> Response:
    """The queue page, or (to htmx's polling) the queue's list alone."""
    choice = choice_from(dict(request.query_params))
    listing = await run_in_threadpool(read_queue, services, principal, choice, visitor.language)
    template = "_queue_list.html" if wants_fragment(request) else "queue.html"
    return render(request, visitor, template, **_context(principal, listing, choice, None))


ViewNameField = Annotated[str, Form(max_length=200)]
QueryField = Annotated[str, Form(max_length=2048)]


#: How long a form's answer waits for the read models to show what it changed (read your own writes).
READ_YOUR_WRITES_SECONDS = 3.0


def save_view(services: Services, principal: Principal, name: str, choice: QueueChoice) -> None:
    """Save `choice` as the user's view `name`, and wait until the read model lists it."""
    receipt = services.desk.save_view(
        tenant=principal.tenant, name=name, filters=view_filters(principal, choice), by=principal.actor, via=WEB
    )
    services.read_models.wait_for(receipt.position, READ_YOUR_WRITES_SECONDS)


@router.post("/saved-views", response_class=HTMLResponse)
async def save_queue_view(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    name: ViewNameField = "",
    query: QueryField = "",
) -> Response:
    """Save the queue and filters shown (sent as the page's query string) as a named view of the user."""
    if not access.may(principal.role, "save_view"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    choice = choice_from(dict(parse_qsl(query)))
    error, status = None, 303
    try:
        body = SavedViewCreate.model_validate({"name": view_name(name), "filters": {}})
        await run_in_threadpool(save_view, services, principal, body.name, choice)
    except ValidationError:
        error, status = "view-name", 422
    except AlreadyExistsError:
        error, status = "view-taken", 409
    if error is None:
        return RedirectResponse(f"/?{choice.query()}", status_code=status)
    listing = await run_in_threadpool(read_queue, services, principal, choice, visitor.language)
    return render(request, visitor, "queue.html", status, **_context(principal, listing, choice, error))
