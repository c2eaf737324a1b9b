"""Query parameters and bodies of the service-metric reports (`GET /reports/...`)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from enum import StrEnum
from typing import Annotated, ClassVar, Self

from pydantic import AfterValidator, BaseModel, Field, model_validator

from api.read_schemas import Day, ReadQuery
from domain.errors import InvalidValueError
from domain.sla.policy import SlaTarget
from projections.metrics.reports import (
    AgentEntry,
    BacklogDay,
    Bucket,
    ComplianceEntry,
    CsatEntry,
    ReopenEntry,
    Summary,
    TimesEntry,
    VolumeEntry,
    Window,
)
from projections.periods import days_back

REPORT_DAYS = 30
MAX_REPORT_DAYS = 3660  # ten years: every span of a window is listed, so a window has a bound
EARLIEST, LATEST = date(1970, 1, 1), date(9999, 12, 30)
MINUTE_DECIMALS = 2  # durations are rounded to 0.01 minute, percentages to 0.01 %


def _within_reach(day: date) -> date:
    if not EARLIEST <= day <= LATEST:
        msg = f"a report day lies between {EARLIEST} and {LATEST}"
        raise ValueError(msg)
    return day


#: A day a report can count: JSON Schema has no bounds for dates, so the bounds are in the
#: description and checked here.
ReportDay = Annotated[Day, AfterValidator(_within_reach)]


class OutputFormat(StrEnum):
    """How a report is written."""

    JSON = "json"
    CSV = "csv"


class TicketBy(StrEnum):
    """Entries of a report about tickets: the whole window, its spans, or the tickets' current attributes."""

    ALL = "all"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    CHANNEL = "channel"
    TYPE = "type"
    GROUP = "group"


class ComplianceBy(StrEnum):
    """Entries of the SLA compliance report."""

    ALL = "all"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"
    POLICY = "policy"
    GROUP = "group"
    TARGET = "target"


class PeriodBy(StrEnum):
    """Entries of a report of spans of time."""

    ALL = "all"
    DAY = "day"
    WEEK = "week"
    MONTH = "month"


BY_DESCRIPTION = (
    "What each entry is: `all` (one entry for the whole window), `day`, `week` (ISO, Monday to Sunday) or "
    "`month` (every span of the window is listed, empty ones too)"
)


class MetricsQuery(ReadQuery):
    """The days a report covers, in UTC, both included (default: the last 30 days, today included)."""

    since: ReportDay | None = Field(
        default=None,
        description=f"The first day counted, {EARLIEST} to {LATEST}. Default: 29 days before `until`.",
    )
    until: ReportDay | None = Field(
        default=None,
        description=f"The last day counted (included), {EARLIEST} to {LATEST}. Default: today, or `since` if later.",
    )
    format: OutputFormat | None = Field(
        default=None, description="`csv` for CSV, as `Accept: text/csv` also asks; default JSON."
    )

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.since is not None and self.until is not None and self.since > self.until:
            msg = "'since' must not be after 'until'"
            raise ValueError(msg)
        return self

    def window(self, today: date) -> Window:
        """The days to count, defaults filled in relative to `today` (UTC)."""
        until = self.until or max(today, self.since or today)
        since = self.since or max(days_back(until, REPORT_DAYS), EARLIEST)
        if (until - since).days >= MAX_REPORT_DAYS:
            msg = f"a report covers at most {MAX_REPORT_DAYS} days; narrow 'since' .. 'until'"
            raise InvalidValueError(msg)
        return Window(since, until)


class VolumeQuery(MetricsQuery):
    """Tickets created, per span or per current channel, type or group."""

    by: TicketBy = Field(default=TicketBy.DAY, description=f"{BY_DESCRIPTION}, or `channel`, `type` or `group`.")


class TimesQuery(MetricsQuery):
    """First-response and resolution times, for the window or per span, channel, type or group."""

    by: TicketBy = Field(default=TicketBy.ALL, description=f"{BY_DESCRIPTION}, or `channel`, `type` or `group`.")


class ComplianceQuery(MetricsQuery):
    """SLA compliance per policy, group, target or span."""

    by: ComplianceBy = Field(
        default=ComplianceBy.POLICY, description=f"{BY_DESCRIPTION}, or `policy`, `group` or `target`."
    )
    target: SlaTarget | None = Field(default=None, description="Count only this target. Default: every target.")


