"""The admins' "Service levels" page: business calendars and SLA policies as forms, and a preview of due times.

Saving a calendar or a policy is the same command as `PUT /sla/calendars/{name}` and `PUT /sla/policies/{name}`
(api/routers/sla.py), checked by the same schemas (api/sla_schemas.py) and then by the domain. The preview
picks the policy a ticket of the priority given would run under (the domain's `select_policy`, first match
in order) and counts each target's minutes in its calendar from the start given, as
`GET /sla/calendars/{name}/due` does.
"""

from __future__ import annotations

from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.sla_schemas import CalendarIn, PolicyIn
from api.web.admin_forms import admits, field, listed, readable, rows
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain import values
from domain.errors import InvalidValueError, NotFoundError
from domain.pipeline import ConfigReceipt
from domain.sla.calendar import BeyondHorizonError
from domain.sla.conditions import TicketFacts
from domain.sla.policy import select_policy
from domain.values import Priority
from infrastructure.composition import Services
from infrastructure.keys import Principal
from infrastructure.readmodels.waiting import TooManyWaitsError

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/sla"
ACTIONS = ("put_calendar", "put_policy", "list_calendars", "list_policies", "calendar_due")
#: How long a save waits for the lists to show it (they are read models); then the page shows what it has.
SHOWN_WITHIN_SECONDS = 5.0

Name = Annotated[str, Path(max_length=64)]
INTERVAL_COLUMNS = ("interval_start", "interval_end", "interval_weekday")
HOLIDAY_COLUMNS = ("holiday_day", "holiday_yearly", "holiday_name")
TARGETS = ("first_response", "next_response", "update", "resolution")
CONDITIONS = ("groups", "types", "organisations", "tags", "customer_tiers")
PAUSES = ("pending", "on_hold")
WORDS = {"intervals": "working hours", "holidays": "holiday", "timezone": "time zone", "targets": "targets"}


@dataclass(frozen=True, slots=True)
class DueTime:
    """One target of the preview: its minutes, and when it would be due (or why it would not be)."""

    target: str
    minutes: int
    due: datetime | None
    beyond: str | None = None


@router.get(PAGE, response_class=HTMLResponse)
async def sla_page(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    services: ServicesDep,
    start: Annotated[str, Query(max_length=32)] = "",
    priority: Annotated[str, Query(max_length=16)] = "",
) -> Response:
    """The calendars, the policies in the order they are tried, and (asked for) the due times of a ticket."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    sla = services.read_models.sla()
    calendars = await run_in_threadpool(sla.calendars, principal.tenant)
    policies = await run_in_threadpool(sla.policies, principal.tenant)
    preview: dict[str, Any] | None = None
    if start or priority:
        preview = await run_in_threadpool(_preview, services, principal, visitor, start, priority)
    return render(
        request,
        visitor,
        "admin_sla.html",
        422 if preview and preview.get("refusal") else 200,
        calendars=calendars,
        policies=policies,
        preview=preview,
        asked={"start": start, "priority": priority or Priority.NORMAL.value},
        priorities=[p.value for p in Priority],
        saved=_saved(request.query_params.get("saved", "")),
    )


@router.get(PAGE + "/new", response_class=HTMLResponse)
async def new_config(
    request: Request,
    visitor: VisitorDep,
    principal: SignedInDep,
    kind: Annotated[str, Query(max_length=16)] = "",
    name: Annotated[str, Query(max_length=64)] = "",
) -> Response:
    """Go to the form of the calendar or policy named (a new one starts empty)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if kind not in {"calendars", "policies"} or not _is_slug(name.strip()):
        return render(request, visitor, "error.html", 404, reason="not-found")
    return RedirectResponse(f"{PAGE}/{kind}/{name.strip()}", status_code=303)


