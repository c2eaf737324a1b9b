"""The admins' "Schedules" page: recurring tickets, each with its next occurrences, and a form per schedule.

Saving is the same command as `PUT /schedules/{name}` (api/routers/schedules.py), checked by the same
schema (api/schedule_schemas.py `ScheduleIn`) and then by the domain, whose refusal names the part at
fault (the rule, the time zone, the template ...). The next occurrences are the domain's `upcoming`, as
`GET /schedules/{name}/preview` gives them. The template's custom fields stay as they are (the API sets them).
"""

from __future__ import annotations

from contextlib import suppress
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from api.deps import ServicesDep
from api.schedule_schemas import UPCOMING, ScheduleIn, ScheduleOut
from api.web.admin_forms import admits, field, listed, readable
from api.web.pages import render
from api.web.portal import WEB
from api.web.visitors import SignedInDep, Visitor, VisitorDep, check_form_token
from domain import values
from domain.errors import InvalidValueError, NotFoundError
from domain.schedules.book import Schedule
from domain.schedules.catch_up import CatchUp
from domain.values import Priority
from infrastructure.composition import Services
from infrastructure.keys import Principal

router = APIRouter(include_in_schema=False, dependencies=[Depends(check_form_token)])
PAGE = "/admin/schedules"
ACTIONS = ("put_schedule", "list_schedules", "get_schedule", "preview_schedule")
Name = Annotated[str, Path(max_length=64)]
FIELDS = ("title", "rrule", "cron", "timezone", "start", "end", "catch_up")
TEMPLATE = ("t_title", "t_description", "t_requester_id", "t_organisation", "t_priority", "t_type", "t_group", "t_tags")


@router.get(PAGE, response_class=HTMLResponse)
async def schedules_page(
    request: Request, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The tenant's schedules, disabled ones too, each with its next occurrences."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    shown = await run_in_threadpool(_schedules, services, principal)
    return render(request, visitor, "admin_schedules.html", schedules=shown, saved=request.query_params.get("saved"))


@router.get(PAGE + "/new", response_class=HTMLResponse)
async def new_schedule(
    request: Request, visitor: VisitorDep, principal: SignedInDep, name: Annotated[str, Query(max_length=64)] = ""
) -> Response:
    """Go to the form of the schedule named (a new one starts empty)."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name.strip()):
        return render(request, visitor, "error.html", 404, reason="not-found")
    return RedirectResponse(f"{PAGE}/{name.strip()}", status_code=303)


@router.get(PAGE + "/{name}", response_class=HTMLResponse)
async def schedule_form(
    request: Request, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """The schedule's form, filled in with its latest version, and its next occurrences."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    shown = await run_in_threadpool(_one, services, principal, name)
    typed = (
        _typed(shown) if shown is not None else {"timezone": visitor.time_zone, "enabled": "on", "catch_up": "latest"}
    )
    return _page(request, visitor, name, typed, shown)


@router.post(PAGE + "/{name}", response_class=HTMLResponse)
async def save_schedule(
    request: Request, name: Name, visitor: VisitorDep, principal: SignedInDep, services: ServicesDep
) -> Response:
    """Record the form as the schedule's new version; a refused one comes back as typed, with the reason."""
    if not admits(principal, ACTIONS):
        return render(request, visitor, "error.html", 403, reason="forbidden")
    if not _is_slug(name):
        return render(request, visitor, "error.html", 404, reason="not-found")
    form = await request.form()
    typed = {key: field(form, key) for key in (*FIELDS, *TEMPLATE, "enabled")}
    try:
        body = ScheduleIn.model_validate(_body(typed))
        template = body.template.plain()
        with suppress(NotFoundError):  # the custom fields the API set stay as they are
            current: Schedule = await run_in_threadpool(services.desk.schedule, principal.tenant, name)
            template["custom_fields"] = dict(current.template.custom_fields)
        await run_in_threadpool(
            lambda: services.desk.define_schedule(
                tenant=principal.tenant,
                name=name,
                title=body.title,
                enabled=body.enabled,
                rrule=body.rrule,
                cron=body.cron,
                timezone=body.timezone,
                start=body.start,
                end=body.end,
                catch_up=body.catch_up.value,
                template=template,
                by=principal.actor,
                via=WEB,
            )
        )
    except ValidationError as invalid:
        return _page(request, visitor, name, typed, None, readable(invalid, {"template": "ticket"}), 422)
    except InvalidValueError as refused:
        return _page(request, visitor, name, typed, None, str(refused), 422)
    return RedirectResponse(f"{PAGE}/{name}?saved=1", status_code=303)


def _schedules(services: Services, principal: Principal) -> list[ScheduleOut]:
    book = services.desk.schedule_book(principal.tenant)
    return [_out(services, s) for s in ([] if book is None else book.all())]


def _one(services: Services, principal: Principal, name: str) -> ScheduleOut | None:
    try:
        return _out(services, services.desk.schedule(principal.tenant, name))
    except NotFoundError:
        return None


def _out(services: Services, schedule: Schedule) -> ScheduleOut:
    """As the API shows it: with its next occurrences from now (none while disabled)."""
    desk = services.desk
    return ScheduleOut.of(schedule, desk.upcoming(schedule, desk.clock(), UPCOMING) if schedule.enabled else [])


def _is_slug(name: str) -> bool:
    try:
        values.slug(name, "a schedule's name")
    except InvalidValueError:
        return False
    return True


def _typed(shown: ScheduleOut) -> dict[str, str]:
    template = shown.template
    return {
        "title": shown.title,
        "enabled": "on" if shown.enabled else "",
        "rrule": shown.rrule or "",
        "cron": shown.cron or "",
        "timezone": shown.timezone,
        "start": _local(shown.start),
        "end": _local(shown.end),
        "catch_up": shown.catch_up.value,
        "t_title": template["title"],
        "t_description": template["description"],
        "t_requester_id": template["requester_id"],
        "t_organisation": template["organisation"] or "",
        "t_priority": template["priority"],
        "t_type": template["type"] or "",
        "t_group": template["group"] or "",
        "t_tags": ", ".join(template["tags"]),
    }


def _local(moment: datetime | None) -> str:
    """A wall-clock time as a datetime-local field holds it."""
    return "" if moment is None else moment.replace(tzinfo=None).isoformat(timespec="minutes")


def _body(typed: dict[str, str]) -> dict[str, Any]:
    return {
        "title": typed["title"],
        "enabled": typed["enabled"] == "on",
        "rrule": typed["rrule"] or None,
        "cron": typed["cron"] or None,
        "timezone": typed["timezone"],
        "start": typed["start"],
        "end": typed["end"] or None,
        "catch_up": typed["catch_up"] or CatchUp.LATEST.value,
        "template": {
            "title": typed["t_title"],
            "description": typed["t_description"],
            "requester_id": typed["t_requester_id"],
            "organisation": typed["t_organisation"] or None,
            "priority": typed["t_priority"] or Priority.NORMAL.value,
            "type": typed["t_type"] or None,
            "group": typed["t_group"] or None,
            "tags": listed(typed["t_tags"]),
        },
    }


def _page(
    request: Request,
    visitor: Visitor,
    name: str,
    typed: dict[str, str],
    shown: ScheduleOut | None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    return render(
        request,
        visitor,
        "admin_schedule.html",
        status,
        name=name,
        typed=typed,
        shown=shown,
        refusal=refusal,
        saved=request.query_params.get("saved") if refusal is None else None,
        priorities=[p.value for p in Priority],
        catch_ups=[c.value for c in CatchUp],
    )
