"""The days, ISO weeks and months that reports count in: UTC days, periods cut to a report's window."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum


class Period(StrEnum):
    """How a report groups days."""

    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"


@dataclass(frozen=True, slots=True)
class PeriodSpan:
    """A day, ISO week or month, cut to the report's window."""

    label: str  # 2026-11-23, 2026-W48 or 2026-11
    start: date
    end: date


def utc_day(moment: datetime) -> date:
    """The UTC calendar day of a moment."""
    return moment.astimezone(UTC).date()


def days_back(today: date, days: int) -> date:
    """The first day of a window of `days` days ending today."""
    return today - timedelta(days=days - 1)


def period_span(day: date, period: Period, since: date, until: date) -> PeriodSpan:
    """The period a day falls in, cut to the window `since`..`until` (both included)."""
    if period is Period.DAY:
        return PeriodSpan(day.isoformat(), day, day)
    if period is Period.WEEK:
        year, week, _ = day.isocalendar()
        start = day - timedelta(days=day.weekday())
        end = start + timedelta(days=6)
        label = f"{year}-W{week:02d}"
    else:
        start = day.replace(day=1)
        end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
        label = f"{day:%Y-%m}"
    return PeriodSpan(label, max(start, since), min(end, until))
