"""Bodies and answers of the SLA endpoints: calendars, policies, the calculator, a ticket's SLA."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal
from uuid import UUID

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictBool, field_validator

from api.plain_text import Identifier, PlainText, Slug
from api.read_schemas import Day, JsonInt, Moment, json_integer
from domain.sla.calendar import WEEKLY_MINUTES_MIN
from domain.sla.policy import MINUTES_MAX, TARGET_MINUTES_MAX
from domain.sla.target_status import TargetStatus
from domain.values import Priority

PauseStatus = Literal["pending", "on_hold"]
PAUSED_BY_DEFAULT: PauseStatus = "pending"


class Strict(BaseModel):
    """Unknown fields are an error."""

    model_config = ConfigDict(extra="forbid")


#: A wall-clock time as the calendar reads it (`domain.sla.calendar`): 00:00 to 23:59:59.
TIME_OF_DAY = r"^(?:[01][0-9]|2[0-3]):[0-5][0-9](?::[0-5][0-9])?$"
#: An interval's end: a time of day, or 24:00 for midnight at the end of the day.
END_OF_INTERVAL = rf"^(?:{TIME_OF_DAY.strip('^$')}|24:00)$"


class IntervalIn(Strict):
    """Working time on one weekday, local wall-clock time."""

    weekday: JsonInt = Field(ge=0, le=6, description="0 = Monday ... 6 = Sunday.")
    start: str = Field(pattern=TIME_OF_DAY, examples=["09:00"], description="HH:MM or HH:MM:SS.")
    end: str = Field(
        pattern=END_OF_INTERVAL,
        examples=["17:00"],
        description="HH:MM or HH:MM:SS, later than start; 24:00 = midnight.",
    )


class HolidayIn(Strict):
    """A day off: one date, or the same month and day every year from then on."""

    day: Day
    yearly: StrictBool = False
    name: PlainText = Field(default="", max_length=200)


class CalendarIn(Strict):
    """A business calendar: time zone, weekly working hours (several per day allowed), holidays."""

    timezone: PlainText = Field(max_length=64, examples=["Europe/Berlin"], description="An IANA time zone name.")
    intervals: list[IntervalIn] = Field(
        min_length=1, max_length=70, description=f"Open at least {WEEKLY_MINUTES_MIN} minutes a week in all."
    )
    holidays: list[HolidayIn] = Field(default_factory=list, max_length=2000)

    @field_validator("intervals")
    @classmethod
    def open_long_enough(cls, intervals: list[IntervalIn]) -> list[IntervalIn]:
        """Refuse a week with less working time than WEEKLY_MINUTES_MIN (the domain checks it again)."""
        minutes = sum(max(_minute_of_day(i.end) - _minute_of_day(i.start), 0) for i in intervals)
        if minutes < WEEKLY_MINUTES_MIN:
            msg = f"a business calendar must be open at least {WEEKLY_MINUTES_MIN} minutes a week (got {minutes:g})"
            raise ValueError(msg)
        return intervals


def _minute_of_day(text: str) -> float:
    """Minutes since midnight of HH:MM or HH:MM:SS (the field's pattern has been checked)."""
    hours, minutes, *seconds = (int(part) for part in text.split(":"))
    return hours * 60 + minutes + sum(seconds) / 60


class CalendarOut(BaseModel):
    """A calendar version."""

    name: str
    version: int
    timezone: str
    intervals: list[dict[str, Any]]
    holidays: list[dict[str, Any]]

    @classmethod
    def of(cls, name: str, version: int, definition: dict[str, Any]) -> CalendarOut:
        """From a stored definition."""
        return cls(name=name, version=version, **definition)


class CalendarList(BaseModel):
    """The tenant's calendars."""

    items: list[CalendarOut]


class ConditionsIn(Strict):
    """Which tickets a policy covers; an empty list means any. Tags: any of them."""

    priorities: list[Priority] = Field(default_factory=list)
    groups: list[Identifier] = Field(default_factory=list, max_length=100)
    types: list[Slug] = Field(default_factory=list, max_length=100)
    organisations: list[Identifier] = Field(default_factory=list, max_length=100)
    tags: list[Slug] = Field(default_factory=list, max_length=100)
    customer_tiers: list[Slug] = Field(
        default_factory=list,
        max_length=100,
        description="The requester's customer tier (their profile's, PUT /customers/{id}/profile) as the ticket's "
        "events are folded: a ticket matches when it is one of these. A requester without a tier matches only "
        "when the list is empty; a tier set later counts from the ticket's next event.",
    )


#: Business minutes of one target (bounded: see TARGET_MINUTES_MAX).
TargetMinutes = Annotated[int, Field(ge=1, le=TARGET_MINUTES_MAX), BeforeValidator(json_integer)]
#: A policy's version number.
PolicyVersion = Annotated[int, Field(ge=1, le=2**31 - 1), BeforeValidator(json_integer)]


class TargetsIn(Strict):
    """Target minutes (business minutes of the policy's calendar); an absent target is not tracked."""

    first_response: TargetMinutes | None = None
    next_response: TargetMinutes | None = None
    update: TargetMinutes | None = Field(
        default=None,
        description="Update time: from the requester's oldest unanswered public message (the request itself when "
        "they opened the ticket) to the next public agent reply, before the first response as after it.",
    )
    resolution: TargetMinutes | None = None


class EscalationIn(Strict):
    """What happens on a breach, each an ordinary event on the ticket."""

    raise_priority_to: Priority | None = None
    reassign_group: Identifier | None = None
    notify: list[Identifier] = Field(
        default_factory=list,
        max_length=20,
        description="Supervisors to mention in a note.",
        json_schema_extra={"uniqueItems": True},
    )


class PolicyIn(Strict):
    """An SLA policy. Policies are tried in `position` order; the first that matches a ticket applies."""

    position: JsonInt = Field(ge=0, le=10_000)
    conditions: ConditionsIn = Field(default_factory=ConditionsIn)
    calendar: Slug | None = Field(default=None, description="A calendar's name; none: calendar time (24x7).")
    targets: TargetsIn
    pause_statuses: list[PauseStatus] = Field(default_factory=lambda: [PAUSED_BY_DEFAULT])
    warning_minutes: JsonInt = Field(default=15, ge=0, le=TARGET_MINUTES_MAX, description="Warn this long before due.")
    escalation: EscalationIn | None = None

    def terms(self) -> dict[str, Any]:
        """The policy terms in the domain's plain form (its name is added by the domain)."""
        return {
            "conditions": {k: [str(v) for v in vs] for k, vs in self.conditions.model_dump(mode="json").items()},
            "calendar_id": self.calendar,
            "targets": self.targets.model_dump(exclude_none=True),
            "pause_statuses": list(self.pause_statuses),
            "warning_minutes": self.warning_minutes,
            "escalation": None if self.escalation is None else self.escalation.model_dump(mode="json"),
        }


class PolicyOut(BaseModel):
    """A policy version."""

    name: str
    version: int
    position: int
    terms: dict[str, Any] = Field(description="Conditions, calendar_id, targets, pause_statuses, warning_minutes.")


class PolicyList(BaseModel):
    """The tenant's policies in the order they are tried."""

    items: list[PolicyOut]


Direction = Literal["after", "before"]


class DueOut(BaseModel):
    """`minutes` business minutes after `start` in the calendar (or, `direction` before, the latest moment before)."""

    calendar: str
    version: int
    start: datetime
    minutes: float
    direction: Direction = "after"
    due: datetime


class MinutesOut(BaseModel):
    """Business minutes between two moments in the calendar."""

    calendar: str
    version: int
    start: datetime
    end: datetime
    minutes: float


class DueQuery(Strict):
    """Calculator input: a start and a number of business minutes, counted after it or back before it."""

    start: Moment
    minutes: float = Field(ge=0, le=MINUTES_MAX)
    direction: Direction = Field(
        default="after", description="after: the due moment; before: the latest moment that many minutes earlier."
    )
    version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="A calendar version; default latest.")