class ReopenQuery(MetricsQuery):
    """Reopen rate, for the window or per span."""

    by: PeriodBy = Field(default=PeriodBy.ALL, description=f"{BY_DESCRIPTION}.")


class CsatQuery(MetricsQuery):
    """Customer satisfaction, for the window or per span, channel, type or group."""

    by: TicketBy = Field(default=TicketBy.ALL, description=f"{BY_DESCRIPTION}, or `channel`, `type` or `group`.")


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, MINUTE_DECIMALS)


def _percent(part: int, whole: int) -> float | None:
    return None if whole == 0 else round(100 * part / whole, MINUTE_DECIMALS)


class EntryPublic(BaseModel):
    """Which entry of a report this is."""

    key: str | None = Field(
        description="The span (`2026-11-23`, `2026-W48`, `2026-11`; null for `by=all`), or the channel, type, "
        "group, policy or target; null: tickets without one."
    )
    start: date | None = Field(description="A span's first day within the window; null for other entries.")
    end: date | None = Field(description="A span's last day within the window (included); null for other entries.")

    @staticmethod
    def fields_of(bucket: Bucket) -> dict[str, str | date | None]:
        """The entry's fields of a bucket."""
        return {"key": bucket.key, "start": bucket.start, "end": bucket.end}


class SummaryPublic(BaseModel):
    """How many durations, their median and 90th percentile (linear interpolation), in minutes."""

    count: int
    median_minutes: float | None = Field(description="Null without durations.")
    p90_minutes: float | None = Field(description="Null without durations.")

    @classmethod
    def of(cls, summary: Summary) -> SummaryPublic:
        """The public form of a summary (minutes rounded to 0.01)."""
        return cls(count=summary.count, median_minutes=_round(summary.median), p90_minutes=_round(summary.p90))


class DurationPublic(BaseModel):
    """One duration, in calendar minutes and in business minutes of the SLA policy's calendar."""

    calendar: SummaryPublic = Field(description="From the ticket's own moments; every ticket counts.")
    business: SummaryPublic = Field(
        description="The SLA target's elapsed business minutes (pauses excluded); tickets an SLA policy tracks."
    )


class VolumeEntryPublic(EntryPublic):
    """Tickets created in one entry."""

    created: int

    @classmethod
    def of(cls, entry: VolumeEntry) -> VolumeEntryPublic:
        """The public form of a volume entry."""
        return cls(**cls.fields_of(entry.bucket), created=entry.created)


class TimesEntryPublic(EntryPublic):
    """First-response and resolution times of one entry."""

    first_response: DurationPublic = Field(description="From the opening to the first public reply of an agent.")
    resolution: DurationPublic = Field(description="From the opening to the latest move to solved.")

    @classmethod
    def of(cls, entry: TimesEntry) -> TimesEntryPublic:
        """The public form of a times entry."""
        return cls(
            **cls.fields_of(entry.bucket),
            first_response=DurationPublic(
                calendar=SummaryPublic.of(entry.first_response),
                business=SummaryPublic.of(entry.first_response_business),
            ),
            resolution=DurationPublic(
                calendar=SummaryPublic.of(entry.resolution), business=SummaryPublic.of(entry.resolution_business)
            ),
        )


class ComplianceEntryPublic(EntryPublic):
    """SLA targets met and breached in one entry."""

    met: int
    breached: int
    compliance_pct: float | None = Field(description="100 * met / (met + breached); null when both are 0.")

    @classmethod
    def of(cls, entry: ComplianceEntry) -> ComplianceEntryPublic:
        """The public form of a compliance entry."""
        return cls(
            **cls.fields_of(entry.bucket),
            met=entry.met,
            breached=entry.breached,
            compliance_pct=_percent(entry.met, entry.met + entry.breached),
        )


