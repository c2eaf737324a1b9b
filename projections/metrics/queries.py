"""Reads of the metric tables and SLA targets behind the service-metric reports (their shapes: reports.py)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Any

from projections.metrics.reports import (
    AgentEntry,
    Attributes,
    BacklogDay,
    Bucket,
    Compliance,
    ComplianceEntry,
    CsatEntry,
    Grouping,
    ReopenEntry,
    Sample,
    Satisfaction,
    Summary,
    TargetOutcome,
    TimesEntry,
    VolumeEntry,
    Window,
    arrange,
    bucket_of,
    summaries,
)
from projections.metrics.rows import DailyFlow, minutes_between, satisfied
from projections.metrics.tables import FLOWS, SOLVES, TICKETS
from projections.periods import utc_day
from projections.sql import Dialect, Reader


class MetricQueries(Reader):
    """Reads of one generation's metric tables and SLA targets for the service-metric reports."""

    def volume(self, tenant: str, window: Window, grouping: Grouping, *, group: str | None = None) -> list[VolumeEntry]:
        """Tickets created per entry: by the day they were opened, or by their current channel, type or group."""
        counts: dict[Bucket, int] = {}
        for r in self._created(tenant, window, group):
            bucket = bucket_of(grouping, window, self.d.to_day(r["created_day"]), _attributes(r))
            counts[bucket] = counts.get(bucket, 0) + int(r["n"])
        return [VolumeEntry(b, n) for b, n in arrange(grouping, window, counts, int, float)]

    def volume_split(
        self, tenant: str, window: Window, grouping: Grouping, split: Grouping, *, group: str | None = None
    ) -> list[tuple[Bucket, dict[str | None, int]]]:
        """Tickets created per entry (a span), each entry's count split by an attribute (`split`: channel, ...)."""
        counts: dict[Bucket, dict[str | None, int]] = {}
        for r in self._created(tenant, window, group):
            attributes = _attributes(r)
            parts = counts.setdefault(bucket_of(grouping, window, self.d.to_day(r["created_day"]), attributes), {})
            key = attributes.get(split.value)
            parts[key] = parts.get(key, 0) + int(r["n"])
        return arrange(grouping, window, counts, dict, lambda parts: float(sum(parts.values())))

    def times(self, tenant: str, window: Window, grouping: Grouping, *, group: str | None = None) -> list[TimesEntry]:
        """Median and 90th percentile of first-response and resolution times per entry.

        Calendar minutes run from the opening to the first public agent reply (tickets whose first
        reply fell in the window) and from the opening to the latest solve (tickets solved in the
        window and not reopened since). Business minutes are the `elapsed_minutes` of the SLA
        model's `first_response` and `resolution` targets fulfilled in the window.
        """
        none = Summary.of([])
        per_series = [
            summaries(grouping, window, samples)
            for samples in (
                self._durations(tenant, window, "first_response_at", group, grouping),
                self._business(tenant, window, "first_response", group, grouping),
                self._durations(tenant, window, "resolved_at", group, grouping),
                self._business(tenant, window, "resolution", group, grouping),
            )
        ]  # in the order of TimesEntry's fields
        buckets = dict.fromkeys(b for found in per_series for b in found)
        entries = {b: TimesEntry(b, *(found.get(b, none) for found in per_series)) for b in buckets}
        arranged = arrange(
            grouping,
            window,
            entries,
            lambda: TimesEntry(Bucket(None), none, none, none, none),
            lambda e: e.first_response.count + e.resolution.count,
        )
        return [replace(entry, bucket=bucket) for bucket, entry in arranged]

    def compliance(
        self,
        tenant: str,
        window: Window,
        grouping: Grouping,
        *,
        now: datetime,
        target: str | None = None,
        group: str | None = None,
    ) -> list[ComplianceEntry]:
        """SLA targets met and breached per entry, counting targets whose outcome fell in the window.

        A target is met at its `fulfilled_at`; breached at its `breached_at`, or, while still
        `active`, at its `due_at` once `now` has reached it (states that change with time alone
        are judged when read).
        """
        counts: dict[Bucket, Compliance] = {}
        for outcome in self.outcomes(tenant, window, now=now, target=target, group=group):
            bucket = bucket_of(grouping, window, utc_day(outcome.at), outcome.attributes)
            entry = counts.setdefault(bucket, Compliance())
            if outcome.met:
                entry.met += 1
            else:
                entry.breached += 1
        arranged = arrange(grouping, window, counts, Compliance, lambda c: c.met + c.breached)
        return [ComplianceEntry(b, c.met, c.breached) for b, c in arranged]

    def outcomes(
        self, tenant: str, window: Window, *, now: datetime, target: str | None = None, group: str | None = None
    ) -> list[TargetOutcome]:
        """The tenant's SLA targets met or breached in the window (of tickets in `group`, when given)."""
        d, p = self.d, self.d.placeholder
        start, end = d.time(window.start), d.time(window.end)
        where = (
            f"tenant = {p} AND ((state = 'met' AND fulfilled_at >= {p} AND fulfilled_at < {p}) "
            f"OR (state = 'breached' AND breached_at >= {p} AND breached_at < {p}) "
            f"OR (state = 'active' AND due_at >= {p} AND due_at < {p} AND due_at <= {p}))"
        )
        params: list[Any] = [tenant, start, end, start, end, start, end, d.time(now)]
        for column, value in (("target", target), ("group_id", group)):
            if value is not None:
                where += f" AND {column} = {p}"
                params.append(value)
        rows = self._select(
            f"SELECT policy_id, target, group_id, state, fulfilled_at, breached_at, due_at "
            f"FROM {self.names.sla_targets} WHERE {where}",
            params,
        )
        found = []
        for r in rows:
            met = r["state"] == "met"
            at = _moment(d, r["fulfilled_at"] if met else r["breached_at"] or r["due_at"])
            attributes = {"policy": r["policy_id"], "target": r["target"], "group": r["group_id"]}
            found.append(TargetOutcome(attributes, met, at))
        return found

    def backlog(self, tenant: str, window: Window) -> list[BacklogDay]:
        """Every day of the window: what was opened, solved, reopened and closed, and the backlog at its end."""
        d, p, flows = self.d, self.d.placeholder, self.names.table(FLOWS)
        before = self._select(
            f"SELECT SUM(opened + reopened - solved - closed_unsolved) AS backlog FROM {flows} "
            f"WHERE tenant = {p} AND day < {p}",
            [tenant, d.day(window.since)],
        )
        backlog = int(before[0]["backlog"] or 0)
        stored = {d.to_day(r["day"]): _flow(r) for r in self._flows(tenant, window)}
        days = []
        for day in window.days():
            flow = stored.get(day, DailyFlow())
            backlog += flow.backlog_change
            days.append(BacklogDay(day, flow, backlog))
        return days

    def reopens(self, tenant: str, window: Window, grouping: Grouping) -> list[ReopenEntry]:
        """Moves to solved and reopens per span of the window."""
        counts: dict[Bucket, DailyFlow] = {}
        for r in self._flows(tenant, window):
            bucket = bucket_of(grouping, window, self.d.to_day(r["day"]), {})
            flow = counts.setdefault(bucket, DailyFlow())
            flow.solved += int(r["solved"])
            flow.reopened += int(r["reopened"])
        arranged = arrange(grouping, window, counts, DailyFlow, lambda f: f.solved)
        return [ReopenEntry(b, f.solved, f.reopened) for b, f in arranged]

    def agents(self, tenant: str, window: Window, *, group: str | None = None) -> list[AgentEntry]:
        """Per agent: solves in the window while assigned to them, and the median and p90 of their handle times.

        With `group`, only solves of tickets now in that group count.
        """
        p = self.d.placeholder
        params: list[Any] = [tenant, self.d.day(window.since), self.d.day(window.until)]
        in_group = ""
        if group is not None:
            in_group = f" AND ticket_id IN (SELECT ticket_id FROM {self.names.table(TICKETS)} WHERE group_id = {p})"
            params.append(group)
        rows = self._select(
            f"SELECT agent, handle_minutes FROM {self.names.table(SOLVES)} "
            f"WHERE tenant = {p} AND day >= {p} AND day <= {p} AND agent IS NOT NULL{in_group}",
            params,
        )
        solved: dict[str, int] = {}
        handle: dict[str, list[float]] = {}
        for r in rows:
            solved[r["agent"]] = solved.get(r["agent"], 0) + 1
            if r["handle_minutes"] is not None:
                handle.setdefault(r["agent"], []).append(float(r["handle_minutes"]))
        entries = [AgentEntry(agent, n, Summary.of(handle.get(agent, []))) for agent, n in solved.items()]
        return sorted(entries, key=lambda e: (-e.solved, e.agent))

    def csat(self, tenant: str, window: Window, grouping: Grouping, *, group: str | None = None) -> list[CsatEntry]:
        """Tickets whose latest rating was given in the window, and how many of those were satisfied."""
        d, p = self.d, self.d.placeholder
        in_group, extra = _in_group(p, "group_id", group)
        rows = self._select(
            f"SELECT rated_at, rating_scale, rating_score, channel, ticket_type, group_id "
            f"FROM {self.names.table(TICKETS)} WHERE tenant = {p} AND rated_at >= {p} AND rated_at < {p}{in_group}",
            [tenant, d.time(window.start), d.time(window.end), *extra],
        )
        counts: dict[Bucket, Satisfaction] = {}
        for r in rows:
            rated_at = _moment(d, r["rated_at"])
            entry = counts.setdefault(bucket_of(grouping, window, utc_day(rated_at), _attributes(r)), Satisfaction())
            entry.ratings += 1
            entry.satisfied += satisfied(r["rating_scale"], int(r["rating_score"]))
        arranged = arrange(grouping, window, counts, Satisfaction, lambda s: s.ratings)
        return [CsatEntry(b, s.ratings, s.satisfied) for b, s in arranged]

    # --- rows ------------------------------------------------------------------------------------------

    def _created(self, tenant: str, window: Window, group: str | None) -> list[Any]:
        """Tickets created per day of the window and current channel, type and group (of `group` only, if given)."""
        p = self.d.placeholder
        in_group, extra = _in_group(p, "group_id", group)
        return self._select(
            f"SELECT created_day, channel, ticket_type, group_id, COUNT(*) AS n FROM {self.names.table(TICKETS)} "
            f"WHERE tenant = {p} AND created_day >= {p} AND created_day <= {p}{in_group} "
            "GROUP BY created_day, channel, ticket_type, group_id",
            [tenant, self.d.day(window.since), self.d.day(window.until), *extra],
        )

    def _durations(
        self, tenant: str, window: Window, column: str, group: str | None, grouping: Grouping
    ) -> list[Sample]:
        """Minutes from the opening to `column` (a fixed column name), for tickets whose `column` is in the window."""
        d, p = self.d, self.d.placeholder
        in_group, extra = _in_group(p, "group_id", group)
        where = f"WHERE tenant = {p} AND {column} >= {p} AND {column} < {p}{in_group}"
        params = [tenant, d.time(window.start), d.time(window.end), *extra]
        if d.is_postgres:
            # The database hands over each duration (and day): a window holds a row per ticket answered or solved,
            # and turning two moments into minutes in Python was most of a busy tenant's dashboard. EXTRACT gives
            # the exact seconds (numeric), ::float8 their nearest double, as timedelta.total_seconds() does, so the
            # figures are the same bits as SQLite's, computed below in Python.
            minutes = f"EXTRACT(EPOCH FROM ({column} - created_at))::float8 / 60 AS minutes"
            if grouping is Grouping.ALL:  # one entry (the dashboard's): the minutes are all it needs
                rows = self._select(f"SELECT {minutes} FROM {self.names.table(TICKETS)} {where}", params)
                return [Sample(window.since, _WHOLE, r["minutes"]) for r in rows]
            rows = self._select(
                f"SELECT {minutes}, ({column} AT TIME ZONE 'UTC')::date AS day, channel, ticket_type, group_id "
                f"FROM {self.names.table(TICKETS)} {where}",
                params,
            )
            return [Sample(r["day"], _attributes(r), r["minutes"]) for r in rows]
        rows = self._select(
            f"SELECT created_at, {column} AS moment, channel, ticket_type, group_id FROM {self.names.table(TICKETS)} "
            f"{where}",
            params,
        )
        samples = []
        for r in rows:
            created_at, moment = _moment(d, r["created_at"]), _moment(d, r["moment"])
            samples.append(Sample(utc_day(moment), _attributes(r), minutes_between(created_at, moment)))
        return samples

    def _business(
        self, tenant: str, window: Window, target: str, group: str | None, grouping: Grouping
    ) -> list[Sample]:
        """Elapsed business minutes of the tenant's `target`s fulfilled in the window."""
        d, p = self.d, self.d.placeholder
        in_group, extra = _in_group(p, "s.group_id", group)
        where = (
            f"WHERE s.tenant = {p} AND s.target = {p} AND s.state IN ('met', 'breached') "
            f"AND s.fulfilled_at >= {p} AND s.fulfilled_at < {p}{in_group}"
        )
        params = [tenant, target, d.time(window.start), d.time(window.end), *extra]
        if grouping is Grouping.ALL:  # one entry: no day, no ticket attributes, so no join
            rows = self._select(f"SELECT s.elapsed_minutes FROM {self.names.sla_targets} s {where}", params)
            return [Sample(window.since, _WHOLE, float(r["elapsed_minutes"])) for r in rows]
        rows = self._select(
            f"SELECT s.fulfilled_at, s.elapsed_minutes, m.channel, m.ticket_type, m.group_id "
            f"FROM {self.names.sla_targets} s LEFT JOIN {self.names.table(TICKETS)} m ON m.ticket_id = s.ticket_id "
            f"{where}",
            params,
        )
        samples = []
        for r in rows:
            fulfilled_at = _moment(d, r["fulfilled_at"])
            samples.append(Sample(utc_day(fulfilled_at), _attributes(r), float(r["elapsed_minutes"])))
        return samples

    def _flows(self, tenant: str, window: Window) -> list[Any]:
        p = self.d.placeholder
        return self._select(
            f"SELECT day, opened, solved, reopened, closed, closed_unsolved FROM {self.names.table(FLOWS)} "
            f"WHERE tenant = {p} AND day >= {p} AND day <= {p} ORDER BY day",
            [tenant, self.d.day(window.since), self.d.day(window.until)],
        )

    def _select(self, sql: str, params: list[Any]) -> list[Any]:
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(sql, params)
            return list(cursor.fetchall())


def _moment(d: Dialect, stored: Any) -> datetime:
    """A stored moment that cannot be null (a NOT NULL column, or one the query selected rows by)."""
    moment = d.to_time(stored)
    assert moment is not None
    return moment


def _in_group(placeholder: str, column: str, group: str | None) -> tuple[str, list[Any]]:
    """The condition (and its parameter) that keeps the rows of `group` only; nothing without one."""
    return ("", []) if group is None else (f" AND {column} = {placeholder}", [group])


#: The attributes of a sample summed into the whole window, where no attribute decides its entry.
_WHOLE: Attributes = {}


def _attributes(row: Any) -> Attributes:
    return {"channel": row["channel"], "type": row["ticket_type"], "group": row["group_id"]}


def _flow(row: Any) -> DailyFlow:
    return DailyFlow(
        opened=int(row["opened"]),
        solved=int(row["solved"]),
        reopened=int(row["reopened"]),
        closed=int(row["closed"]),
        closed_unsolved=int(row["closed_unsolved"]),
    )
