"""Files attached to comments: upload (a comment carrying them) and download. Thin, like every router."""

from __future__ import annotations

import re
from typing import Annotated
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, File, Form, Path, Response, UploadFile, status
from fastapi.responses import StreamingResponse

from api.deps import CommandDep, DeskDep, PrincipalDep, ServicesDep, etag
from api.plain_text import NonBlankText
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from api.schemas import TicketPublic
from domain.actors import ActorKind
from domain.errors import NotFoundError
from domain.tickets.ticket import Ticket
from domain.values import ATTACHMENTS_MAX, TEXT_MAX, Attachment

router = APIRouter(prefix="/tickets", tags=["attachments"])

#: An attachment's id: the number of its comment on the ticket, a dot, its place among the comment's files.
_ATTACHMENT_ID = re.compile(r"[1-9][0-9]{0,8}\.[1-9][0-9]?")


@router.post(
    "/{ticket_id}/attachments",
    status_code=status.HTTP_201_CREATED,
    response_model=TicketPublic,
    responses=problem_responses(401, 403, 404, 409, 412, 413, 415, 422),
)
def upload_attachments(
    ticket_id: UUID,
    files: Annotated[
        list[UploadFile], File(min_length=1, max_length=ATTACHMENTS_MAX, description="The files, one part each.")
    ],
    body: Annotated[NonBlankText, Form(min_length=1, max_length=TEXT_MAX, description="The comment's text.")],
    call: CommandDep,
    services: ServicesDep,
    response: Response,
    public: Annotated[bool, Form(description="True: a public reply. False: an internal note.")] = True,
) -> TicketPublic:
    """Add a comment carrying files (`multipart/form-data`: `files`, one part per file, `body`, `public`).

    Each file's type is sniffed from its content (never its name), its SHA-256 recorded, and the
    file stored encrypted with its author's data key (docs/attachments.md). A file larger than
    LEDGERDESK_ATTACHMENT_MAX_BYTES gets 413; one of a type LEDGERDESK_ATTACHMENT_TYPES does not
    allow gets 415; more than 20 files, 422. A refused upload records no comment. The comment's
    attachments name their `id`, for `GET /tickets/{ticket_id}/attachments/{attachment_id}`.
    """
    by, tenant = call.provenance["by"], call.provenance["tenant"]
    # The ticket must be one the caller reaches before any file is kept for it.
    requester = by.id if by.kind is ActorKind.REQUESTER else None
    call.desk.get_ticket(ticket_id, tenant=tenant, requester=requester, organisation=by.organisation)
    stored = [services.attachments.store(tenant, by.id, f.filename or "unnamed", f.file) for f in files]
    receipt = call.desk.add_comment(ticket_id, body, public=public, attachments=stored, **call.provenance)
    # As every ticket command answers (api/routers/tickets.py): the ticket, its ETag, the log position.
    response.headers["ETag"] = etag(receipt.version)
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return TicketPublic.from_domain(receipt.ticket, for_requester=requester is not None)


@router.get(
    "/{ticket_id}/attachments/{attachment_id}",
    response_class=StreamingResponse,
    responses={
        200: {
            "description": "The file, with its sniffed `Content-Type`, `Content-Length` and its SHA-256 as `ETag`.",
            # Any type: the file's own, as sniffed when it was stored.
            "content": {"*/*": {"schema": {"type": "string", "format": "binary"}}},
        },
        **problem_responses(401, 403, 404, 410, 422),
    },
)
def download_attachment(
    ticket_id: UUID,
    attachment_id: Annotated[
        str, Path(description="`<comment number>.<file position>`, as `2.1`; an id of any other form is 404.")
    ],
    desk: DeskDep,
    principal: PrincipalDep,
    services: ServicesDep,
) -> StreamingResponse:
    """A file attached to a comment, for those who see the comment.

    Requesters reach files of public replies on their tickets only: a file of an internal note is
    404 to them, as is any file on another tenant's ticket. A file whose owner was erased is 410
    Gone (its key is destroyed; the comment's record, with the file's SHA-256, stays). A file
    recorded without content (metadata only, through `POST /tickets/{ticket_id}/comments`) is 404.
    """
    actor, requester = principal.actor, principal.actor.kind is ActorKind.REQUESTER
    ticket = desk.get_ticket(
        ticket_id, tenant=principal.tenant, requester=actor.id if requester else None, organisation=actor.organisation
    )
    attachment = _attachment(ticket, attachment_id, for_requester=requester)
    download = services.attachments.open(principal.tenant, attachment)
    headers = {
        "Content-Length": str(attachment.size),
        "Content-Disposition": content_disposition(attachment.name),
        "ETag": f'"{attachment.sha256}"',
    }
    return StreamingResponse(download.chunks, media_type=attachment.content_type, headers=headers)


def _attachment(ticket: Ticket, attachment_id: str, *, for_requester: bool) -> Attachment:
    """The attachment `<comment>.<position>` of `ticket`, if the reader sees its comment; else NotFoundError."""
    if not _ATTACHMENT_ID.fullmatch(attachment_id):  # an id of another form names nothing: as absent as a missing one
        raise NotFoundError(f"no attachment {attachment_id} on ticket {ticket.id}")
    number, position = (int(part) for part in attachment_id.split("."))
    for comment in ticket.comments:
        visible = comment.public or not for_requester
        if comment.number == number and visible and position <= len(comment.attachments):
            return Attachment.from_dict(comment.attachments[position - 1])
    raise NotFoundError(f"no attachment {attachment_id} on ticket {ticket.id}")


def content_disposition(name: str) -> str:
    """`attachment` with the file's name: plain ASCII for old clients, and in full as RFC 5987/6266 `filename*`."""
    fallback = "".join(c if " " <= c <= "~" and c not in '"\\' else "_" for c in name)
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(name, safe='')}"
