"""The portal's "New request" page: a customer (or an agent, for a requester) opens a ticket with files.

The request is opened by the same application command as `POST /tickets`, on the channel `web`,
checked by the same schema (api/schemas.py `TicketCreate`) and the same rules: a customer opens
tickets only as themselves, in their own organisation. The files go through the same attachment
store as `POST /tickets/{id}/attachments` (size and type limits), all of them before the ticket
is opened, so a refused file opens nothing; they are then the ticket's first comment, as a
mailed request's files are.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, Depends, File, Form, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.schemas import TicketCreate
from api.web.pages import render
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain.access import policy as access
from domain.actors import ActorKind
from domain.errors import InvalidValueError
from domain.values import ATTACHMENTS_MAX, TEXT_MAX, TITLE_MAX, Attachment
from infrastructure.attachments.errors import AttachmentTooLargeError, AttachmentTypeError
from infrastructure.composition import Services
from infrastructure.keys import Principal

#: The channel of the web pages, on every event they cause.
WEB = "web"
#: The text of the comment that carries a request's files (as a mailed request's: domain/mail/commands.py).
FILES_NOTE = "Files sent with the request."
#: How long opening waits for the read models to list the new ticket ("My requests" shows it at once).
READ_YOUR_WRITES_SECONDS = 3.0

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])

TitleField = Annotated[str, Form(max_length=TITLE_MAX * 4)]
DescriptionField = Annotated[str, Form(max_length=TEXT_MAX)]
RequesterField = Annotated[str, Form(max_length=128)]
FilesField = Annotated[list[UploadFile], File()]  # how many: checked below, to answer with the form


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why the form was not accepted, for the page to say in the visitor's language."""

    reason: str  # "title", "requester", "too-many", "too-large", "type", "file-name", "invalid"
    file: str = ""
    status: int = 422


class RefusedError(Exception):
    """The request cannot be opened as filled in; nothing was stored."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(refusal.reason)
        self.refusal = refusal


def _is_staff(principal: Principal) -> bool:
    return principal.actor.kind is not ActorKind.REQUESTER


def open_request(
    services: Services, principal: Principal, body: TicketCreate, files: list[tuple[str, UploadFile]]
) -> UUID:
    """Keep the files (all refused, or all kept), open the ticket, attach them; the new ticket's id."""
    actor = principal.actor
    stored: list[Attachment] = []
    for name, upload in files:
        try:
            stored.append(services.attachments.store(principal.tenant, actor.id, name, upload.file))
        except AttachmentTooLargeError:
            raise RefusedError(Refusal("too-large", name, 413)) from None
        except AttachmentTypeError:
            raise RefusedError(Refusal("type", name, 415)) from None
        except InvalidValueError:
            raise RefusedError(Refusal("file-name", name)) from None
    requester, organisation = (body.requester_id, None) if _is_staff(principal) else (actor.id, actor.organisation)
    if requester is None:
        raise RefusedError(Refusal("requester"))
    try:
        receipt = services.desk.open_ticket(
            tenant=principal.tenant,
            title=body.title,
            description=body.description,
            requester_id=requester,
            organisation=organisation,
            by=actor,
            via=WEB,
        )
    except InvalidValueError:  # e.g. a requester id the directory refuses
        raise RefusedError(Refusal("invalid")) from None
    if stored:
        receipt = services.desk.add_comment(
            receipt.ticket_id, FILES_NOTE, public=True, attachments=stored, by=actor, via=WEB, tenant=principal.tenant
        )
    services.read_models.wait_for(receipt.position or 0, READ_YOUR_WRITES_SECONDS)
    return receipt.ticket_id


@router.get("/new", response_class=HTMLResponse)
async def new_request_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The empty "New request" form."""
    if not access.may(principal.role, "open_ticket"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    return _form(request, visitor, principal, max_bytes=services.attachments.policy.max_bytes)


def _form(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    *,
    max_bytes: int,
    refusal: Refusal | None = None,
    title: str = "",
    description: str = "",
    requester: str = "",
) -> Response:
    status = 200 if refusal is None else refusal.status
    return render(
        request,
        visitor,
        "new_request.html",
        status,
        refusal=refusal,
        title=title,
        description=description,
        requester=requester,
        staff=_is_staff(principal),
        max_megabytes=round(max_bytes / 1_048_576, 1),
        title_max=TITLE_MAX,
        files_max=ATTACHMENTS_MAX,
    )


@router.post("/new", response_class=HTMLResponse)
async def submit_request(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    title: TitleField = "",
    description: DescriptionField = "",
    requester: RequesterField = "",
    files: FilesField | None = None,
) -> Response:
    """Open the request and go to its page; a refused field or file shows the form again, saying why."""
    if not access.may(principal.role, "open_ticket"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    kept = {"title": title, "description": description, "requester": requester}
    chosen = [(f.filename, f) for f in files or [] if f.filename]  # a file input left empty sends a nameless part
    try:
        if len(chosen) > ATTACHMENTS_MAX:
            raise RefusedError(Refusal("too-many"))
        try:
            fields = {"title": title, "description": description}
            if _is_staff(principal):
                fields["requester_id"] = requester.strip()
            body = TicketCreate.model_validate(fields)
        except ValidationError as error:
            where = {str(e["loc"][0]) for e in error.errors() if e["loc"]}
            reason = "requester" if "requester_id" in where else "title" if "title" in where else "invalid"
            raise RefusedError(Refusal(reason)) from None
        ticket_id = await run_in_threadpool(open_request, services, principal, body, chosen)
    except RefusedError as refused:
        limit = services.attachments.policy.max_bytes
        return _form(request, visitor, principal, max_bytes=limit, refusal=refused.refusal, **kept)
    return RedirectResponse(f"/t/{ticket_id}", status_code=303)
