"""Service-metric reports: volume, response and resolution times, SLA compliance, backlog, reopens, agents, CSAT.

The SQL selects a tenant's facts in a window from the metric tables (`metrics_tables.py`) and the
SLA status model (`sla_targets`); the grouping into days, weeks, months, channels, types, groups
or policies and every median and percentile is computed here, in Python, so the figures are the
same on SQLite and PostgreSQL. Days are UTC days; a window is `since`..`until`, both included.

Percentiles use linear interpolation between closest ranks (PostgreSQL's `percentile_cont`,
numpy's default, Excel's `PERCENTILE.INC`): for `n` sorted values `x[0..n-1]` the p-th percentile
is `x[i] + f * (x[i+1] - x[i])` where `i + f = (n - 1) * p / 100`. The median is the 50th.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, TypeVar

from infrastructure.readmodels.activity import Period, period_span
from infrastructure.readmodels.dialect import Dialect
from infrastructure.readmodels.metrics_tables import FLOWS, SOLVES, TICKETS
from infrastructure.readmodels.names import TableNames
from projections.metrics import DailyFlow, minutes_between, satisfied, utc_day

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


# --- queries -------------------------------------------------------------------------------------------------


class MetricQueries:
    """Reads of one generation's metric tables and SLA targets for the service-metric reports."""

    def __init__(self, datastore: Any, dialect: Dialect, names: TableNames) -> None:
        self.datastore = datastore
        self.d = dialect
        self.names = names

    def volume(self, tenant: str, window: Window, grouping: Grouping) -> list[VolumeEntry]:
        """Tickets created per entry: by the day they were opened, or by their current channel, type or group."""
        p = self.d.placeholder
        rows = self._select(
            f"SELECT created_day, channel, ticket_type, group_id, COUNT(*) AS n FROM {self.names.table(TICKETS)} "
            f"WHERE tenant = {p} AND created_day >= {p} AND created_day <= {p} "
            "GROUP BY created_day, channel, ticket_type, group_id",
            [tenant, self.d.day(window.since), self.d.day(window.until)],
        )
        counts: dict[Bucket, int] = {}
        for r in rows:
            bucket = bucket_of(grouping, window, self.d.to_day(r["created_day"]), _attributes(r))
            counts[bucket] = counts.get(bucket, 0) + int(r["n"])
        return [VolumeEntry(b, n) for b, n in arrange(grouping, window, counts, int, float)]

    def times(self, tenant: str, window: Window, grouping: Grouping) -> list[TimesEntry]:
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
                self._durations(tenant, window, "first_response_at"),
                self._business(tenant, window, "first_response"),
                self._durations(tenant, window, "resolved_at"),
                self._business(tenant, window, "resolution"),
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
        self, tenant: str, window: Window, grouping: Grouping, *, now: datetime, target: str | None = None
    ) -> list[ComplianceEntry]:
        """SLA targets met and breached per entry, counting targets whose outcome fell in the window.

        A target is met at its `fulfilled_at`; breached at its `breached_at`, or, while still
        `active`, at its `due_at` once `now` has reached it (states that change with time alone
        are judged when read).
        """
        counts: dict[Bucket, Compliance] = {}
        for outcome in self.outcomes(tenant, window, now=now, target=target):
            bucket = bucket_of(grouping, window, utc_day(outcome.at), outcome.attributes)
            entry = counts.setdefault(bucket, Compliance())
            if outcome.met:
                entry.met += 1
            else:
                entry.breached += 1
        arranged = arrange(grouping, window, counts, Compliance, lambda c: c.met + c.breached)
        return [ComplianceEntry(b, c.met, c.breached) for b, c in arranged]

    def outcomes(self, tenant: str, window: Window, *, now: datetime, target: str | None = None) -> list[TargetOutcome]:
        """The tenant's SLA targets met or breached in the window."""
        d, p = self.d, self.d.placeholder
        start, end = d.time(window.start), d.time(window.end)
        where = (
            f"tenant = {p} AND ((state = 'met' AND fulfilled_at >= {p} AND fulfilled_at < {p}) "
            f"OR (state = 'breached' AND breached_at >= {p} AND breached_at < {p}) "
            f"OR (state = 'active' AND due_at >= {p} AND due_at < {p} AND due_at <= {p}))"
        )
        params: list[Any] = [tenant, start, end, start, end, start, end, d.time(now)]
        if target is not None:
            where += f" AND target = {p}"
            params.append(target)
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

    def agents(self, tenant: str, window: Window) -> list[AgentEntry]:
        """Per agent: solves in the window while assigned to them, and the median and p90 of their handle times."""
        p = self.d.placeholder
        rows = self._select(
            f"SELECT agent, handle_minutes FROM {self.names.table(SOLVES)} "
            f"WHERE tenant = {p} AND day >= {p} AND day <= {p} AND agent IS NOT NULL",
            [tenant, self.d.day(window.since), self.d.day(window.until)],
        )
        solved: dict[str, int] = {}
        handle: dict[str, list[float]] = {}
        for r in rows:
            solved[r["agent"]] = solved.get(r["agent"], 0) + 1
            if r["handle_minutes"] is not None:
                handle.setdefault(r["agent"], []).append(float(r["handle_minutes"]))
        entries = [AgentEntry(agent, n, Summary.of(handle.get(agent, []))) for agent, n in solved.items()]
        return sorted(entries, key=lambda e: (-e.solved, e.agent))

    def csat(self, tenant: str, window: Window, grouping: Grouping) -> list[CsatEntry]:
        """Tickets whose latest rating was given in the window, and how many of those were satisfied."""
        d, p = self.d, self.d.placeholder
        rows = self._select(
            f"SELECT rated_at, rating_scale, rating_score, channel, ticket_type, group_id "
            f"FROM {self.names.table(TICKETS)} WHERE tenant = {p} AND rated_at >= {p} AND rated_at < {p}",
            [tenant, d.time(window.start), d.time(window.end)],
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

    def _durations(self, tenant: str, window: Window, column: str) -> list[Sample]:
        """Minutes from the opening to `column` (a fixed column name), for tickets whose `column` is in the window."""
        d, p = self.d, self.d.placeholder
        rows = self._select(
            f"SELECT created_at, {column} AS moment, channel, ticket_type, group_id FROM {self.names.table(TICKETS)} "
            f"WHERE tenant = {p} AND {column} >= {p} AND {column} < {p}",
            [tenant, d.time(window.start), d.time(window.end)],
        )
        samples = []
        for r in rows:
            created_at, moment = _moment(d, r["created_at"]), _moment(d, r["moment"])
            samples.append(Sample(utc_day(moment), _attributes(r), minutes_between(created_at, moment)))
        return samples

    def _business(self, tenant: str, window: Window, target: str) -> list[Sample]:
        """Elapsed business minutes of the tenant's `target`s fulfilled in the window."""
        d, p = self.d, self.d.placeholder
        rows = self._select(
            f"SELECT s.fulfilled_at, s.elapsed_minutes, m.channel, m.ticket_type, m.group_id "
            f"FROM {self.names.sla_targets} s LEFT JOIN {self.names.table(TICKETS)} m ON m.ticket_id = s.ticket_id "
            f"WHERE s.tenant = {p} AND s.target = {p} AND s.state IN ('met', 'breached') "
            f"AND s.fulfilled_at >= {p} AND s.fulfilled_at < {p}",
            [tenant, target, d.time(window.start), d.time(window.end)],
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
