"""The admins' "Rules" page: triggers, timed automations and macros, each with a form.

Saving calls the same endpoints' functions as `PUT /triggers/{name}`, `PUT /automations/{name}` and
`PUT /macros/{name}` (api/routers/automation.py), with the body checked by the same schemas
(api/automation_schemas.py). Title, position, enabled and the events a trigger runs on are form fields;
conditions and actions, which nest, are JSON in a text area (docs/automation.md says what they may
hold): JSON that does not parse is refused with its line and column, and anything the schema or the
domain refuses with their reason, the form kept as typed.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel, ValidationError
from starlette.concurrency import run_in_threadpool

from api.automation_schemas import AutomationIn, MacroIn, TriggerIn
from api.deps import ServicesDep
from api.routers import automation
from api.web.admin_forms import admits, field, listed, readable
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain import values
from domain.errors import InvalidValueError, NotFoundError
from domain.helpdesk import HelpDesk
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/rules"
ACTIONS = ("put_trigger", "put_automation", "put_macro", "list_triggers", "list_automations", "list_macros")
KINDS = ("triggers", "automations", "macros")
Kind = Annotated[str, Path(pattern="^(triggers|automations|macros)$")]
Name = Annotated[str, Path(max_length=64)]


class NotJsonError(ValueError):
    """A text area's JSON does not parse."""


@router.get(PAGE, response_class=HTMLResponse)
async def rules_page(request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep) -> Response:
    """The tenant's triggers and automations in the order they run, and its macros by name."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    desk = services.desk
    found = await run_in_threadpool(
        lambda: {
            "triggers": automation.list_triggers(desk, principal).items,
            "automations": automation.list_automations(desk, principal).items,
            "macros": automation.list_macros(desk, principal).items,
        }
    )
    return render(request, visitor, "admin_rules.html", rules=found, kinds=KINDS)


@router.get(PAGE + "/new", response_class=HTMLResponse)
async def new_rule(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    kind: Annotated[str, Query(max_length=16)] = "",
    name: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Go to the form of the rule named (a new one starts empty)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if kind not in KINDS or not _is_slug(name.strip()):
        return render(request, visitor, "error.html", 404, reason="not-found")
    return RedirectResponse(f"{PAGE}/{kind}/{name.strip()}", status_code=303)


@router.get(PAGE + "/{kind}/{name}", response_class=HTMLResponse)
async def rule_form(
    request: Request, kind: Kind, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The rule's form, filled in with its latest version."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    shown = await run_in_threadpool(_current, services.desk, principal, kind, name)
    return _page(request, visitor, kind, name, _typed(shown) if shown else _blank(kind))


@router.post(PAGE + "/{kind}/{name}", response_class=HTMLResponse)
async def save_rule(
    request: Request, kind: Kind, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Record the form as the rule's new version; a refused one comes back as typed, with the reason."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    form = await request.form()
    typed = {key: field(form, key) for key in ("title", "position", "enabled", "on", "conditions", "actions")}
    desk = services.desk
    try:
        body = _body(kind, typed)
        await run_in_threadpool(_put, desk, principal, kind, name, body)
    except NotJsonError as refused:
        return _page(request, visitor, kind, name, typed, str(refused), 422)
    except ValidationError as invalid:
        return _page(request, visitor, kind, name, typed, readable(invalid), 422)
    except InvalidValueError as refused:
        return _page(request, visitor, kind, name, typed, str(refused), 422)
    return RedirectResponse(f"{PAGE}/{kind}/{name}?saved=1", status_code=303)


def _put(desk: HelpDesk, principal: Principal, kind: str, name: str, body: BaseModel) -> None:
    """The API's own PUT, with the web as the channel."""
    if isinstance(body, TriggerIn):
        automation.put_trigger(name, body, desk, principal, WEB, Response())
    elif isinstance(body, AutomationIn):
        automation.put_automation(name, body, desk, principal, WEB, Response())
    elif isinstance(body, MacroIn):
        automation.put_macro(name, body, desk, principal, WEB, Response())


def _current(desk: HelpDesk, principal: Principal, kind: str, name: str) -> BaseModel | None:
    try:
        if kind == "triggers":
            return automation.get_trigger(name, desk, principal)
        if kind == "automations":
            return automation.get_automation(name, desk, principal)
        return automation.get_macro(name, desk, principal)
    except NotFoundError:
        return None


def _is_slug(name: str) -> bool:
    try:
        values.slug(name, "a rule's name")
    except InvalidValueError:
        return False
    return True


def _blank(kind: str) -> dict[str, str]:
    conditions = {
        "triggers": {"all": [{"field": "priority", "op": "equals", "value": "urgent"}]},
        "automations": {"all": [{"field": "hours_in_status", "op": "gte", "value": 72}]},
    }.get(kind)
    return {
        "title": "",
        "position": "0",
        "enabled": "on",
        "on": "created",
        "conditions": "" if conditions is None else json.dumps(conditions, indent=2),
        "actions": json.dumps([{"add_tags": ["example"]}], indent=2),
    }


def _typed(shown: BaseModel) -> dict[str, str]:
    plain = shown.model_dump(mode="json")
    return {
        "title": plain["title"],
        "position": str(plain.get("position", 0)),
        "enabled": "on" if plain.get("enabled", True) else "",
        "on": ", ".join(plain.get("on", [])),
        "conditions": json.dumps(plain["conditions"], indent=2, ensure_ascii=False) if "conditions" in plain else "",
        "actions": json.dumps(plain["actions"], indent=2, ensure_ascii=False),
    }


def _json(text: str, what: str) -> Any:
    """The JSON of a text area, or NotJsonError saying where it stops parsing."""
    if not text.strip():
        return None
    try:
        return json.loads(text)
    except json.JSONDecodeError as bad:
        msg = f"{what}: not JSON (line {bad.lineno}, column {bad.colno}: {bad.msg})"
        raise NotJsonError(msg) from None


def _body(kind: str, typed: dict[str, str]) -> BaseModel:
    actions = _json(typed["actions"], "actions")
    if kind == "macros":
        return MacroIn.model_validate({"title": typed["title"], "actions": actions})
    conditions = _json(typed["conditions"], "conditions")
    position = int(typed["position"]) if typed["position"].isdigit() else typed["position"]
    common = {"title": typed["title"], "position": position, "enabled": typed["enabled"] == "on", "actions": actions}
    if kind == "triggers":
        return TriggerIn.model_validate({**common, "on": listed(typed["on"]), "conditions": conditions})
    return AutomationIn.model_validate({**common, "conditions": conditions})


def _page(
    request: Request,
    visitor: Visitor,
    kind: str,
    name: str,
    typed: dict[str, str],
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        visitor,
        "admin_rule.html",
        status,
        kind=kind,
        name=name,
        typed=typed,
        refusal=refusal,
        saved=request.query_params.get("saved") if refusal is None else None,
    )
