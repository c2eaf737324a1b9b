"""The auditors' pages: `/audit` (the chain's state, verify now, the signed export) and a ticket's timeline.

Thin, as the audit API's routes are, and under their names in the access policy: the pages are for
those who may `verify` the chain (auditors and admins); a ticket's timeline also needs `get_history`,
its download `export`. What they compute is api/web/audit_view.py's; the export is the API's own
(`api.routers.audit.export`), streamed as it is written (docs/audit.md, "On the web").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Literal
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi import APIRouter, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.problems import ProblemError
from api.routers import audit
from api.web.audit_view import (
    MomentError,
    PastTicket,
    changes_between,
    local_field_value,
    local_moment,
    past_ticket,
    past_ticket_at,
    timeline_page,
    utc_text,
)
from api.web.pages import render, wants_fragment
from api.web.ticket_refs import TicketRefError, resolve_ref
from api.web.ticket_view import history_view, shown_value
from api.web.visitors import SignedInDep, Visitor, VisitorDep
from domain.access import policy as access
from domain.errors import TicketNotFoundError
from infrastructure.audit.chain import ChainRow
from infrastructure.audit.checkpoint import CheckpointError, private_key_from_text
from infrastructure.audit.log import AuditLog, AuditUnavailableError
from infrastructure.audit.verify import Verification
from infrastructure.composition import Services
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False)

HOME = "/audit"
#: The response header that tells the page how far the export's walk of the log goes (its progress's 100 %).
EXPORT_STOP_HEADER = "Ledgerdesk-Export-Stop"
Part = Literal["page", "events", "past", "diff"]
VersionParam = Annotated[int | None, Query(ge=1, le=2**63 - 1)]


def _refused(request: Request, visitor: Visitor, principal: Principal, *actions: str) -> Response | None:
    if all(access.may(principal.role, action) for action in actions):
        return None
    return render(request, visitor, "error.html", 403, reason="forbidden")


# --- the landing page ---------------------------------------------------------------------------


@router.get(HOME, response_class=HTMLResponse)
async def audit_home(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """The chain's head, a button to verify the whole log now, a ticket's timeline by id, the signed export."""
    refused = _refused(request, visitor, principal, "verify")
    return refused or await _home(request, visitor, principal, services)


async def _home(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    *,
    status: int = 200,
    verification: Verification | None = None,
    problem: str | None = None,
) -> Response:
    chain = await run_in_threadpool(_chain_state, services)
    return render(
        request,
        visitor,
        "audit.html",
        status,
        head=chain.head,
        chained=chain.chained,
        verification=verification,
        problem=problem,
        signing=services.settings.audit_signing_key is not None,
        may_export=access.may(principal.role, "export"),
        today=datetime.now(UTC).date().isoformat(),
    )


@dataclass(frozen=True, slots=True)
class ChainState:
    """Whether the events are hash-chained (not where they are kept in memory), and the chain's last row."""

    chained: bool
    head: ChainRow | None  # None: an empty log, or no chain


def _chain_state(services: Services) -> ChainState:
    try:
        return ChainState(chained=True, head=AuditLog(services.desk).head())
    except AuditUnavailableError:
        return ChainState(chained=False, head=None)