@router.get(PAGE + "/rows/{kind}", response_class=HTMLResponse)
async def blank_row(request: Request, kind: str, visitor: VisitorDep, principal: SignedInDep) -> Response:
    """One more blank working-hours or holiday row (htmx adds it to the form)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    templates = {"interval": "_sla_interval_row.html", "holiday": "_sla_holiday_row.html"}
    if kind not in templates:
        return render(request, visitor, "error.html", 404, reason="not-found")
    return render(request, visitor, templates[kind], row={})


# --- calendars ------------------------------------------------------------------------------------


@router.get(PAGE + "/calendars/{name}", response_class=HTMLResponse)
async def calendar_form(
    request: Request, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The calendar's form, filled in with its latest version (a new one: Monday to Friday, 09:00-17:00)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    version, definition = None, _office_hours(visitor.time_zone)
    with suppress(NotFoundError):
        calendar = await run_in_threadpool(services.desk.work_calendar, principal.tenant, name)
        version, definition = calendar.version, calendar.definition
    return _calendar_page(request, visitor, name, version, _typed_calendar(definition))


@router.post(PAGE + "/calendars/{name}", response_class=HTMLResponse)
async def save_calendar(
    request: Request, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Record the form as the calendar's new version; a refused one comes back as typed, with the reason."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    form = await request.form()
    typed = {
        "timezone": field(form, "timezone"),
        "intervals": rows(form, *INTERVAL_COLUMNS),
        "holidays": rows(form, *HOLIDAY_COLUMNS),
    }
    try:
        body = CalendarIn.model_validate(_calendar_definition(typed))
        receipt = await run_in_threadpool(
            lambda: services.desk.define_calendar(
                tenant=principal.tenant, name=name, definition=body.model_dump(mode="json"), by=principal.actor, via=WEB
            )
        )
    except ValidationError as invalid:
        return _calendar_page(request, visitor, name, None, typed, readable(invalid, WORDS), 422)
    except InvalidValueError as refused:
        return _calendar_page(request, visitor, name, None, typed, str(refused), 422)
    await _shown(services, principal, receipt)
    return RedirectResponse(f"{PAGE}?saved=calendar:{name}:{receipt.version}", status_code=303)


# --- policies ---------------------------------------------------------------------------------------


@router.get(PAGE + "/policies/{name}", response_class=HTMLResponse)
async def policy_form(
    request: Request, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The policy's form, filled in with its latest version (a new one: last in order, 24x7)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    typed: dict[str, Any] = {"position": "100", "calendar": "", "warning_minutes": "15", "pause_statuses": ["pending"]}
    with suppress(NotFoundError):
        policy = await run_in_threadpool(services.desk.sla_policy, principal.tenant, name)
        typed = _typed_policy(policy.position, policy.terms)
    return await _policy_page(request, visitor, principal, services, name, typed)


@router.post(PAGE + "/policies/{name}", response_class=HTMLResponse)
async def save_policy(
    request: Request, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Record the form as the policy's new version; a refused one comes back as typed, with the reason."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    form = await request.form()
    typed: dict[str, Any] = {
        key: field(form, key)
        for key in ("position", "calendar", "warning_minutes", "raise_priority_to", "reassign_group", "notify")
    }
    typed |= {key: field(form, key) for key in (*TARGETS, *CONDITIONS)}
    typed["priorities"] = [str(p) for p in form.getlist("priorities")]
    typed["pause_statuses"] = [str(p) for p in form.getlist("pause_statuses")]
    try:
        body = PolicyIn.model_validate(_policy_body(typed))
        receipt = await run_in_threadpool(
            lambda: services.desk.define_policy(
                tenant=principal.tenant,
                name=name,
                position=body.position,
                terms=body.terms(),
                by=principal.actor,
                via=WEB,
            )
        )
    except ValidationError as invalid:
        return await _policy_page(request, visitor, principal, services, name, typed, readable(invalid, WORDS), 422)
    except (InvalidValueError, NotFoundError) as refused:
        return await _policy_page(request, visitor, principal, services, name, typed, str(refused), 422)
    await _shown(services, principal, receipt)
    return RedirectResponse(f"{PAGE}?saved=policy:{name}:{receipt.version}", status_code=303)


def _saved(said: str) -> dict[str, str] | None:
    """What a save said it saved (`calendar:NAME:VERSION`), for the notice; anything else says nothing."""
    parts = said.split(":")
    if len(parts) != 3 or not _is_slug(parts[1]) or not parts[2].isdigit():
        return None
    return {"name": parts[1], "version": parts[2]}


# --- the preview ------------------------------------------------------------------------------------


def _preview(services: Services, principal: Principal, visitor: Visitor, start: str, priority: str) -> dict[str, Any]:
    """The policy a ticket of `priority` opened at `start` (the visitor's wall time) would run under, and its dues."""
    try:
        chosen = values.priority(priority or Priority.NORMAL.value)
        moment = datetime.fromisoformat(start).replace(tzinfo=ZoneInfo(visitor.time_zone))
    except (InvalidValueError, ValueError):
        return {"refusal": "start"}
    policies = services.read_models.sla().policies(principal.tenant)
    found = select_policy([(row, row.policy_terms) for row in policies], TicketFacts(priority=chosen))
    if found is None:
        return {"policy": None}
    row, _ = found
    applied = services.desk.applied_policy(principal.tenant, row.name)
    dues = []
    for target, minutes in applied.terms.targets.items():
        try:
            dues.append(DueTime(target.value, minutes, applied.calendar.add_business_minutes(moment, minutes)))
        except BeyondHorizonError as beyond:
            dues.append(DueTime(target.value, minutes, None, str(beyond)))
    return {"policy": applied, "dues": dues, "start": moment}


# --- between the form and the schemas ---------------------------------------------------------------


def _is_slug(name: str) -> bool:
    try:
        values.slug(name, "a name")
    except InvalidValueError:
        return False
    return True


def _office_hours(time_zone: str) -> dict[str, Any]:
    """A new calendar's form: Monday to Friday, 09:00 to 17:00, in the admin's time zone."""
    intervals = [{"weekday": day, "start": "09:00", "end": "17:00"} for day in range(5)]
    return {"timezone": time_zone, "intervals": intervals, "holidays": []}


def _typed_calendar(definition: dict[str, Any]) -> dict[str, Any]:
    return {
        "timezone": definition["timezone"],
        "intervals": [
            {"interval_weekday": str(i["weekday"]), "interval_start": i["start"], "interval_end": i["end"]}
            for i in definition["intervals"]
        ],
        "holidays": [
            {"holiday_day": h["day"], "holiday_yearly": "yes" if h.get("yearly") else "no", "holiday_name": h["name"]}
            for h in definition["holidays"]
        ],
    }


def _calendar_definition(typed: dict[str, Any]) -> dict[str, Any]:
    return {
        "timezone": typed["timezone"],
        "intervals": [
            {"weekday": _number(i["interval_weekday"]), "start": i["interval_start"], "end": i["interval_end"]}
            for i in typed["intervals"]
        ],
        "holidays": [
            {"day": h["holiday_day"], "yearly": h["holiday_yearly"] == "yes", "name": h["holiday_name"]}
            for h in typed["holidays"]
        ],
    }


def _typed_policy(position: int, terms: dict[str, Any]) -> dict[str, Any]:
    conditions, escalation = terms.get("conditions", {}), terms.get("escalation") or {}
    targets = terms.get("targets", {})
    return {
        "position": str(position),
        "calendar": terms.get("calendar_id") or "",
        "warning_minutes": str(terms.get("warning_minutes", 15)),
        "pause_statuses": list(terms.get("pause_statuses", [])),
        "priorities": list(conditions.get("priorities", [])),
        **{key: ", ".join(conditions.get(key, [])) for key in CONDITIONS},
        **{key: str(targets[key]) if key in targets else "" for key in TARGETS},
        "raise_priority_to": escalation.get("raise_priority_to") or "",
        "reassign_group": escalation.get("reassign_group") or "",
        "notify": ", ".join(escalation.get("notify", [])),
    }


def _policy_body(typed: dict[str, Any]) -> dict[str, Any]:
    escalation = {
        "raise_priority_to": typed["raise_priority_to"] or None,
        "reassign_group": typed["reassign_group"] or None,
        "notify": listed(typed["notify"]),
    }
    return {
        "position": _number(typed["position"]),
        "calendar": typed["calendar"] or None,
        "conditions": {"priorities": typed["priorities"], **{key: listed(typed[key]) for key in CONDITIONS}},
        "targets": {key: _number(typed[key]) for key in TARGETS if typed[key]},
        "pause_statuses": typed["pause_statuses"],
        "warning_minutes": _number(typed["warning_minutes"] or "0"),
        "escalation": escalation if any(escalation.values()) else None,
    }


def _number(text: str) -> int | str:
    """A whole number as typed, or the text itself for the schema to refuse in its words."""
    return int(text) if text.strip().isdigit() else text


async def _shown(services: Services, principal: Principal, receipt: ConfigReceipt) -> None:
    """Wait a little for the lists (read models) to show the change, so the page the admin lands on does."""
    if receipt.position is not None:
        with suppress(TooManyWaitsError):
            await services.read_models.reach(receipt.position, SHOWN_WITHIN_SECONDS, caller=principal.actor.id)


def _calendar_page(
    request: Request,
    visitor: Visitor,
    name: str,
    version: int | None,
    typed: dict[str, Any],
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request, visitor, "admin_sla_calendar.html", status, name=name, version=version, typed=typed, refusal=refusal
    )


async def _policy_page(
    request: Request,
    visitor: Visitor,
    principal: Principal,
    services: Services,
    name: str,
    typed: dict[str, Any],
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    calendars = await run_in_threadpool(services.read_models.sla().calendars, principal.tenant)
    return render(
        request,
        visitor,
        "admin_sla_policy.html",
        status,
        name=name,
        typed=typed,
        refusal=refusal,
        calendars=[c.name for c in calendars],
        priorities=[p.value for p in Priority],
        targets=TARGETS,
        pauses=PAUSES,
    )
