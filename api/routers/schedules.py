"""Schedules: recurring ticket templates of a tenant (domain/schedules), versioned, and their next occurrences.

Read from the tenant's schedule book itself (an aggregate), so a change is there the moment its
PUT answers. A schedule that cannot be recorded is 422 with `path`, the part at fault; nothing
is stored then. Occurrences are shown in local time of the schedule's zone.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from api.deps import ChannelDep, DeskDep, PrincipalDep
from api.plain_text import Slug
from api.problems import problem_responses
from api.routers.tickets import POSITION_HEADER
from api.routers.workflows import VersionQuery
from api.schedule_schemas import PREVIEW_MAX, UPCOMING, ScheduleIn, ScheduleList, ScheduleOut, SchedulePreview
from domain.helpdesk import HelpDesk
from domain.schedules.book import Schedule

router = APIRouter(tags=["schedules"])


def _out(desk: HelpDesk, schedule: Schedule) -> ScheduleOut:
    upcoming = desk.upcoming(schedule, desk.clock(), UPCOMING) if schedule.enabled else []
    return ScheduleOut.of(schedule, upcoming)


@router.put("/schedules/{name}", response_model=ScheduleOut, responses=problem_responses(401, 403, 422))
def put_schedule(
    name: Slug, body: ScheduleIn, desk: DeskDep, principal: PrincipalDep, via: ChannelDep, response: Response
) -> ScheduleOut:
    """Define a schedule or change it: a new version (the same definition records nothing; enabled false disables)."""
    receipt = desk.define_schedule(
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
        template=body.template.plain(),
        by=principal.actor,
        via=via,
    )
    if receipt.position is not None:
        response.headers[POSITION_HEADER] = str(receipt.position)
    return _out(desk, desk.schedule(principal.tenant, receipt.name))


@router.get("/schedules", response_model=ScheduleList, responses=problem_responses(401, 403))
def list_schedules(desk: DeskDep, principal: PrincipalDep) -> ScheduleList:
    """The tenant's schedules, disabled ones too, by name, each with its next occurrences."""
    book = desk.schedule_book(principal.tenant)
    return ScheduleList(items=[_out(desk, s) for s in ([] if book is None else book.all())])


@router.get("/schedules/{name}", response_model=ScheduleOut, responses=problem_responses(401, 403, 404, 422))
def get_schedule(name: Slug, desk: DeskDep, principal: PrincipalDep, version: VersionQuery = None) -> ScheduleOut:
    """A schedule at its latest version, or at `version` (the one a ticket's history names), with what comes next."""
    return _out(desk, desk.schedule(principal.tenant, name, version))


@router.get("/schedules/{name}/preview", response_model=SchedulePreview, responses=problem_responses(401, 403, 404))
def preview_schedule(
    name: Slug,
    desk: DeskDep,
    principal: PrincipalDep,
    count: Annotated[int, Query(ge=1, le=PREVIEW_MAX, description="How many occurrences.")] = 10,
) -> SchedulePreview:
    """The schedule's next `count` occurrences from now, enabled or not (a dry run: nothing is stored)."""
    schedule = desk.schedule(principal.tenant, name)
    now = desk.clock()
    upcoming = desk.upcoming(schedule, now, count)
    return SchedulePreview(at=now, occurrences=[moment.astimezone(schedule.timing.zone) for moment in upcoming])