@router.get(HOME + "/verification", response_class=HTMLResponse)
async def verify_now(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """Verify the whole log now, as `GET /audit/verify` does; the outcome in the page (or its region, for htmx)."""
    refused = _refused(request, visitor, principal, "verify")
    if refused is not None:
        return refused
    try:
        result = await run_in_threadpool(lambda: AuditLog(services.desk).verify())
    except AuditUnavailableError:
        return await _home(request, visitor, principal, services, status=503)
    if wants_fragment(request):
        return render(request, visitor, "_audit_verification.html", verification=result)
    return await _home(request, visitor, principal, services, verification=result)


@router.get(HOME + "/checkpoint")
async def checkpoint_file(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The chain's head now, signed, as `ledgerdesk audit checkpoint` writes it: to keep outside the database.

    Signed with the key that signs exports, so for those who may take an export.
    """
    refused = _refused(request, visitor, principal, "verify", "export")
    if refused is not None:
        return refused
    key = _signing_key(services)
    try:
        if key is None:
            raise AuditUnavailableError
        checkpoint = await run_in_threadpool(lambda: AuditLog(services.desk).checkpoint(key, datetime.now(UTC)))
    except AuditUnavailableError:
        return await _home(request, visitor, principal, services, status=503, problem="export-unavailable")
    name = f"checkpoint-{checkpoint.position}.json"
    return Response(
        checkpoint.to_json(),
        media_type="application/json",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


def _signing_key(services: Services) -> Ed25519PrivateKey | None:
    """The configured signing key; None without one, or with one that is no key."""
    configured = services.settings.audit_signing_key
    try:
        return None if configured is None else private_key_from_text(configured.get_secret_value())
    except CheckpointError:
        return None


@router.get(HOME + "/tickets", response_class=HTMLResponse)
async def find_ticket(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep, ticket: str = ""
) -> Response:
    """The timeline of the ticket named by its id or short ref."""
    refused = _refused(request, visitor, principal, "verify", "get_history")
    if refused is not None:
        return refused
    try:
        found = await run_in_threadpool(resolve_ref, services, principal, ticket[:200])
    except TicketRefError:
        return await _home(request, visitor, principal, services, status=404, problem="unknown-ticket")
    return RedirectResponse(f"{HOME}/tickets/{found}", status_code=303)


@router.get(HOME + "/export-file")
async def export_file(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    start: Annotated[str, Query(alias="from", max_length=40)] = "",
    end: Annotated[str, Query(alias="to", max_length=40)] = "",
    organisation: Annotated[str, Query(max_length=200)] = "",
    format: Annotated[str, Query(max_length=10)] = "jsonl",  # noqa: A002 -- the API's parameter name
) -> Response:
    """The signed export of the tenant's changes from day `from` to day `to` (UTC, both included), streamed.

    The API's export itself (`GET /audit/export`); the header `Ledgerdesk-Export-Stop` says up to which
    log position it walks, so the page can show how far the download has come.
    """
    refused = _refused(request, visitor, principal, "verify", "export")
    if refused is not None:
        return refused
    try:
        query = audit.ExportQuery.model_validate(
            {"from": _day_start(start), "to": _day_after(end), "organisation": organisation or None, "format": format}
        )
    except (ValueError, ValidationError):
        return await _home(request, visitor, principal, services, status=422, problem="export-query")
    stop = services.read_models.position()
    try:
        answer = await run_in_threadpool(audit.export, services, principal, query)
    except ProblemError:
        return await _home(request, visitor, principal, services, status=503, problem="export-unavailable")
    answer.headers[EXPORT_STOP_HEADER] = str(stop)
    return answer


def _day_start(typed: str) -> datetime | None:
    return datetime.combine(date.fromisoformat(typed), time(), UTC) if typed else None


def _day_after(typed: str) -> datetime | None:
    return datetime.combine(date.fromisoformat(typed) + timedelta(days=1), time(), UTC) if typed else None


# --- a ticket's timeline ------------------------------------------------------------------------


@router.get(HOME + "/tickets/{ticket_id}", response_class=HTMLResponse)
async def timeline(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    part: str = "page",
    after: Annotated[int, Query(ge=0, le=2**63 - 1)] = 0,
    version: VersionParam = None,
    at: Annotated[str, Query(max_length=40)] = "",
    from_version: VersionParam = None,
    to_version: VersionParam = None,
) -> Response:
    """Every event of the ticket (200 a page), the ticket as it was at a moment or version, a diff of two versions.

    htmx asks for one region: `part=events` (the next page of events), `past` (the ticket as it was) or `diff`.
    """
    refused = _refused(request, visitor, principal, "verify", "get_history")
    if refused is not None:
        return refused
    view = await run_in_threadpool(history_view, services, principal, ticket_id)
    if view is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    asked = _part(part) if wants_fragment(request) else "page"
    context: dict[str, object] = {"ticket": view.ticket, "shown": shown_value, "utc": utc_text}
    status = 200
    if asked in {"page", "events"}:
        context["timeline"] = await run_in_threadpool(timeline_page, services, principal, ticket_id, after)
    if asked in {"page", "past"}:
        shown_version = version or view.ticket.version
        past, problem = await _past(services, principal, visitor, ticket_id, shown_version, at)
        context |= {"past": past, "past_problem": problem, "at_value": _picker_value(past, visitor, at)}
        status = 422 if problem == "moment" else status
    if asked in {"page", "diff"} and from_version is not None and to_version is not None:
        try:
            context["diff"] = await run_in_threadpool(
                changes_between, services, principal, ticket_id, from_version, to_version
            )
        except TicketNotFoundError:
            context["diff_problem"] = "no-version"
    context |= {"from_version": from_version or 1, "to_version": to_version or view.ticket.version}
    template = {"page": "audit_ticket.html", "events": "_audit_events.html", "past": "_audit_past.html"}
    return render(request, visitor, template.get(asked, "_audit_diff.html"), status, **context)


def _part(asked: str) -> Part:
    """The region htmx asked for; the whole page for anything else."""
    return "events" if asked == "events" else "past" if asked == "past" else "diff" if asked == "diff" else "page"


async def _past(
    services: Services, principal: Principal, visitor: Visitor, ticket_id: UUID, version: int, at: str
) -> tuple[PastTicket | None, str | None]:
    """The ticket as it was at the picked moment, or else at `version`, and why not, if it cannot be shown."""
    try:
        if at:
            moment = local_moment(at, visitor.time_zone)
            return await run_in_threadpool(past_ticket_at, services, principal, ticket_id, moment), None
        return await run_in_threadpool(past_ticket, services, principal, ticket_id, version), None
    except MomentError:
        return None, "moment"
    except TicketNotFoundError:
        return None, "not-yet" if at else "no-version"


def _picker_value(past: PastTicket | None, visitor: Visitor, typed: str) -> str:
    """What the time picker shows: the moment typed, or else that of the version shown, in the visitor's zone."""
    if typed or past is None:
        return typed
    return local_field_value(past.at, visitor.time_zone)