class BacklogDayPublic(BaseModel):
    """How tickets moved on one day (UTC), and the backlog at its end."""

    day: date
    opened: int
    solved: int = Field(description="Moves to solved.")
    reopened: int = Field(description="Moves from solved back to an unsolved status.")
    closed: int = Field(description="Moves to closed, from any status.")
    closed_unsolved: int = Field(description="Moves to closed straight from an unsolved status.")
    backlog: int = Field(description="Tickets in an unsolved status (new, open, pending, on_hold) at the day's end.")

    @classmethod
    def of(cls, day: BacklogDay) -> BacklogDayPublic:
        """The public form of a backlog day."""
        f = day.flow
        return cls(
            day=day.day,
            opened=f.opened,
            solved=f.solved,
            reopened=f.reopened,
            closed=f.closed,
            closed_unsolved=f.closed_unsolved,
            backlog=day.backlog,
        )


class ReopenEntryPublic(EntryPublic):
    """Moves to solved and reopens in one entry."""

    solved: int
    reopened: int
    reopen_pct: float | None = Field(description="100 * reopened / solved; null when nothing was solved.")

    @classmethod
    def of(cls, entry: ReopenEntry) -> ReopenEntryPublic:
        """The public form of a reopen entry."""
        return cls(
            **cls.fields_of(entry.bucket),
            solved=entry.solved,
            reopened=entry.reopened,
            reopen_pct=_percent(entry.reopened, entry.solved),
        )


class AgentEntryPublic(BaseModel):
    """One agent's solves and handle times."""

    agent: str
    solved: int = Field(description="Moves to solved while the ticket was assigned to the agent.")
    handle: SummaryPublic = Field(
        description="Calendar minutes from the agent taking on the unsolved ticket (assignment, or the reopen "
        "if later) to the solve; `count` is the solves whose start is known."
    )

    @classmethod
    def of(cls, entry: AgentEntry) -> AgentEntryPublic:
        """The public form of an agent entry."""
        return cls(agent=entry.agent, solved=entry.solved, handle=SummaryPublic.of(entry.handle))


class CsatEntryPublic(EntryPublic):
    """Ratings of one entry: each ticket's latest rating, if given in the window."""

    ratings: int
    satisfied: int = Field(description="Ratings `good`, 4 or 5.")
    satisfied_pct: float | None = Field(description="100 * satisfied / ratings; null without ratings.")

    @classmethod
    def of(cls, entry: CsatEntry) -> CsatEntryPublic:
        """The public form of a CSAT entry."""
        return cls(
            **cls.fields_of(entry.bucket),
            ratings=entry.ratings,
            satisfied=entry.satisfied,
            satisfied_pct=_percent(entry.satisfied, entry.ratings),
        )


class MetricsReport(BaseModel):
    """What every service-metric report holds besides its entries."""

    since: date = Field(description="The first day counted (UTC).")
    until: date = Field(description="The last day counted (UTC), included.")
    view_position: int = Field(description="The log position the read models had applied when it answered.")
    items: Sequence[BaseModel]

    entry: ClassVar[type[BaseModel]]  # the model of `items` (what CSV columns are made of)


class VolumeReport(MetricsReport):
    """Tickets created per span (by the day they were opened) or per current channel, type or group."""

    by: TicketBy
    items: list[VolumeEntryPublic]

    entry = VolumeEntryPublic


class TimesReport(MetricsReport):
    """First-response and resolution times: median and 90th percentile, calendar and business minutes."""

    by: TicketBy
    items: list[TimesEntryPublic]

    entry = TimesEntryPublic


class ComplianceReport(MetricsReport):
    """SLA targets met and breached, by the moment of their outcome, and the compliance percentage."""

    by: ComplianceBy
    target: SlaTarget | None
    items: list[ComplianceEntryPublic]

    entry = ComplianceEntryPublic


class BacklogReport(MetricsReport):
    """Every day of the window: tickets opened, solved, reopened and closed, and the backlog at the day's end."""

    items: list[BacklogDayPublic]

    entry = BacklogDayPublic


class ReopenReport(MetricsReport):
    """Reopens and moves to solved, and the reopen rate."""

    by: PeriodBy
    items: list[ReopenEntryPublic]

    entry = ReopenEntryPublic


class AgentReport(MetricsReport):
    """Solves and handle times per agent, the agent with most solves first."""

    items: list[AgentEntryPublic]

    entry = AgentEntryPublic


class CsatReport(MetricsReport):
    """Customer satisfaction: tickets whose latest rating was given in the window, and the share satisfied."""

    by: TicketBy
    items: list[CsatEntryPublic]

    entry = CsatEntryPublic
