"""The ticket page `/t/{id}` and its forms: thin, as the API's routes are (form → application call → page).

Each form calls the HelpDesk command its REST route calls (api/routers/tickets.py, attachments.py,
automation.py), after the access policy's `may` for that route's name; which tickets the visitor
reaches and may change is the application's, as for the API. A refused command stores no event
and shows the page again with the reason in the visitor's language; a done one goes back to the
page (303, so reloading it sends nothing twice). Events record the channel `web`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Any, Literal
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from api.customer_schemas import ProfilePublic
from api.deps import Provenance, ServicesDep
from api.problems import status_of
from api.routers.attachments import _attachment, content_disposition
from api.web.help_pages import ARTICLES_MAX, article_links
from api.web.pages import render, wants_fragment
from api.web.ticket_refs import TicketRefError, resolve_ref
from api.web.ticket_view import LINK_KINDS, history, history_view, readable, shown_value, ticket_view
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain.access import policy as access
from domain.actors import ActorKind
from domain.automation.commands import MACRO_CHANNEL
from domain.errors import AlreadyClaimedError, DomainError, NotFoundError
from domain.pipeline import Receipt
from domain.values import ATTACHMENTS_MAX, TEXT_MAX, Attachment
from infrastructure.composition import Services
from infrastructure.keys import Principal
from infrastructure.suggestions.service import plain

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])

CHANNEL = "web"
TextField = Annotated[str, Form(max_length=TEXT_MAX)]
NameField = Annotated[str, Form(max_length=200)]
Part = Literal["page", "state", "actions"]
Command = Callable[[Provenance], Receipt]


def _provenance(principal: Principal) -> Provenance:
    return Provenance(by=principal.actor, via=CHANNEL, expected_version=None, tenant=principal.tenant)


async def _page(
    request: Request,
    visitor: Visitor,
    services: Services,
    principal: Principal,
    ticket_id: UUID,
    *,
    part: Part = "page",
    status_code: int = 200,
    refusal: str | None = None,
    refused_by: str | None = None,
) -> Response:
    if not access.may(principal.role, "get_ticket"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    view = await run_in_threadpool(ticket_view, services, principal, ticket_id)
    if view is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    template = {"page": "ticket.html", "state": "_ticket_state.html", "actions": "_ticket_actions.html"}[part]
    context = {
        "view": view,
        "ticket": view.ticket,
        "refusal": refusal,
        "refused_by": refused_by,
        "link_kinds": LINK_KINDS,
        "suggestions": await run_in_threadpool(_suggestions, services, principal, ticket_id) if part == "page" else [],
        "customer": await run_in_threadpool(_customer, services, principal, view.ticket.requester_id)
        if part == "page"
        else None,
    }
    return render(request, visitor, template, status_code, **context)


def _part(asked: str) -> Part:
    """The region htmx asked for; the whole page for anything else."""
    return "state" if asked == "state" else "actions" if asked == "actions" else "page"


@router.get("/t/{ticket_id}", response_class=HTMLResponse)
async def ticket_page(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    part: str = "page",
) -> Response:
    """One ticket: facts, SLA targets, the conversation (for customers, without internal notes), and its forms.

    htmx asks for one region (`?part=state` or `?part=actions`) when the live stream says the ticket changed.
    """
    return await _page(
        request, visitor, services, principal, ticket_id, part=_part(part) if wants_fragment(request) else "page"
    )


@router.get("/t/{ticket_id}/history", response_class=HTMLResponse)
async def ticket_history(
    request: Request, ticket_id: UUID, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The history tab: every event of the ticket, as `GET /tickets/{id}/history` lists them."""
    if not access.may(principal.role, "get_history"):
        return render(request, visitor, "error.html", 404, reason="not-found")
    view = await run_in_threadpool(history_view, services, principal, ticket_id)
    if view is None:
        return render(request, visitor, "error.html", 404, reason="not-found")
    entries = await run_in_threadpool(history, services, principal, ticket_id)
    return render(
        request, visitor, "ticket_history.html", view=view, ticket=view.ticket, entries=entries, shown=shown_value
    )


