"""SLA configuration (calendars, policies), the business-time calculator, and a ticket's SLA figures."""

from __future__ import annotations

from typing import Annotated, Any
from uuid import UUID

from fastapi import APIRouter, Body, Query, Response

from api.deps import ChannelDep, DeskDep, PrincipalDep, ViewReadDep
from api.plain_text import Slug
from api.problems import ProblemError, problem_responses
from api.read_schemas import ReadQuery
from api.routers.tickets import POSITION_HEADER
from api.sla_schemas import (
    ApplyIn,
    ApplyOut,
    BetweenQuery,
    CalendarIn,
    CalendarList,
    CalendarOut,
    DueOut,
    DueQuery,
    MinutesOut,
    PolicyIn,
    PolicyList,
    PolicyOut,
    TargetOut,
    TicketSla,
    TicketSlaQuery,
)
from domain.errors import InvalidValueError, NotFoundError
from domain.pipeline import ConfigReceipt
from domain.sla.calendar import BeyondHorizonError, BusinessCalendar
from domain.sla.conditions import TicketFacts
from domain.values import Priority
from infrastructure.icalendar_import import holidays_from_ics
from projections.tickets.queries import Sort, TicketFilter
from projections.tickets.rows import UNSOLVED

router = APIRouter(tags=["SLA"])
VersionQuery = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="A version; default: the latest.")]
APPLY_PAGE = 500


def _answer_position(response: Response, receipt: ConfigReceipt) -> None:
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)


# --- calendars ------------------------------------------------------------------------------------


