"""The admins' "Mailboxes" page: the addresses the tenant takes e-mail at, a form to add or change one, removal.

The same commands as `PUT /mailboxes/{address}` and `DELETE /mailboxes/{address}` (api/routers/mailboxes.py),
checked by the same schema (api/mail_schemas.py `MailboxPut`) and the same address pattern; another
tenant's address is refused with the domain's reason. Nothing is stored from a refused form.
"""

from __future__ import annotations

import re

from fastapi import APIRouter, Depends, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.mail_schemas import MailboxPut
from api.web.admin_forms import admits, field, readable
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain.errors import DomainError
from domain.values import EMAIL_MAX, EMAIL_PATTERN
from infrastructure.composition import Services
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/mailboxes"
ACTIONS = ("put_mailbox", "list_mailboxes", "delete_mailbox")
_ADDRESS = re.compile(EMAIL_PATTERN)


@router.get(PAGE, response_class=HTMLResponse)
async def mailboxes_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The tenant's active mailboxes, by address, and the form to configure one."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    return await _page(request, visitor, principal, services)


@router.post(PAGE, response_class=HTMLResponse)
async def configure(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """Configure the mailbox at the address given (a new one, or a change); a refusal says why."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    form = await request.form()
    typed = {key: field(form, key) for key in ("address", "group", "language")}
    typed["admit_unknown_senders"] = "on" if field(form, "admit_unknown_senders") == "on" else ""
    address = typed["address"]
    if len(address) > EMAIL_MAX or not _ADDRESS.fullmatch(address):
        return await _page(request, visitor, principal, services, typed, "address: not an e-mail address", 422)
    try:
        body = MailboxPut.model_validate(
            {
                "group": typed["group"] or None,
                "admit_unknown_senders": bool(typed["admit_unknown_senders"]),
                "language": typed["language"] or None,
            }
        )
        await run_in_threadpool(
            lambda: services.desk.configure_mailbox(
                tenant=principal.tenant,
                address=address,
                group=body.group,
                admit_unknown_senders=body.admit_unknown_senders,
                language=body.language,
                by=principal.actor,
                via=WEB,
            )
        )
    except ValidationError as invalid:
        return await _page(request, visitor, principal, services, typed, readable(invalid), 422)
    except DomainError as refused:
        return await _page(request, visitor, principal, services, typed, str(refused), 422)
    return RedirectResponse(f"{PAGE}?saved={address}", status_code=303)


@router.post(PAGE + "/removal", response_class=HTMLResponse)
async def remove(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """Stop the mailbox at the address given taking mail; its history stays on record."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    address = field(await request.form(), "address")
    try:
        await run_in_threadpool(
            lambda: services.desk.remove_mailbox(tenant=principal.tenant, address=address, by=principal.actor, via=WEB)
        )
    except DomainError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    return RedirectResponse(PAGE, status_code=303)


async def _page(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    typed: dict[str, str] | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    mailboxes = await run_in_threadpool(services.desk.mailboxes, principal.tenant)
    return render(
        request,
        visitor,
        "admin_mailboxes.html",
        status,
        mailboxes=mailboxes,
        typed=typed or {},
        refusal=refusal,
        saved=request.query_params.get("saved") if refusal is None else None,
    )
