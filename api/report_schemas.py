"""Query parameters and bodies of the audit reports (`GET /audit/reports/...`)."""

from __future__ import annotations

from datetime import date
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

from api.read_schemas import Day, ReadQuery
from projections.activity.reports import ActivityRow, ActorActivity, OrganisationActivity, PeriodActivity
from projections.periods import Period, days_back

REPORT_DAYS = 30


class ReportQuery(ReadQuery):
    """The days a report covers, in UTC, both included. Default: the last 30 days, today included."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    start: Day | None = Field(
        default=None, alias="from", description="The first day counted. Default: 29 days before `to`."
    )
    end: Day | None = Field(
        default=None, alias="to", description="The last day counted (included). Default: today, or `from` if later."
    )

    @model_validator(mode="after")
    def _in_order(self) -> Self:
        if self.start is not None and self.end is not None and self.start > self.end:
            msg = "'from' must not be after 'to'"
            raise ValueError(msg)
        return self

    def window(self, today: date) -> tuple[date, date]:
        """The first and last day to count, defaults filled in relative to `today` (UTC)."""
        end = self.end or max(today, self.start or today)
        return self.start or days_back(end, REPORT_DAYS), end


class PeriodReportQuery(ReportQuery):
    """The days a periods report covers, and the periods it adds them up into."""

    period: Period = Field(default=Period.DAY, description="day, week (ISO, Monday to Sunday) or month.")


class ActivityCountsPublic(BaseModel):
    """How many changes (recorded events) a group of the report holds."""

    changes: int = Field(description="Events recorded in the group.")
    by_event_type: dict[str, int] = Field(
        description="The changes by event type: a ticket event's name (e.g. `Assigned`) or `SavedView.Created`.",
        examples=[{"Assigned": 3, "Opened": 1}],
    )


class ActorActivityPublic(ActivityCountsPublic):
    """What one actor changed in the tenant."""

    actor_id: str
    actor_kind: str = Field(description="agent, requester, api_client or system.")

    @classmethod
    def of(cls, activity: ActorActivity) -> ActorActivityPublic:
        """The public form of an actor's activity."""
        counts = activity.counts
        return cls(
            actor_id=activity.actor_id,
            actor_kind=activity.actor_kind,
            changes=counts.changes,
            by_event_type=counts.by_event_type,
        )


class OrganisationActivityPublic(ActivityCountsPublic):
    """What was changed for one organisation of the tenant."""

    organisation: str | None = Field(
        description="Null for changes that concern no organisation: tickets without one, and saved views."
    )

    @classmethod
    def of(cls, activity: OrganisationActivity) -> OrganisationActivityPublic:
        """The public form of an organisation's activity."""
        counts = activity.counts
        return cls(organisation=activity.organisation, changes=counts.changes, by_event_type=counts.by_event_type)


class PeriodActivityPublic(ActivityCountsPublic):
    """What was changed in one day, ISO week or month."""

    period: str = Field(description="The period's name: `2026-11-23`, `2026-W48` or `2026-11`.")
    start: date = Field(description="The period's first day within the report's window.")
    end: date = Field(description="The period's last day within the report's window (included).")

    @classmethod
    def of(cls, activity: PeriodActivity) -> PeriodActivityPublic:
        """The public form of a period's activity."""
        span, counts = activity.span, activity.counts
        return cls(
            period=span.label,
            start=span.start,
            end=span.end,
            changes=counts.changes,
            by_event_type=counts.by_event_type,
        )


class PrivilegedActionPublic(BaseModel):
    """Privileged changes of one kind, by one actor, for one organisation, on one day (UTC)."""

    day: date
    actor_id: str
    actor_kind: str
    organisation: str | None
    event_type: str
    changes: int

    @classmethod
    def of(cls, row: ActivityRow) -> PrivilegedActionPublic:
        """The public form of a stored activity row."""
        return cls(
            day=row.day,
            actor_id=row.actor_id,
            actor_kind=row.actor_kind,
            organisation=row.organisation,
            event_type=row.event_type,
            changes=row.changes,
        )


class Report(BaseModel):
    """What every audit report holds besides its entries."""

    model_config = ConfigDict(populate_by_name=True)

    start: date = Field(alias="from", description="The first day counted (UTC).")
    end: date = Field(alias="to", description="The last day counted (UTC), included.")
    view_position: int = Field(description="The log position the read model had applied when it answered.")


class ActorReport(Report):
    """Changes per actor in the tenant, the most active actor first."""

    items: list[ActorActivityPublic]


class OrganisationReport(Report):
    """Changes per organisation of the tenant, the busiest organisation first."""

    items: list[OrganisationActivityPublic]


class PeriodReport(Report):
    """Changes per day, ISO week or month, oldest first. Periods without changes are left out."""

    period: Period
    items: list[PeriodActivityPublic]


class PrivilegedReport(Report):
    """Privileged actions (key, policy, calendar and SLA changes, erasures), oldest first."""

    event_types: list[str] = Field(description="The event types that count as privileged.")
    items: list[PrivilegedActionPublic]