@router.get("/t/{ticket_id}/files/{attachment_id}")
async def download(
    request: Request,
    ticket_id: UUID,
    attachment_id: str,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
) -> Response:
    """A file of a comment the visitor sees, as `GET /tickets/{id}/attachments/{attachment_id}` answers it."""
    if not access.may(principal.role, "download_attachment"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    requester = principal.actor.kind is ActorKind.REQUESTER
    ticket = await run_in_threadpool(readable, services, principal, ticket_id)
    try:
        if ticket is None:
            raise LookupError(ticket_id)
        attachment = _attachment(ticket, attachment_id, for_requester=requester)
        download = await run_in_threadpool(services.attachments.open, principal.tenant, attachment)
    except (LookupError, DomainError):
        return render(request, visitor, "error.html", 404, reason="not-found")
    headers = {"Content-Length": str(attachment.size), "Content-Disposition": content_disposition(attachment.name)}
    return StreamingResponse(download.chunks, media_type=attachment.content_type, headers=headers)


async def _run(
    request: Request,
    visitor: Visitor,
    services: Services,
    principal: Principal,
    ticket_id: UUID,
    action: str,
    command: Command,
) -> Response:
    """Call `command` if the policy lets the visitor's role call the API route `action`; then the page again."""
    if not access.may(principal.role, action):
        return await _page(request, visitor, services, principal, ticket_id, status_code=403, refusal="not-permitted")
    try:
        await run_in_threadpool(command, _provenance(principal))
    except DomainError as error:  # as the API maps it (api/problems.py), files too large or of a refused type too
        status_code, code = status_of(error)
        by = error.assignee if isinstance(error, AlreadyClaimedError) else None
        return await _page(
            request, visitor, services, principal, ticket_id, status_code=status_code, refusal=code, refused_by=by
        )
    except TicketRefError as error:  # the other ticket named in the form: as the API's 422 for a body's ticket
        return await _page(
            request, visitor, services, principal, ticket_id, status_code=422, refusal=error.code, refused_by=error.ref
        )
    return RedirectResponse(f"/t/{ticket_id}", status_code=303)


@router.post("/t/{ticket_id}/comments", response_class=HTMLResponse)
async def comment(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    body: TextField = "",
    public: Annotated[bool, Form()] = True,
    files: Annotated[list[UploadFile] | None, File(max_length=ATTACHMENTS_MAX)] = None,
    articles: Annotated[list[UUID] | None, Form(max_length=ARTICLES_MAX)] = None,
) -> Response:
    """A public reply or an internal note, with files, as `POST /tickets/{id}/attachments` (or `/comments`) adds it.

    Help articles chosen in the reply's article box (staff) are inserted into it as links, then
    linked to the ticket as `POST /tickets/{id}/articles` links them.
    """
    chosen = [f for f in files or [] if f.filename]
    action = "upload_attachments" if chosen else "add_comment"
    if articles and not access.may(principal.role, "link_articles"):
        return await _page(request, visitor, services, principal, ticket_id, status_code=403, refusal="not-permitted")

    def add(how: Provenance) -> Receipt:
        by, tenant = how["by"], how["tenant"]
        # The ticket must be one the visitor reaches before any file is kept for it.
        requester = by.id if by.kind is ActorKind.REQUESTER else None
        services.desk.get_ticket(ticket_id, tenant=tenant, requester=requester, organisation=by.organisation)
        inserted = article_links(services, tenant, articles or [])  # every article found before anything is kept
        stored: list[Attachment] = [
            services.attachments.store(tenant, by.id, f.filename or "unnamed", f.file) for f in chosen
        ]
        receipt = services.desk.add_comment(ticket_id, body + inserted, public=public, attachments=stored, **how)
        return services.desk.link_articles(ticket_id, articles, **how) if articles else receipt

    return await _run(request, visitor, services, principal, ticket_id, action, add)


@router.post("/t/{ticket_id}/claim", response_class=HTMLResponse)
async def claim(
    request: Request, ticket_id: UUID, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Take the unassigned ticket (the first to claim it has it), as `POST /tickets/{id}/claim`."""
    return await _run(
        request, visitor, services, principal, ticket_id, "claim", lambda how: services.desk.claim(ticket_id, **how)
    )


@router.post("/t/{ticket_id}/assignment", response_class=HTMLResponse)
async def assign(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    assignee: NameField = "",
) -> Response:
    """Assign the ticket to an agent, as `POST /tickets/{id}/assignment`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.assign(ticket_id, assignee=assignee.strip() or None, **how)

    return await _run(request, visitor, services, principal, ticket_id, "assign", command)


@router.post("/t/{ticket_id}/transfer", response_class=HTMLResponse)
async def transfer(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    group: NameField = "",
    reason: TextField = "",
) -> Response:
    """Hand the ticket to another group with a reason, as `POST /tickets/{id}/transfer`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.transfer(ticket_id, group=group.strip() or None, reason=reason, **how)

    return await _run(request, visitor, services, principal, ticket_id, "transfer", command)


@router.post("/t/{ticket_id}/transitions", response_class=HTMLResponse)
async def transition(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    to: NameField = "",
) -> Response:
    """Move the ticket through its workflow, as `POST /tickets/{id}/transitions` does (only the moves it allows)."""

    def command(how: Provenance) -> Receipt:
        return services.desk.transition(ticket_id, to, **how)

    return await _run(request, visitor, services, principal, ticket_id, "transition", command)


@router.post("/t/{ticket_id}/macros", response_class=HTMLResponse)
async def apply_macro(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    name: NameField = "",
) -> Response:
    """Apply one of the tenant's macros, as `POST /tickets/{id}/macros/{name}`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.apply_macro(
            ticket_id,
            name,
            by=how["by"],
            via=MACRO_CHANNEL,
            expected_version=how["expected_version"],
            tenant=how["tenant"],
        )

    return await _run(request, visitor, services, principal, ticket_id, "apply_macro", command)


@router.post("/t/{ticket_id}/rating", response_class=HTMLResponse)
async def rate(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    rating: NameField = "",
    comment: TextField = "",
) -> Response:
    """The requester rates the solved ticket (good or bad, with a comment), as `POST /tickets/{id}/rating`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.rate(ticket_id, int(rating) if rating.isdigit() else rating, comment, **how)

    return await _run(request, visitor, services, principal, ticket_id, "rate_ticket", command)


@router.post("/t/{ticket_id}/links", response_class=HTMLResponse)
async def link(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    other: NameField = "",
    kind: NameField = "related",
) -> Response:
    """Link the ticket to another, named by its id or short ref, as `POST /tickets/{id}/links`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.link_tickets(ticket_id, resolve_ref(services, principal, other), kind, **how)

    return await _run(request, visitor, services, principal, ticket_id, "link_tickets", command)


@router.post("/t/{ticket_id}/links/removal", response_class=HTMLResponse)
async def unlink(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    other: NameField = "",
    kind: NameField = "",
) -> Response:
    """Remove a link from both tickets, as `DELETE /tickets/{id}/links/{type}/{other_id}`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.unlink_tickets(ticket_id, resolve_ref(services, principal, other), kind, **how)

    return await _run(request, visitor, services, principal, ticket_id, "unlink_tickets", command)


@router.post("/t/{ticket_id}/merge", response_class=HTMLResponse)
async def merge(
    request: Request,
    ticket_id: UUID,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    into: NameField = "",
    reason: TextField = "",
) -> Response:
    """Merge the ticket into another (named by its id or short ref) with a reason, as `POST /tickets/{id}/merge`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.merge_tickets(ticket_id, resolve_ref(services, principal, into), reason=reason, **how)

    return await _run(request, visitor, services, principal, ticket_id, "merge_tickets", command)


# --- suggestions (docs/suggestions.md) ------------------------------------------------------------------


def _customer(services: Services, principal: Principal, requester_id: str) -> ProfilePublic | None:
    """The requester's customer profile as `GET /customers/{id}/profile` answers it, for those who may read it."""
    if not access.may(principal.role, "get_customer_profile"):
        return None
    try:
        record = services.desk.customer_profile(principal.tenant, requester_id)
    except NotFoundError:
        return None
    return None if record.profile is None else ProfilePublic.of(requester_id, record.profile, record.version)


def _suggestions(services: Services, principal: Principal, ticket_id: UUID) -> list[dict[str, Any]]:
    """The ticket's suggestions as `GET /tickets/{id}/suggestions` lists them, for those who may read them."""
    if not access.may(principal.role, "list_suggestions"):
        return []
    return [plain(made) for made in services.desk.get_ticket(ticket_id, tenant=principal.tenant).suggestions]


@router.post("/t/{ticket_id}/suggestions/{number}/acceptance", response_class=HTMLResponse)
async def accept_suggestion(
    request: Request, ticket_id: UUID, number: int, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Take a suggestion, as `POST /tickets/{id}/suggestions/{n}/acceptance`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.accept_suggestion(ticket_id, number, **how)

    return await _run(request, visitor, services, principal, ticket_id, "accept_suggestion", command)


@router.post("/t/{ticket_id}/suggestions/{number}/correction", response_class=HTMLResponse)
async def correct_suggestion(
    request: Request,
    ticket_id: UUID,
    number: int,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    value: NameField = "",
) -> Response:
    """Choose another value than the one suggested, as `POST /tickets/{id}/suggestions/{n}/correction`."""

    def command(how: Provenance) -> Receipt:
        return services.desk.correct_suggestion(ticket_id, number, value.strip(), **how)

    return await _run(request, visitor, services, principal, ticket_id, "correct_suggestion", command)
