"""The admins' "API keys" page: the tenant's keys, a form to issue one, and buttons to rotate or revoke one.

The same commands as `/keys` (api/routers/keys.py), under the same access policy's names (`list_keys`,
`create_key`, `rotate_key`, `revoke_key`: admins only), checked by the same schema (`KeyCreate`).
A new secret is in the answer to the form that made it and nowhere else: htmx puts that answer into
the page at `/admin/keys` (so reloading the page shows no secret); without JavaScript the answer is a
page of its own, which is not cached either (`Cache-Control: no-store`).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.key_schemas import KeyCreate, KeyIdPath, KeyPublic
from api.routers import keys
from api.web.admin_users import first_error
from api.web.pages import render, wants_fragment
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain.access import policy as access
from domain.errors import InvalidValueError, NotFoundError
from infrastructure.composition import Services
from infrastructure.keys import IssuedKey, Principal

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/keys"

Text = Annotated[str, Form(max_length=1024)]


@router.get(PAGE, response_class=HTMLResponse)
async def keys_page(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """The tenant's keys and the form to issue one (never a secret)."""
    if not access.may(principal.role, "list_keys"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    return await _page(request, visitor, principal, services)


@router.post(PAGE, response_class=HTMLResponse)
async def issue(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    actor: Text,
    role: Text,
    groups: Text = "",
    organisation: Text = "",
) -> Response:
    """Issue a key from the form and show its secret once; on a refusal, why, with the form as filled in."""
    if not access.may(principal.role, "create_key"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    typed = {"actor": actor, "role": role, "groups": groups, "organisation": organisation}
    try:
        body = KeyCreate(
            actor=actor.strip(),
            role=role,  # pydantic checks it is a role
            groups=[g.strip() for g in groups.split(",") if g.strip()] or None,
            organisation=organisation.strip() or None,
        )
        issued = await run_in_threadpool(keys.issue_from, services, principal, body, WEB)
    except (ValidationError, InvalidValueError) as refused:
        said = str(refused) if isinstance(refused, InvalidValueError) else first_error(refused)
        if wants_fragment(request):  # htmx swaps only 2xx answers: the reason goes where a secret would
            return render(request, visitor, "_key_refused.html", refusal=said)
        return await _page(request, visitor, principal, services, refusal=said, typed=typed, status=422)
    return await _shown_once(request, visitor, principal, services, issued, status=201)


@router.post(PAGE + "/{key_id}/rotation", response_class=HTMLResponse)
async def rotate(
    request: Request, key_id: KeyIdPath, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Give a live key of the tenant a new secret and show it once; the old one stops working."""
    if not access.may(principal.role, "rotate_key"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        issued = await run_in_threadpool(keys.rotate_in_tenant, services, principal, key_id, WEB)
    except NotFoundError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    return await _shown_once(request, visitor, principal, services, issued, status=200)


@router.post(PAGE + "/{key_id}/revocation", response_class=HTMLResponse)
async def revoke(
    request: Request, key_id: KeyIdPath, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Revoke a key of the tenant; then the page again."""
    if not access.may(principal.role, "revoke_key"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        await run_in_threadpool(keys.revoke_in_tenant, services, principal, key_id, WEB)
    except NotFoundError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    return RedirectResponse(PAGE, status_code=303)


async def _shown_once(
    request: Request, visitor: Visitor, principal: Principal, services: Services, issued: IssuedKey, *, status: int
) -> Response:
    """The secret, once: to htmx the fragment it puts into the page (and the list, refreshed), else the page."""
    if wants_fragment(request):
        rows = await _rows(services, principal)
        return render(request, visitor, "_key_issued.html", status, issued=issued, keys=rows)
    return await _page(request, visitor, principal, services, issued=issued, status=status)


async def _rows(services: Services, principal: Principal) -> list[KeyPublic]:
    records = await run_in_threadpool(keys.tenant_keys, services, principal.tenant)
    return [KeyPublic.from_record(r) for r in records]


async def _page(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    *,
    issued: IssuedKey | None = None,
    refusal: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        visitor,
        "admin_keys.html",
        status,
        keys=await _rows(services, principal),
        issued=issued,
        refusal=refusal,
        typed=typed or {},
        roles=[r.value for r in access.Role],
    )
