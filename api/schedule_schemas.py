"""The bodies of schedules: when a recurring ticket opens (an RRULE or a cron expression in a time zone) and what.

The domain checks them again when a schedule is defined (domain/schedules/); what only it and the
recurrence library can tell — an RRULE's parts, a cron field, a zone's name, the end after the
start — is 422 with `path` (`rrule/FREQ`, `cron/hour`, `timezone`, `end`, `template/group`).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from pydantic import BaseModel, ConfigDict, Field, StrictBool

from api.plain_text import Identifier, NonBlankText, PlainText, Slug
from api.schemas import CustomField
from domain.schedules.book import Schedule
from domain.schedules.catch_up import CatchUp
from domain.schedules.timing import RULE_MAX
from domain.values import Priority

#: The most occurrences a preview shows.
PREVIEW_MAX = 100
#: How many coming occurrences a schedule is shown with.
UPCOMING = 5
Rule = Annotated[PlainText, Field(min_length=1, max_length=RULE_MAX)]


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


class TemplateIn(Strict):
    """The ticket each occurrence opens, as `POST /tickets` takes one (no personal data: the requester by id)."""

    title: NonBlankText = Field(min_length=1, max_length=200, examples=["Server-room inspection (巡检)"])
    description: PlainText = Field(default="", max_length=10_000)
    requester_id: Identifier = Field(description="Who the ticket is for (a team's or a service's id will do).")
    organisation: Identifier | None = None
    priority: Priority = Priority.NORMAL
    type: Slug | None = Field(default=None, examples=["task"])
    group: Identifier | None = Field(default=None, description="Open it into this group's queue.")
    tags: list[Slug] = Field(default_factory=list, max_length=50)
    custom_fields: dict[Slug, CustomField] = Field(
        default_factory=dict, max_length=50, json_schema_extra={"additionalProperties": False}
    )

    def plain(self) -> dict[str, Any]:
        """The template as the domain takes it."""
        fields = {name: value.to_domain() for name, value in self.custom_fields.items()}
        return {**self.model_dump(mode="json", exclude={"custom_fields"}), "custom_fields": fields}


class ScheduleIn(Strict):
    """A schedule: when (`rrule` or `cron`, in `timezone`, from `start` to `end`), what to open, what to catch up."""

    title: NonBlankText = Field(min_length=1, max_length=200)
    enabled: StrictBool = True
    rrule: Rule | None = Field(
        default=None,
        description="An iCalendar RRULE (RFC 5545) without DTSTART or UNTIL: `start` and `end` say those.",
        examples=["FREQ=MONTHLY;BYDAY=1MO;BYHOUR=8;BYMINUTE=0"],
    )
    cron: Rule | None = Field(
        default=None, description="A cron expression of five fields, in local time.", examples=["0 8 * * MON-FRI"]
    )
    timezone: PlainText = Field(max_length=64, examples=["Europe/Berlin"], description="An IANA time zone name.")
    start: datetime = Field(description="Local wall-clock time of the zone (an offset given is read in the zone).")
    end: datetime | None = Field(default=None, description="No occurrence after this local time.")
    catch_up: CatchUp = Field(
        default=CatchUp.LATEST,
        description="Occurrences missed while no runner ran: all open, only the latest opens, or none does.",
    )
    template: TemplateIn


class ScheduleOut(BaseModel):
    """A schedule at one of its versions, with its next occurrences (local time of its zone)."""

    name: str
    version: int
    title: str
    enabled: bool
    rrule: str | None
    cron: str | None
    timezone: str
    start: datetime = Field(description="Local wall-clock time, with the zone's offset then.")
    end: datetime | None = Field(description="Local wall-clock time, with the zone's offset then.")
    catch_up: CatchUp
    template: dict[str, Any]
    counts_from: datetime = Field(description="Occurrences before this moment were never due.")
    next: list[datetime] = Field(description=f"The next {UPCOMING} occurrences from now (none when disabled).")

    @classmethod
    def of(cls, schedule: Schedule, upcoming: list[datetime]) -> ScheduleOut:
        """The answer for a schedule and its coming occurrences."""
        timing, zone = schedule.timing.as_dict(), schedule.timing.zone
        return cls(
            name=schedule.name,
            version=schedule.version,
            title=schedule.title,
            enabled=schedule.enabled,
            rrule=timing.get("rrule"),
            cron=timing.get("cron"),
            timezone=schedule.timing.timezone,
            start=schedule.timing.start.replace(tzinfo=zone),
            end=None if schedule.timing.end is None else schedule.timing.end.replace(tzinfo=zone),
            catch_up=schedule.catch_up,
            template=schedule.template.as_dict(),
            counts_from=schedule.counts_from,
            next=[moment.astimezone(zone) for moment in upcoming],
        )


class ScheduleList(BaseModel):
    """The tenant's schedules, by name."""

    items: list[ScheduleOut]


class SchedulePreview(BaseModel):
    """The schedule's next occurrences from `at`, in local time of its zone (nothing is stored)."""

    at: datetime
    occurrences: list[datetime]
