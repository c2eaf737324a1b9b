"""The admins' "Users" page: the tenant's web users, a form to add one, and per user forms to change them.

Per user: their role and groups, a new password, deactivation. The same commands as `/users`
(api/routers/users.py) and `ledgerdesk users create`, under the same access policy's names
(`list_users`, `create_user`, `set_user_access`, `reset_user_password`, `deactivate_user`: admins
only), checked by the same schemas (api/user_schemas.py). A refused form comes back with what was
typed (never the password) and says why; nothing is stored. A reset password is shown once, as a
new API key's secret is (api/web/admin_keys.py).
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.routers import users
from api.user_schemas import UserAccess, UserCreate, UserIdPath, UserPublic
from api.web.pages import render, wants_fragment
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
    actor_id: Text = "",
    groups: Text = "",
    organisation: Text = "",
    language: Text = "",
    time_zone: Text = "UTC",
) -> Response:
    """Add a user from the form; on a refusal, the page again with the form as filled in and why."""
    if not access.may(principal.role, "create_user"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    typed = {"email": email, "role": role, "actor_id": actor_id, "groups": groups}
    typed |= {"organisation": organisation, "language": language}
    try:
        body = UserCreate(
            email=email,
            password=password,  # pydantic makes the SecretStr
            role=role,  # pydantic checks it is a role
            actor_id=actor_id.strip() or None,
            groups=_groups(groups),
            organisation=organisation.strip() or None,
            language=language or None,
            time_zone=time_zone.strip() or "UTC",
        )
        await run_in_threadpool(users.create_from, services, principal, body, WEB)
    except (ValidationError, InvalidValueError) as refused:
        said = str(refused) if isinstance(refused, InvalidValueError) else first_error(refused)
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


@router.post(PAGE + "/{user_id}/access", response_class=HTMLResponse)
async def change_access(
    request: Request,
    user_id: UserIdPath,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    role: Text,
    groups: Text = "",
) -> Response:
    """Give a user of the tenant a new role and groups; on a refusal, the page again and why."""
    if not access.may(principal.role, "set_user_access"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        body = UserAccess(role=role, groups=_groups(groups))  # pydantic checks the role and groups
        changed = await run_in_threadpool(
            services.set_user_access,
            user_id,
            tenant=principal.tenant,
            role=body.role,
            groups=body.groups,
            by=principal.actor,
            via=WEB,
        )
    except NotFoundError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    except (ValidationError, InvalidValueError) as refused:
        said = str(refused) if isinstance(refused, InvalidValueError) else first_error(refused)
        return await _page(request, visitor, principal, services, refusal=said, status=422)
    return RedirectResponse(f"{PAGE}?changed={changed.email}", status_code=303)


@router.post(PAGE + "/{user_id}/password-reset", response_class=HTMLResponse)
async def reset_password(
    request: Request, user_id: UserIdPath, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Give a user of the tenant a new password, shown this once; their sessions end."""
    if not access.may(principal.role, "reset_user_password"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        user, password = await run_in_threadpool(
            services.reset_password, user_id, tenant=principal.tenant, by=principal.actor, via=WEB
        )
    except NotFoundError:
        return render(request, visitor, "error.html", 404, reason="not-found")
    except InvalidValueError as refused:
        return await _page(request, visitor, principal, services, refusal=str(refused), status=422)
    reset = {"email": user.email, "password": password}
    if wants_fragment(request):
        return render(request, visitor, "_password_shown.html", reset=reset)
    return await _page(request, visitor, principal, services, reset=reset)


def _groups(text: str) -> list[str] | None:
    """Groups as the forms take them: separated by commas; none typed means every group."""
    return [g.strip() for g in text.split(",") if g.strip()] or None


def first_error(error: ValidationError) -> str:
    """The first thing a form's schema refused, as one line (the admin pages show it)."""
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
    reset: dict[str, str] | None = None,
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
        changed=request.query_params.get("changed"),
        reset=reset,
        roles=[r.value for r in access.Role],
        languages_offered=LANGUAGES,
        password_min=PASSWORD_MIN_LENGTH,
    )