@router.put("/sla/calendars/{name}", response_model=CalendarOut, responses=problem_responses(401, 403, 422))
def put_calendar(
    name: Slug, body: CalendarIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> CalendarOut:
    """Create a business calendar or record a new version of it (an identical definition records nothing)."""
    receipt = desk.define_calendar(
        tenant=principal.tenant, name=name, definition=body.model_dump(mode="json"), by=principal.actor, via=via
    )
    _answer_position(response, receipt)
    calendar = desk.work_calendar(principal.tenant, name)
    return CalendarOut.of(calendar.name, calendar.version, calendar.definition)


@router.post(
    "/sla/calendars/{name}/holidays",
    response_model=CalendarOut,
    responses=problem_responses(401, 403, 404, 422),
    openapi_extra={
        "requestBody": {"content": {"text/calendar": {"schema": {"type": "string", "minLength": 1}}}, "required": True}
    },
)
def import_holidays(
    name: Slug,
    ics: Annotated[bytes, Body(media_type="text/calendar")],
    desk: DeskDep,
    principal: PrincipalDep,
    via: ChannelDep,
    response: Response,
) -> CalendarOut:
    """Add the all-day events of an iCalendar file (RFC 5545) to the calendar's holidays, as a new version."""
    current = desk.work_calendar(principal.tenant, name)
    imported = [{"day": h.day.isoformat(), "yearly": h.yearly, "name": h.name} for h in holidays_from_ics(ics)]
    known = {(h["day"], h["yearly"]) for h in current.definition["holidays"]}
    added = [h for h in imported if (h["day"], h["yearly"]) not in known]
    definition = {**current.definition, "holidays": [*current.definition["holidays"], *added]}
    receipt = desk.define_calendar(
        tenant=principal.tenant, name=name, definition=definition, by=principal.actor, via=via
    )
    _answer_position(response, receipt)
    calendar = desk.work_calendar(principal.tenant, name)
    return CalendarOut.of(calendar.name, calendar.version, calendar.definition)


@router.get("/sla/calendars", response_model=CalendarList, responses=problem_responses(401, 403, 422))
def list_calendars(query: Annotated[ReadQuery, Query()], read: ViewReadDep) -> CalendarList:
    """The tenant's business calendars (latest versions), by name."""
    read.position()
    rows = read.read_models.sla().calendars(read.principal.tenant)
    return CalendarList(items=[CalendarOut.of(r.name, r.version, r.definition) for r in rows])


@router.get("/sla/calendars/{name}", response_model=CalendarOut, responses=problem_responses(401, 403, 404, 422))
def get_calendar(name: Slug, desk: DeskDep, principal: PrincipalDep, version: VersionQuery = None) -> CalendarOut:
    """A calendar as it is, or as it was at `version`."""
    calendar = desk.work_calendar(principal.tenant, name, version)
    return CalendarOut.of(calendar.name, calendar.version, calendar.definition)


@router.get("/sla/calendars/{name}/due", response_model=DueOut, responses=problem_responses(401, 403, 404, 422))
def calendar_due(name: Slug, query: Annotated[DueQuery, Query()], desk: DeskDep, principal: PrincipalDep) -> DueOut:
    """The due moment: `minutes` business minutes after `start` (0 minutes: `start` itself).

    With `direction=before`, the latest moment `minutes` business minutes before `start` ("2 business
    hours before resolution is due"). A moment more than 100 years away (or beyond the years 1 to
    9999) does not exist: 422 `no-due`.
    """
    calendar = desk.work_calendar(principal.tenant, name, query.version)
    business = BusinessCalendar.from_dict(calendar.definition)
    try:
        if query.direction == "before":
            due = business.subtract_business_minutes(query.start, query.minutes)
        else:
            due = business.add_business_minutes(query.start, query.minutes)
    except BeyondHorizonError as beyond:
        raise ProblemError(422, "no-due", f"no due moment: {beyond}") from None
    return DueOut(
        calendar=name,
        version=calendar.version,
        start=query.start,
        minutes=query.minutes,
        direction=query.direction,
        due=due,
    )


@router.get("/sla/calendars/{name}/minutes", response_model=MinutesOut, responses=problem_responses(401, 403, 404, 422))
def calendar_minutes(
    name: Slug, query: Annotated[BetweenQuery, Query()], desk: DeskDep, principal: PrincipalDep
) -> MinutesOut:
    """Business minutes between two moments (0 if `end` is not after `start`)."""
    calendar = desk.work_calendar(principal.tenant, name, query.version)
    minutes = BusinessCalendar.from_dict(calendar.definition).business_minutes_between(query.start, query.end)
    return MinutesOut(calendar=name, version=calendar.version, start=query.start, end=query.end, minutes=minutes)


# --- policies ---------------------------------------------------------------------------------------


@router.put("/sla/policies/{name}", response_model=PolicyOut, responses=problem_responses(401, 403, 404, 422))
def put_policy(
    name: Slug, body: PolicyIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> PolicyOut:
    """Create a policy or record a new version of it.

    Tickets take it up at their next change; to apply it to their whole history at once, use
    `POST /sla/policies/{name}/applications`.
    """
    receipt = desk.define_policy(
        tenant=principal.tenant, name=name, position=body.position, terms=body.terms(), by=principal.actor, via=via
    )
    _answer_position(response, receipt)
    policy = desk.sla_policy(principal.tenant, name)
    return PolicyOut(name=policy.name, version=policy.version, position=policy.position, terms=policy.terms)


@router.get("/sla/policies", response_model=PolicyList, responses=problem_responses(401, 403, 422))
def list_policies(query: Annotated[ReadQuery, Query()], read: ViewReadDep) -> PolicyList:
    """The tenant's policies (latest versions) in the order they are tried."""
    read.position()
    rows = read.read_models.sla().policies(read.principal.tenant)
    return PolicyList(
        items=[PolicyOut(name=r.name, version=r.version, position=r.position, terms=r.terms) for r in rows]
    )


@router.get("/sla/policies/{name}", response_model=PolicyOut, responses=problem_responses(401, 403, 404, 422))
def get_policy(name: Slug, desk: DeskDep, principal: PrincipalDep, version: VersionQuery = None) -> PolicyOut:
    """A policy as it is, or as it was at `version`."""
    policy = desk.sla_policy(principal.tenant, name, version)
    return PolicyOut(name=policy.name, version=policy.version, position=policy.position, terms=policy.terms)


@router.post(
    "/sla/policies/{name}/applications", response_model=ApplyOut, responses=problem_responses(401, 403, 404, 409, 422)
)
def apply_policy(
    name: Slug, body: ApplyIn, desk: DeskDep, read: ViewReadDep, principal: PrincipalDep, via: ChannelDep
) -> ApplyOut:
    """Apply a policy version retroactively to tickets.

    Each ticket's SLA clocks are recomputed from its whole history under it and put on record
    (`Ticket.SlaRecomputed`). Default: every unsolved ticket the policy's conditions match.
    """
    policy = desk.sla_policy(principal.tenant, name, body.version)
    tickets = body.tickets if body.tickets is not None else _matching_unsolved(read, desk, policy.policy_terms)
    position = None
    for ticket_id in tickets:
        receipt = desk.apply_policy(
            ticket_id, tenant=principal.tenant, policy=name, version=policy.version, by=principal.actor, via=via
        )
        position = receipt.position
    if position is not None:
        read.response.headers[POSITION_HEADER] = str(position)
    return ApplyOut(policy=name, version=policy.version, tickets=len(tickets), position=position)


def _matching_unsolved(read: Any, desk: Any, terms: Any) -> list[UUID]:
    queries, matched, after = read.read_models.tickets(), list[UUID](), None
    tenant = read.principal.tenant
    where = TicketFilter(tenant=tenant, categories=UNSOLVED)
    tiers: dict[str, str | None] = {}  # a requester's tier, asked once per request
    while True:
        page = queries.list_tickets(where, sort=Sort.OLDEST, limit=APPLY_PAGE, after=after)
        for row in page.rows:
            if terms.conditions.customer_tiers and row.requester_id not in tiers:
                tiers[row.requester_id] = desk.customer_tier(tenant, row.requester_id)
            facts = TicketFacts(
                priority=Priority(row.priority),
                group=row.group,
                ticket_type=row.ticket_type,
                organisation=row.organisation,
                tags=frozenset(row.tags),
                requester=row.requester_id,
                customer_tier=tiers.get(row.requester_id),
            )
            if terms.conditions.matches(facts):
                matched.append(row.ticket_id)
        if page.next_cursor is None:
            return matched
        after = page.next_cursor


# --- a ticket's SLA ---------------------------------------------------------------------------------


@router.get("/tickets/{ticket_id}/sla", response_model=TicketSla, responses=problem_responses(401, 403, 404, 422))
def ticket_sla(
    ticket_id: UUID, query: Annotated[TicketSlaQuery, Query()], desk: DeskDep, read: ViewReadDep
) -> TicketSla:
    """A ticket's SLA targets: state, due moment, elapsed and remaining business minutes.

    Without `policy`, the stored figures of the SLA read model, judged at `at` (default now).
    With `policy` (and `policy_version`), recomputed exactly from the ticket's whole history as if
    that policy version had applied all along — for any past version, whatever applies today.
    """
    tenant = read.principal.tenant
    now = query.at or desk.clock()
    if query.policy_version is not None and query.policy is None:
        raise InvalidValueError("policy_version needs policy: name the policy to recompute under")
    if query.policy is not None:
        statuses = desk.recompute_sla(
            ticket_id, tenant=tenant, policy=query.policy, version=query.policy_version, now=now
        )
        targets = [TargetOut.judged(s, now) for s in statuses]
        return TicketSla(ticket_id=ticket_id, recomputed=True, judged_at=now, targets=targets)
    read.position()
    if read.read_models.tickets().get_ticket(tenant, ticket_id) is None:
        raise NotFoundError(f"no ticket {ticket_id}")
    rows = read.read_models.sla().targets(tenant, ticket_id)
    return TicketSla(
        ticket_id=ticket_id, recomputed=False, judged_at=now, targets=[TargetOut.judged(r, now) for r in rows]
    )
