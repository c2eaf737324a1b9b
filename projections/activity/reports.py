"""What the audit reports hold, and how days of `audit_activity` add up into actors, organisations and periods.

The SQL in `ActivityQueries` (queries.py) sums the stored rows per group and event type; the functions here
fold those sums into report entries. Weeks and months are formed here, in Python, so the SQL
stays the same on SQLite and PostgreSQL.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import TypeVar

from projections.periods import Period, PeriodSpan, period_span

K = TypeVar("K", bound=Hashable)


@dataclass(frozen=True, slots=True)
class ActivityRow:
    """One stored `audit_activity` row: changes of one kind by one actor for one organisation on one day."""

    day: date
    actor_id: str
    actor_kind: str
    organisation: str | None
    event_type: str
    changes: int


@dataclass(frozen=True, slots=True)
class ActivityCounts:
    """Changes of one group, in all and by event type."""

    changes: int
    by_event_type: dict[str, int]


@dataclass(frozen=True, slots=True)
class ActorActivity:
    """What one actor changed."""

    actor_id: str
    actor_kind: str
    counts: ActivityCounts


@dataclass(frozen=True, slots=True)
class OrganisationActivity:
    """What was changed for one organisation (None: for no organisation)."""

    organisation: str | None
    counts: ActivityCounts


@dataclass(frozen=True, slots=True)
class PeriodActivity:
    """What was changed in one period."""

    span: PeriodSpan
    counts: ActivityCounts


def group_by_event_type(sums: Iterable[tuple[K, str, int]]) -> dict[K, ActivityCounts]:
    """Fold (group, event type, changes) sums into counts per group, in the order groups first appear."""
    by_group: dict[K, dict[str, int]] = {}
    for group, event_type, changes in sums:
        types = by_group.setdefault(group, {})
        types[event_type] = types.get(event_type, 0) + changes
    return {
        group: ActivityCounts(sum(types.values()), dict(sorted(types.items()))) for group, types in by_group.items()
    }


def most_active_first(groups: dict[K, ActivityCounts]) -> list[tuple[K, ActivityCounts]]:
    """Groups by descending changes; ties keep their order (the SQL orders them by name)."""
    return sorted(groups.items(), key=lambda item: -item[1].changes)


def by_period(daily: Iterable[tuple[date, str, int]], period: Period, since: date, until: date) -> list[PeriodActivity]:
    """Fold (day, event type, changes) sums, in day order, into periods with activity, oldest first."""
    spans = ((period_span(day, period, since, until), event_type, n) for day, event_type, n in daily)
    return [PeriodActivity(span, counts) for span, counts in group_by_event_type(spans).items()]
