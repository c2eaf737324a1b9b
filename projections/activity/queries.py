"""Reads of `audit_activity`: `since` and `until` are UTC days, both included."""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any

from projections.activity.reports import (
    ActivityRow,
    ActorActivity,
    OrganisationActivity,
    PeriodActivity,
    by_period,
    group_by_event_type,
    most_active_first,
)
from projections.activity.rows import NO_ORGANISATION, PRIVILEGED_EVENT_TYPES
from projections.periods import Period
from projections.sql import Reader


class ActivityQueries(Reader):
    """Reads of one generation's audit activity."""

    def activity(
        self, tenant: str, since: date, until: date, *, event_types: Collection[str] | None = None
    ) -> list[ActivityRow]:
        """The tenant's stored activity rows in the window (only of `event_types`, if given), oldest first."""
        where, params = self._window(tenant, since, until)
        if event_types is not None:
            if not event_types:
                return []
            where += f" AND event_type IN ({self.d.params(len(event_types))})"
            params.extend(sorted(event_types))
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT day, actor_id, actor_kind, organisation, event_type, changes FROM {self.names.activity} "
                f"WHERE {where} ORDER BY day, actor_id, actor_kind, organisation, event_type",
                params,
            )
            return [
                ActivityRow(
                    day=self.d.to_day(r["day"]),
                    actor_id=r["actor_id"],
                    actor_kind=r["actor_kind"],
                    organisation=_organisation(r["organisation"]),
                    event_type=r["event_type"],
                    changes=r["changes"],
                )
                for r in cursor.fetchall()
            ]

    def activity_by_actor(self, tenant: str, since: date, until: date) -> list[ActorActivity]:
        """Changes per actor in the window, by event type; the most active actor first."""
        rows = self._sums(tenant, since, until, ("actor_id", "actor_kind"))
        groups = group_by_event_type(((r["actor_id"], r["actor_kind"]), r["event_type"], r["changes"]) for r in rows)
        return [ActorActivity(actor_id, kind, counts) for (actor_id, kind), counts in most_active_first(groups)]

    def activity_by_organisation(self, tenant: str, since: date, until: date) -> list[OrganisationActivity]:
        """Changes per organisation in the window, by event type; the busiest organisation first."""
        rows = self._sums(tenant, since, until, ("organisation",))
        groups = group_by_event_type((_organisation(r["organisation"]), r["event_type"], r["changes"]) for r in rows)
        return [OrganisationActivity(organisation, counts) for organisation, counts in most_active_first(groups)]

    def activity_by_period(
        self, tenant: str, since: date, until: date, period: Period = Period.DAY
    ) -> list[PeriodActivity]:
        """Changes per day, ISO week or month of the window that saw any, by event type; oldest first."""
        rows = self._sums(tenant, since, until, ("day",))
        return by_period(((self.d.to_day(r["day"]), r["event_type"], r["changes"]) for r in rows), period, since, until)

    def privileged_activity(self, tenant: str, since: date, until: date) -> list[ActivityRow]:
        """The tenant's activity rows of privileged event types in the window, oldest first."""
        return self.activity(tenant, since, until, event_types=PRIVILEGED_EVENT_TYPES)

    def _sums(self, tenant: str, since: date, until: date, columns: tuple[str, ...]) -> list[Any]:
        """Changes summed per `columns` (fixed column names, never input) and event type, ordered by them."""
        where, params = self._window(tenant, since, until)
        grouped = ", ".join([*columns, "event_type"])
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT {grouped}, SUM(changes) AS changes FROM {self.names.activity} WHERE {where} "
                f"GROUP BY {grouped} ORDER BY {grouped}",
                params,
            )
            return list(cursor.fetchall())

    def _window(self, tenant: str, since: date, until: date) -> tuple[str, list[Any]]:
        p = self.d.placeholder
        return f"tenant = {p} AND day >= {p} AND day <= {p}", [tenant, self.d.day(since), self.d.day(until)]


def _organisation(stored: str) -> str | None:
    return None if stored == NO_ORGANISATION else stored
