"""The admins' "Groups and agents" page: the tenant's directory, and forms to define a group or an agent.

The same commands as `PUT /groups/{name}` and `PUT /agents/{agent_id}` (api/routers/directory.py),
under the same access policy's names (`list_groups`, `put_group`, `list_agents`, `put_agent`),
checked by the same schemas (`GroupIn`, `AgentIn`). The page changes only what its forms show: a
group keeps its members when its routing changes, and an agent keeps their e-mail address.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.routers import directory
from api.routers.directory import AgentIn, GroupIn
from api.web.admin_users import first_error
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain.access import policy as access
from domain.directory.directory import Routing
from domain.errors import DomainError, InvalidValueError, NotFoundError
from domain.helpdesk import HelpDesk
from infrastructure.composition import Services
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/groups"

Text = Annotated[str, Form(max_length=1024)]


@router.get(PAGE, response_class=HTMLResponse)
async def directory_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The tenant's groups and agents, and the forms to define them."""
    if not access.may(principal.role, "put_group"):  # the page is for those who shape the directory
        return render(request, visitor, "error.html", 403, reason="forbidden")
    return await _page(request, visitor, principal, services)


@router.post(PAGE, response_class=HTMLResponse)
async def define_group(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep, name: Text, routing: Text
) -> Response:
    """Define a group, or change its routing (its members stay); on a refusal, the page again and why."""
    if not access.may(principal.role, "put_group"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    typed = {"group": name, "routing": routing}
    try:
        members = _members(services.desk, principal.tenant, name.strip())
        body = GroupIn(members=members, routing=routing)  # pydantic checks the routing
        await run_in_threadpool(directory.put_group, name.strip(), body, services.desk, principal, WEB, Response())
    except (ValidationError, DomainError) as refused:
        return await _refused(request, visitor, principal, services, refused, typed)
    return RedirectResponse(f"{PAGE}?saved={name.strip()}", status_code=303)


@router.post(PAGE + "/agents", response_class=HTMLResponse)
async def define_agent(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    agent: Text,
    groups: Text = "",
    skills: Text = "",
    capacity: Text = "10",
    available: Text = "",
) -> Response:
    """Define an agent or change them (their e-mail address stays); on a refusal, the page again and why."""
    if not access.may(principal.role, "put_agent"):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    typed = {"agent": agent, "groups": groups, "skills": skills, "capacity": capacity, "available": available}
    try:
        body = AgentIn.model_validate(
            {
                "groups": [g.strip() for g in groups.split(",") if g.strip()],
                "skills": skill_levels(skills),
                "capacity": int(capacity) if capacity.strip().isdigit() else capacity,  # else pydantic says why
                "available": available == "on",
                "email": _email(services.desk, principal.tenant, agent.strip()),
            }
        )
        await run_in_threadpool(directory.put_agent, agent.strip(), body, services.desk, principal, WEB, Response())
    except (ValidationError, DomainError) as refused:
        return await _refused(request, visitor, principal, services, refused, typed)
    return RedirectResponse(f"{PAGE}?saved={agent.strip()}", status_code=303)


def skill_levels(text: str) -> dict[str, int]:
    """Skills as the form takes them, `vpn:3, printers` (a skill without a level is at level 1)."""
    levels: dict[str, int] = {}
    for part in (p.strip() for p in text.split(",")):
        if not part:
            continue
        name, _, level = part.partition(":")
        if level.strip() and not level.strip().isdigit():
            msg = f"a skill's level is a number from 1 to 10, as in vpn:3 (got {part!r})"
            raise InvalidValueError(msg)
        levels[name.strip()] = int(level) if level.strip() else 1
    return levels


def _members(desk: HelpDesk, tenant: str, group: str) -> list[str]:
    try:
        return desk.directory_group(tenant, group)[1]
    except NotFoundError:
        return []


def _email(desk: HelpDesk, tenant: str, agent: str) -> str | None:
    try:
        return desk.directory_agent(tenant, agent)[0].email
    except NotFoundError:
        return None


async def _refused(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    refused: Exception,
    typed: dict[str, str],
) -> Response:
    said = first_error(refused) if isinstance(refused, ValidationError) else str(refused)
    return await _page(request, visitor, principal, services, refusal=said, typed=typed, status=422)


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
    groups = await run_in_threadpool(directory.list_groups, services.desk, principal)
    agents = await run_in_threadpool(directory.list_agents, services.desk, principal)
    return render(
        request,
        visitor,
        "admin_directory.html",
        status,
        groups=groups.items,
        agents=agents.items,
        routings=[r.value for r in Routing],
        refusal=refusal,
        typed=typed or {},
        saved=request.query_params.get("saved"),
    )