class BetweenQuery(Strict):
    """Calculator input: two moments."""

    start: Moment
    end: Moment
    version: int | None = Field(default=None, ge=1, le=2**31 - 1)


class TargetOut(BaseModel):
    """One SLA target of a ticket, judged at `as_of`."""

    target: str
    policy: str
    policy_version: int
    target_minutes: int
    state: Literal["active", "paused", "met", "breached"]
    at_risk: bool = Field(description="Active and within the policy's warning lead time of being due.")
    cycle: int
    started_at: datetime
    due_at: datetime | None
    warn_at: datetime | None
    elapsed_minutes: float = Field(description="As of the ticket's last change (for a stored target).")
    remaining_minutes: float
    fulfilled_at: datetime | None
    breached_at: datetime | None
    pauses: int
    ended_at: datetime | None
    no_due_reason: str | None = Field(
        default=None, description="Why an active target has no due moment (due_at is null): its calendar's horizon."
    )

    @classmethod
    def judged(cls, t: TargetStatus, now: datetime) -> TargetOut:
        """A target as of `now`: a running target whose due moment has passed is breached."""
        state = t.state.value
        breached_at = t.breached_at
        if state == "active" and t.due_at is not None and t.due_at <= now:
            state, breached_at = "breached", t.due_at
        at_risk = state == "active" and t.warn_at is not None and t.warn_at <= now
        return cls(
            target=t.target.value,
            policy=t.policy_id,
            policy_version=t.policy_version,
            target_minutes=t.target_minutes,
            state=state,
            at_risk=at_risk,
            cycle=t.cycle,
            started_at=t.started_at,
            due_at=t.due_at,
            warn_at=t.warn_at,
            elapsed_minutes=t.elapsed_minutes,
            remaining_minutes=t.remaining_minutes,
            fulfilled_at=t.fulfilled_at,
            breached_at=breached_at,
            pauses=t.pauses,
            ended_at=t.ended_at,
            no_due_reason=t.no_due_reason,
        )


class TicketSlaQuery(Strict):
    """Which figures: the stored ones, or recomputed from the ticket's history under a policy version."""

    policy: Slug | None = Field(default=None, description="Recompute under this policy (default: stored figures).")
    policy_version: int | None = Field(default=None, ge=1, le=2**31 - 1, description="Default: the latest.")
    at: Moment | None = Field(default=None, description="Judge at this moment (default: now).")
    min_position: int | None = Field(default=None, ge=0, le=2**63 - 1)


class TicketSla(BaseModel):
    """A ticket's SLA targets."""

    ticket_id: UUID
    recomputed: bool = Field(description="True when recomputed from the history under the given policy version.")
    judged_at: datetime
    targets: list[TargetOut]


class ApplyIn(Strict):
    """Apply a policy version to tickets retroactively: their SLA clocks are recomputed from their history."""

    version: PolicyVersion | None = Field(default=None, description="Default: the latest.")
    tickets: list[UUID] | None = Field(
        default=None, max_length=1000, description="These tickets; default: every unsolved ticket the policy matches."
    )


class ApplyOut(BaseModel):
    """What a retroactive application recorded."""

    policy: str
    version: int
    tickets: int
    position: int | None
