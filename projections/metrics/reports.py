"""Service-metric reports: volume, response and resolution times, SLA compliance, backlog, reopens, agents, CSAT.

The SQL (queries.py) selects a tenant's facts in a window from the metric tables (tables.py) and
the SLA status model (`sla_targets`); the grouping into days, weeks, months, channels, types, groups
or policies and every median and percentile is computed here, in Python, so the figures are the
same on SQLite and PostgreSQL. Days are UTC days; a window is `since`..`until`, both included.

Percentiles use linear interpolation between closest ranks (PostgreSQL's `percentile_cont`,
numpy's default, Excel's `PERCENTILE.INC`): for `n` sorted values `x[0..n-1]` the p-th percentile
is `x[i] + f * (x[i+1] - x[i])` where `i + f = (n - 1) * p / 100`. The median is the 50th.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import TypeVar

from projections.metrics.rows import DailyFlow
from projections.periods import Period, period_span

T = TypeVar("T")
Attributes = Mapping[str, str | None]


def percentile(values: Sequence[float], p: int) -> float | None:
    """The p-th percentile (0-100) of the values by linear interpolation; None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    rank, part = divmod((len(ordered) - 1) * p, 100)  # exact: the interpolation point is rank + part / 100
    if part == 0:
        return ordered[rank]
    return ordered[rank] + (ordered[rank + 1] - ordered[rank]) * part / 100


class Grouping(StrEnum):
    """What a report's entries are: the whole window, periods of it, or the values of an attribute."""

    ALL = "all"
    DAY = "day"
    WEEK = "week"  # ISO weeks, Monday to Sunday
    MONTH = "month"
    CHANNEL = "channel"
    TYPE = "type"
    GROUP = "group"
    POLICY = "policy"
    TARGET = "target"

    @property
    def is_period(self) -> bool:
        """Whether entries are spans of time (every one of the window is listed, empty or not)."""
        return self in (Grouping.ALL, Grouping.DAY, Grouping.WEEK, Grouping.MONTH)


@dataclass(frozen=True, slots=True)
class Window:
    """The days a report covers (UTC, both included)."""

    since: date
    until: date

    @property
    def start(self) -> datetime:
        """The first moment in the window."""
        return datetime.combine(self.since, time(), UTC)

    @property
    def end(self) -> datetime:
        """The first moment after the window."""
        return datetime.combine(self.until + timedelta(days=1), time(), UTC)

    def days(self) -> list[date]:
        """Every day of the window, in order."""
        return [self.since + timedelta(days=n) for n in range((self.until - self.since).days + 1)]


@dataclass(frozen=True, slots=True)
class Bucket:
    """One entry of a report: a span of days (key: its label, None for the whole window) or an attribute value."""

    key: str | None
    start: date | None = None
    end: date | None = None


def bucket_of(grouping: Grouping, window: Window, day: date, attributes: Attributes) -> Bucket:
    """The entry a fact of `day` with these attributes falls in."""
    if grouping is Grouping.ALL:
        return Bucket(None, window.since, window.until)
    if grouping.is_period:
        span = period_span(day, Period(grouping.value), window.since, window.until)
        return Bucket(span.label, span.start, span.end)
    return Bucket(attributes.get(grouping.value))


def period_buckets(grouping: Grouping, window: Window) -> list[Bucket]:
    """Every span of the window, oldest first, for a period grouping; nothing for an attribute grouping."""
    if not grouping.is_period:
        return []
    return list(dict.fromkeys(bucket_of(grouping, window, day, {}) for day in window.days()))


def arrange(
    grouping: Grouping, window: Window, found: dict[Bucket, T], empty: Callable[[], T], weight: Callable[[T], float]
) -> list[tuple[Bucket, T]]:
    """Entries in report order: spans oldest first, all of them; values heaviest first, then by name (None last)."""
    if grouping.is_period:
        return [(b, found[b] if b in found else empty()) for b in period_buckets(grouping, window)]
    return sorted(found.items(), key=lambda item: (-weight(item[1]), item[0].key is None, item[0].key or ""))


@dataclass(frozen=True, slots=True)
class Summary:
    """The count, median and 90th percentile of some durations, in minutes (None without durations)."""

    count: int
    median: float | None
    p90: float | None

    @classmethod
    def of(cls, minutes: Sequence[float]) -> Summary:
        """Summarise durations."""
        return cls(len(minutes), percentile(minutes, 50), percentile(minutes, 90))


@dataclass(frozen=True, slots=True)
class Sample:
    """A duration observed on a day, with the ticket's attributes."""

    day: date
    attributes: Attributes
    minutes: float


def summaries(grouping: Grouping, window: Window, samples: Iterable[Sample]) -> dict[Bucket, Summary]:
    """Durations summarised per entry."""
    grouped: dict[Bucket, list[float]] = {}
    for s in samples:
        grouped.setdefault(bucket_of(grouping, window, s.day, s.attributes), []).append(s.minutes)
    return {bucket: Summary.of(minutes) for bucket, minutes in grouped.items()}


# --- report entries -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class VolumeEntry:
    """Tickets created in one entry."""

    bucket: Bucket
    created: int


@dataclass(frozen=True, slots=True)
class TimesEntry:
    """First-response and resolution times of one entry, in calendar and in business minutes."""

    bucket: Bucket
    first_response: Summary
    first_response_business: Summary
    resolution: Summary
    resolution_business: Summary


@dataclass
class Compliance:
    """Targets met and breached."""

    met: int = 0
    breached: int = 0


@dataclass(frozen=True, slots=True)
class ComplianceEntry:
    """SLA targets met and breached in one entry."""

    bucket: Bucket
    met: int
    breached: int


@dataclass(frozen=True, slots=True)
class BacklogDay:
    """How tickets moved on one day, and the backlog at its end."""

    day: date
    flow: DailyFlow
    backlog: int


@dataclass(frozen=True, slots=True)
class ReopenEntry:
    """Moves to solved and reopens in one entry."""

    bucket: Bucket
    solved: int
    reopened: int


@dataclass(frozen=True, slots=True)
class AgentEntry:
    """One agent's solves in the window, and their handle times."""

    agent: str
    solved: int
    handle: Summary


@dataclass
class Satisfaction:
    """Ratings and how many of them were satisfied."""

    ratings: int = 0
    satisfied: int = 0


@dataclass(frozen=True, slots=True)
class CsatEntry:
    """Latest ratings per ticket given in one entry."""

    bucket: Bucket
    ratings: int
    satisfied: int


@dataclass(frozen=True, slots=True)
class TargetOutcome:
    """How an SLA target ended up: met or breached, at which moment."""

    attributes: Attributes
    met: bool
    at: datetime
