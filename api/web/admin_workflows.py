"""The admins' "Workflows" page: each workflow and its versions, and an editor of states and transitions.

Saving publishes a version through the same command as `PUT /workflows/{name}` (api/routers/workflows.py),
checked by the same schema (api/workflow_schemas.py `WorkflowIn`) and then by the domain, which refuses
a graph that does not hold (a transition to no state, a way out of a closed state, ...) and says why.
A refused form comes back as it was typed, with that reason; nothing is stored.
"""

from __future__ import annotations

from contextlib import suppress
from typing import Annotated, Any, get_args

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.web.admin_forms import admits, field, listed, readable, rows
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, VisitorDep, check_form_token
from api.workflow_schemas import MoveRole, WorkflowIn, WorkflowOut
from domain import values
from domain.errors import InvalidValueError, NotFoundError
from domain.tickets.workflow import Status
from domain.workflows.catalogue import Version
from infrastructure.composition import Services
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/workflows"
#: Who may use the page: those who may publish workflows (reading them alone is the API's).
ACTIONS = ("put_workflow", "list_workflows", "get_workflow")

Name = Annotated[str, Path(max_length=64)]
STATE_COLUMNS = ("state_name", "state_category", "state_required")
TRANSITION_COLUMNS = ("move_from", "move_to", "move_roles", "move_requires")
#: How the schema's field names read on the page when it refuses one.
FIELD_WORDS = {
    "states": "state",
    "transitions": "transition",
    "required_fields": "required fields",
    "from": "from",
    "ticket_types": "ticket types",
}


@router.get(PAGE, response_class=HTMLResponse)
async def workflows_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The tenant's workflows (latest versions) and a form to start a new one."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    listed_now = await run_in_threadpool(services.desk.workflows, principal.tenant)
    return render(request, visitor, "admin_workflows.html", workflows=[WorkflowOut.of(v) for v in listed_now])


@router.get(PAGE + "/new", response_class=HTMLResponse)
async def new_workflow(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep, name: str = Query("")
) -> Response:
    """Go to the editor of the workflow named (a new one starts empty); a name that is no slug is said so."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    try:
        values.slug(name.strip(), "a workflow's name")
    except InvalidValueError as refused:
        listed_now = await run_in_threadpool(services.desk.workflows, principal.tenant)
        workflows = [WorkflowOut.of(v) for v in listed_now]
        return render(request, visitor, "admin_workflows.html", 422, workflows=workflows, refusal=str(refused))
    return RedirectResponse(f"{PAGE}/{name.strip()}", status_code=303)


@router.get(PAGE + "/rows/{kind}", response_class=HTMLResponse)
async def blank_row(request: Request, kind: str, visitor: VisitorDep, principal: SignedInDep) -> Response:
    """One more blank state or transition row for the editor (htmx adds it to the form)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if kind not in {"state", "transition"}:
        return render(request, visitor, "error.html", 404, reason="not-found")
    template = "_workflow_state_row.html" if kind == "state" else "_workflow_move_row.html"
    return render(request, visitor, template, row={}, categories=[s.value for s in Status])


@router.get(PAGE + "/{name}", response_class=HTMLResponse)
async def editor(
    request: Request,
    name: Name,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    version: Annotated[int | None, Query(ge=1, le=2**31 - 1)] = None,
) -> Response:
    """The editor, filled in with the workflow's latest version (or `version`); empty for a new name."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    try:
        shown = await run_in_threadpool(services.desk.workflow, principal.tenant, name, version)
    except NotFoundError:
        if version is not None:
            return render(request, visitor, "error.html", 404, reason="not-found")
        shown = None
    typed = _blank(name) if shown is None else _typed_of(WorkflowOut.of(shown))
    return await _editor(request, visitor, principal, services, name, typed)


@router.post(PAGE + "/{name}", response_class=HTMLResponse)
async def save(
    request: Request, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Publish the form as a new version; a refused one comes back as typed, with the reason."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    typed = _typed_of_form(await request.form())
    try:
        body = WorkflowIn.model_validate(_definition(typed))
        receipt = await run_in_threadpool(
            lambda: services.desk.publish_workflow(
                tenant=principal.tenant, name=name, definition=body.definition(), by=principal.actor, via=WEB
            )
        )
    except ValidationError as invalid:
        return await _editor(request, visitor, principal, services, name, typed, readable(invalid, FIELD_WORDS), 422)
    except InvalidValueError as refused:
        return await _editor(request, visitor, principal, services, name, typed, str(refused), 422)
    outcome = "saved" if receipt.position is not None else "unchanged"
    return RedirectResponse(f"{PAGE}/{name}?{outcome}={receipt.version}", status_code=303)


def _is_slug(name: str) -> bool:
    try:
        values.slug(name, "a workflow's name")
    except InvalidValueError:
        return False
    return True


def _blank(name: str) -> dict[str, Any]:
    """A new workflow's form: one state to start from."""
    return {
        "name": name,
        "version": None,
        "states": [{"state_name": "new", "state_category": "new", "state_required": ""}],
        "moves": [],
        "initial": "new",
        "ticket_types": "",
        "allow_open_children": False,
    }


def _typed_of(shown: WorkflowOut) -> dict[str, Any]:
    """A version as the form shows it: lists as comma-separated text."""
    return {
        "name": shown.name,
        "version": shown.version,
        "states": [
            {"state_name": s.name, "state_category": s.category.value, "state_required": ", ".join(s.required_fields)}
            for s in shown.states
        ],
        "moves": [
            {
                "move_from": t.source,
                "move_to": t.to,
                "move_roles": ", ".join(t.roles or []),
                "move_requires": ", ".join(t.requires),
            }
            for t in shown.transitions
        ],
        "initial": shown.initial,
        "ticket_types": ", ".join(shown.ticket_types),
        "allow_open_children": shown.allow_open_children,
    }


def _typed_of_form(form: Any) -> dict[str, Any]:
    """The form as it was sent, to be shown again if refused."""
    return {
        "version": None,
        "states": rows(form, *STATE_COLUMNS),
        "moves": rows(form, *TRANSITION_COLUMNS),
        "initial": field(form, "initial"),
        "ticket_types": field(form, "ticket_types"),
        "allow_open_children": field(form, "allow_open_children") == "on",
    }


def _definition(typed: dict[str, Any]) -> dict[str, Any]:
    """The definition the form stands for, in the API's words (the schema then checks it)."""
    return {
        "states": [
            {"name": s["state_name"], "category": s["state_category"], "required_fields": listed(s["state_required"])}
            for s in typed["states"]
        ],
        "transitions": [
            {
                "from": m["move_from"],
                "to": m["move_to"],
                "roles": listed(m["move_roles"]) or None,
                "requires": listed(m["move_requires"]),
            }
            for m in typed["moves"]
        ],
        "initial": typed["initial"],
        "ticket_types": listed(typed["ticket_types"]),
        "allow_open_children": typed["allow_open_children"],
    }


async def _editor(
    request: Request,
    visitor: Any,
    principal: Principal,
    services: Services,
    name: str,
    typed: dict[str, Any],
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    versions: list[Version] = []
    with suppress(NotFoundError):  # a workflow not published yet has no versions
        versions = await run_in_threadpool(services.desk.workflow_versions, principal.tenant, name)
    query = request.query_params
    return render(
        request,
        visitor,
        "admin_workflow.html",
        status,
        name=name,
        typed=typed,
        versions=[v.version for v in versions],
        refusal=refusal,
        saved=query.get("saved"),
        unchanged=query.get("unchanged"),
        categories=[s.value for s in Status],
        roles=list(get_args(MoveRole)),
    )
