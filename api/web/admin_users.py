"""The admins' "Users" page: the tenant's web users, a form to add one, and a button to deactivate one.

The same commands as `/users` (api/routers/users.py) and `ledgerdesk users create`, under the same
access policy's names (`list_users`, `create_user`, `deactivate_user`: admins only), checked by the
same schema (api/user_schemas.py `UserCreate`). A refused form comes back with what was typed (never
the password) and says why; nothing is stored.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.routers import users
from api.user_schemas import UserCreate, UserIdPath, UserPublic
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain.access import policy as access
from domain.errors import InvalidValueError, NotFoundError
from infrastructure.composition import Services
from infrastructure.keys import Principal
from infrastructure.users import LANGUAGES, PASSWORD_MIN_LENGTH

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/users"

Text = Annotated[str, Form(max_length=1024)]


@router.get(PAGE, response_class=HTMLResponse)
async def users_page(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """The tenant's users and the form to add one."""
    if not access.may(principal.role, "list_users"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    return await _page(request, visitor, principal, services)


@router.post(PAGE, response_class=HTMLResponse)
async def add_user(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    email: Text,
    password: Text,
    role: Text,
    groups: Text = "",
    organisation: Text = "",
    language: Text = "",
    time_zone: Text = "UTC",
) -> Response:
    """Add a user from the form; on a refusal, the page again with the form as filled in and why."""
    if not access.may(principal.role, "create_user"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    typed = {"email": email, "role": role, "groups": groups, "organisation": organisation, "language": language}
    try:
        body = UserCreate(
            email=email,
            password=password,  # pydantic makes the SecretStr
            role=role,  # pydantic checks it is a role
            groups=[g.strip() for g in groups.split(",") if g.strip()] or None,
            organisation=organisation.strip() or None,
            language=language or None,
            time_zone=time_zone.strip() or "UTC",
        )
        await run_in_threadpool(users.create_from, services, principal, body, WEB)
    except (ValidationError, InvalidValueError) as refused:
        said = str(refused) if isinstance(refused, InvalidValueError) else _first_error(refused)
        return await _page(request, visitor, principal, services, refusal=said, typed=typed, status=422)
    return RedirectResponse(f"{PAGE}?added={body.email.strip().lower()}", status_code=303)


@router.post(PAGE + "/{user_id}/deactivation", response_class=HTMLResponse)
async def deactivate(
    request: Request, user_id: UserIdPath, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Deactivate a user of the tenant; then the page again."""
    if not access.may(principal.role, "deactivate_user"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        await run_in_threadpool(services.deactivate_user, user_id, tenant=principal.tenant, by=principal.actor, via=WEB)
    except NotFoundError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    return RedirectResponse(PAGE, status_code=303)


def _first_error(error: ValidationError) -> str:
    first = error.errors()[0]
    return f"{'.'.join(str(p) for p in first['loc'])}: {first['msg']}"


async def _page(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    *,
    refusal: str | None = None,
    typed: dict[str, str] | None = None,
    status: int = 200,
) -> Response:
    users = await run_in_threadpool(services.users.of_tenant, principal.tenant)
    return render(
        request,
        visitor,
        "admin_users.html",
        status,
        users=[UserPublic.from_user(u) for u in users],
        refusal=refusal,
        typed=typed or {},
        added=request.query_params.get("added"),
        roles=[r.value for r in access.Role],
        languages_offered=LANGUAGES,
        password_min=PASSWORD_MIN_LENGTH,
    )
