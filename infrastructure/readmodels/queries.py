"""Reads of the ticket read models: filtered lists with keyset pagination, workload, saved views, audit activity.

Pagination is keyset (seek) pagination on the sort columns plus the ticket id, so a page costs
the same however deep it is, and rows inserted meanwhile neither repeat nor vanish from later
pages. The cursor is opaque to clients: base64 of the last row's sort values.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.access.policy import WHOLE_TENANT, ListScope
from domain.errors import InvalidValueError
from infrastructure.readmodels.activity import (
    ActivityRow,
    ActorActivity,
    OrganisationActivity,
    Period,
    PeriodActivity,
    by_period,
    group_by_event_type,
    most_active_first,
)
from infrastructure.readmodels.dialect import Dialect
from infrastructure.readmodels.names import TableNames
from infrastructure.readmodels.ticket_table import TICKET_COLUMNS, ticket_row
from infrastructure.readmodels.tickets_view import NO_ORGANISATION
from projections.rows import SavedViewRow, TicketRow
from projections.tickets import PRIVILEGED_EVENT_TYPES


class Sort(StrEnum):
    """Orders a ticket list can be read in."""

    PRIORITY = "priority"  # most urgent first, then oldest first
    OLDEST = "created_at"  # oldest first (age)
    NEWEST = "-created_at"
    RECENTLY_UPDATED = "-updated_at"
    LEAST_RECENTLY_UPDATED = "updated_at"
    SLA_DUE = "sla_due"  # earliest SLA due moment first; tickets without a running target last


# Sort -> [(column, descending)], always ending with the ticket id as the tie-breaker.
_ORDER: dict[Sort, list[tuple[str, bool]]] = {
    Sort.PRIORITY: [("priority_rank", True), ("created_at", False), ("ticket_id", False)],
    Sort.OLDEST: [("created_at", False), ("ticket_id", False)],
    Sort.NEWEST: [("created_at", True), ("ticket_id", True)],
    Sort.RECENTLY_UPDATED: [("updated_at", True), ("ticket_id", True)],
    Sort.LEAST_RECENTLY_UPDATED: [("updated_at", False), ("ticket_id", False)],
    Sort.SLA_DUE: [("sla_due_at", False), ("priority_rank", True), ("ticket_id", False)],
}


class Unassigned:
    """Filter value meaning 'no assignee'."""


UNASSIGNED = Unassigned()


class SlaFilter(StrEnum):
    """SLA states a ticket list can be narrowed to."""

    AT_RISK = "at_risk"  # a running target is within its warning lead time of being due
    BREACHED = "breached"  # a target is breached (its due moment passed unfulfilled)


@dataclass(frozen=True)
class TicketFilter:
    """What a ticket list shows. Empty tuples mean 'any'."""

    tenant: str
    statuses: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # a ticket must carry all of them
    requester_id: str | None = None
    organisation: str | None = None
    channel: str | None = None
    group: str | None = None
    assignee: str | Unassigned | None = None
    text: str | None = None  # a case-insensitive substring of the title
    scope: ListScope = WHOLE_TENANT  # the part of the tenant the caller reaches (domain/access/policy.py)
    sla: SlaFilter | None = None  # only tickets at risk of an SLA breach, or breached, at `now`
    now: datetime | None = None  # the moment `sla` is judged at


@dataclass(frozen=True)
class Page:
    """One page of a list, and the cursor of the next page (None on the last)."""

    rows: list[TicketRow]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose a ticket is."""

    tenant: str
    organisation: str | None


@dataclass(frozen=True)
class Workload:
    """An agent's current load and recent output."""

    agent: str
    by_status: dict[str, int]
    solved_per_day: list[tuple[date, int]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class DueAlert:
    """An SLA warning or breach that has fallen due and is not on record, as the SLA read model judged it.

    `due_at` is the due moment (the breach moment for a breached target paused since, which has
    none); `ticket_version` the ticket version the row reflects; `fulfilled` whether the target
    has been fulfilled (late, for a breach).
    """

    ticket_id: UUID
    tenant: str
    target: str
    cycle: int
    due_at: datetime
    policy_id: str
    policy_version: int
    ticket_version: int
    breach: bool
    fulfilled: bool


def encode_cursor(values: Sequence[Any]) -> str:
    """An opaque cursor for the given sort values."""
    plain = [v.isoformat() if isinstance(v, datetime) else str(v) if isinstance(v, UUID) else v for v in values]
    return base64.urlsafe_b64encode(json.dumps(plain).encode()).decode().rstrip("=")


def decode_cursor(cursor: str, sort: Sort) -> list[Any]:
    """The sort values in a cursor, checked against the sort they were made for."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        values = json.loads(base64.urlsafe_b64decode(padded.encode()))
    except (ValueError, binascii.Error):
        values = None
    columns = _ORDER[sort]
    if not isinstance(values, list) or len(values) != len(columns):
        msg = "the cursor is not valid for this list; start again without 'after'"
        raise InvalidValueError(msg)
    try:
        return [_parse_sort_value(column, value) for (column, _), value in zip(columns, values, strict=True)]
    except (TypeError, ValueError):
        msg = "the cursor is not valid for this list; start again without 'after'"
        raise InvalidValueError(msg) from None


def _parse_sort_value(column: str, value: Any) -> Any:
    if column.endswith("_at"):
        return datetime.fromisoformat(value)
    if column == "ticket_id":
        return UUID(value)
    if not isinstance(value, int) or not 0 <= value <= 2**63 - 1:
        raise TypeError(column)
    return value


class TicketQueries:
    """Queries of one generation of the ticket read models."""

    def __init__(self, datastore: Any, dialect: Dialect, names: TableNames) -> None:
        self.datastore = datastore
        self.d = dialect
        self.names = names

    def list_tickets(self, where: TicketFilter, *, sort: Sort, limit: int, after: str | None = None) -> Page:
        """A page of tickets matching `where`, in `sort` order, after the cursor `after`."""
        clauses, params = self._filter_clauses(where)
        order = _ORDER[sort]
        if after is not None:
            keyset, keyset_params = self._keyset(order, decode_cursor(after, sort))
            clauses.append(keyset)
            params.extend(keyset_params)
        order_by = ", ".join(f"{column} {'DESC' if desc else 'ASC'}" for column, desc in order)
        sql = (
            f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.names.tickets} WHERE {' AND '.join(clauses)} "
            f"ORDER BY {order_by} LIMIT {int(limit) + 1}"
        )
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(sql, params)
            rows = [ticket_row(self.d, r) for r in cursor.fetchall()]
        if len(rows) <= limit:
            return Page(rows, None)
        last = rows[limit - 1]
        return Page(rows[:limit], encode_cursor([getattr(last, column) for column, _ in order]))

    def get_ticket(self, tenant: str, ticket_id: UUID) -> TicketRow | None:
        """One ticket's row, if it exists in this tenant."""
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.names.tickets} WHERE ticket_id = {p} AND tenant = {p}",
                [self.d.uuid(ticket_id), tenant],
            )
            row = cursor.fetchone()
        return None if row is None else ticket_row(self.d, row)

    def present_at(self, tenant: str, moment: datetime, limit: int) -> tuple[list[UUID], int]:
        """Tickets that existed and were not yet closed at `moment`: up to `limit` ids (newest first), and how many."""
        p, t = self.d.placeholder, self.names.tickets
        where = f"tenant = {p} AND created_at <= {p} AND (closed_at IS NULL OR closed_at > {p})"
        params = [tenant, self.d.time(moment), self.d.time(moment)]
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(f"SELECT COUNT(*) AS n FROM {t} WHERE {where}", params)
            total = int(cursor.fetchone()["n"])
            cursor.execute(
                f"SELECT ticket_id FROM {t} WHERE {where} ORDER BY created_at DESC LIMIT {int(limit)}", params
            )
            ids = [self.d.to_uuid(r["ticket_id"]) for r in cursor.fetchall()]
        return ids, total

    def owners_of(self, ticket_ids: set[UUID]) -> dict[UUID, Owner]:
        """The tenant and organisation of each of these tickets that the read model knows."""
        if not ticket_ids:
            return {}
        ids = list(ticket_ids)
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT ticket_id, tenant, organisation FROM {self.names.tickets} "
                f"WHERE ticket_id IN ({self.d.params(len(ids))})",
                [self.d.uuid(i) for i in ids],
            )
            return {self.d.to_uuid(r["ticket_id"]): Owner(r["tenant"], r["organisation"]) for r in cursor.fetchall()}

    def tickets_of_person(self, tenant: str, person_id: str) -> list[UUID]:
        """The tickets holding personal data of a person: asked for by them, or commented on by them."""
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT ticket_id FROM {self.names.people} WHERE tenant = {p} AND person_id = {p} ORDER BY ticket_id",
                [tenant, person_id],
            )
            return [self.d.to_uuid(r["ticket_id"]) for r in cursor.fetchall()]

    def workload(self, tenant: str, agent: str, *, since: date) -> Workload:
        """Counts of an agent's unsolved tickets by status, and tickets solved per day since `since`."""
        p = self.d.placeholder
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT status, COUNT(*) AS n FROM {self.names.tickets} "
                f"WHERE tenant = {p} AND assignee = {p} AND status IN ('new', 'open', 'pending', 'on_hold') "
                "GROUP BY status",
                [tenant, agent],
            )
            by_status = {r["status"]: r["n"] for r in cursor.fetchall()}
            cursor.execute(
                f"SELECT day, solved FROM {self.names.solved} WHERE tenant = {p} AND agent = {p} AND day >= {p} "
                "ORDER BY day",
                [tenant, agent, self.d.day(since)],
            )
            solved = [(self.d.to_day(r["day"]), r["solved"]) for r in cursor.fetchall()]
        counts = {status: by_status.get(status, 0) for status in ("new", "open", "pending", "on_hold")}
        return Workload(agent=agent, by_status=counts, solved_per_day=solved)

    def saved_views(self, tenant: str) -> list[SavedViewRow]:
        """The tenant's saved views, by name."""
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT view_id, tenant, name, filters, created_by, created_at FROM {self.names.saved_views} "
                f"WHERE tenant = {self.d.placeholder} ORDER BY name",
                [tenant],
            )
            return [
                SavedViewRow(
                    view_id=self.d.to_uuid(r["view_id"]),
                    tenant=r["tenant"],
                    name=r["name"],
                    filters=self.d.to_json(r["filters"]),
                    created_by=r["created_by"],
                    created_at=self.d.to_time(r["created_at"]),  # type: ignore[arg-type]  # NOT NULL
                )
                for r in cursor.fetchall()
            ]

    def due_alerts(self, now: datetime, limit: int, *, after: tuple[UUID, str] | None = None) -> list[DueAlert]:
        """Up to `limit` SLA warnings and breaches due at `now` and not on record, in (ticket, target) order.

        A warning is due for an active target once `now` reaches its `warn_at`, but only before
        its due moment: a target past due is due for the breach alone. A breach is due for a
        target breached as of the ticket's last event, or active with `due_at` reached. Targets
        of closed tickets are never due (a closed ticket takes no alerts), nor those of a parked
        ticket: its later events are not applied, so its targets may be met or paused already.
        `after` continues after the given (ticket id, target).
        """
        d, p = self.d, self.d.placeholder
        moment = d.time(now)
        parked = self.names.table("parked")
        clauses = [
            "ended_at IS NULL",
            f"NOT EXISTS (SELECT 1 FROM {parked} k WHERE k.aggregate_id = {self.names.sla_targets}.ticket_id)",
            f"((breach_recorded = 0 AND (state = 'breached' OR (state = 'active' AND due_at <= {p}))) "
            f"OR (warned = 0 AND state = 'active' AND warn_at <= {p} AND due_at > {p}))",
        ]
        params: list[Any] = [moment, moment, moment]
        if after is not None:
            clauses.append(f"(ticket_id > {p} OR (ticket_id = {p} AND target > {p}))")
            params.extend([d.uuid(after[0]), d.uuid(after[0]), after[1]])
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                "SELECT ticket_id, tenant, target, cycle, state, due_at, breached_at, fulfilled_at, policy_id, "
                f"policy_version, ticket_version FROM {self.names.sla_targets} WHERE {' AND '.join(clauses)} "
                f"ORDER BY ticket_id, target LIMIT {int(limit)}",
                params,
            )
            rows = cursor.fetchall()
        return [_due_alert(d, r, now) for r in rows]

    # --- audit activity: `since` and `until` are UTC days, both included ---------------------------

    def activity(
        self, tenant: str, since: date, until: date, *, event_types: Collection[str] | None = None
    ) -> list[ActivityRow]:
        """The tenant's stored activity rows in the window (only of `event_types`, if given), oldest first."""
        where, params = self._activity_window(tenant, since, until)
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
        rows = self._activity_sums(tenant, since, until, ("actor_id", "actor_kind"))
        groups = group_by_event_type(((r["actor_id"], r["actor_kind"]), r["event_type"], r["changes"]) for r in rows)
        return [ActorActivity(actor_id, kind, counts) for (actor_id, kind), counts in most_active_first(groups)]

    def activity_by_organisation(self, tenant: str, since: date, until: date) -> list[OrganisationActivity]:
        """Changes per organisation in the window, by event type; the busiest organisation first."""
        rows = self._activity_sums(tenant, since, until, ("organisation",))
        groups = group_by_event_type((_organisation(r["organisation"]), r["event_type"], r["changes"]) for r in rows)
        return [OrganisationActivity(organisation, counts) for organisation, counts in most_active_first(groups)]

    def activity_by_period(
        self, tenant: str, since: date, until: date, period: Period = Period.DAY
    ) -> list[PeriodActivity]:
        """Changes per day, ISO week or month of the window that saw any, by event type; oldest first."""
        rows = self._activity_sums(tenant, since, until, ("day",))
        return by_period(((self.d.to_day(r["day"]), r["event_type"], r["changes"]) for r in rows), period, since, until)

    def privileged_activity(self, tenant: str, since: date, until: date) -> list[ActivityRow]:
        """The tenant's activity rows of privileged event types in the window, oldest first."""
        return self.activity(tenant, since, until, event_types=PRIVILEGED_EVENT_TYPES)

    def _activity_sums(self, tenant: str, since: date, until: date, columns: tuple[str, ...]) -> list[Any]:
        """Changes summed per `columns` (fixed column names, never input) and event type, ordered by them."""
        where, params = self._activity_window(tenant, since, until)
        grouped = ", ".join([*columns, "event_type"])
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT {grouped}, SUM(changes) AS changes FROM {self.names.activity} WHERE {where} "
                f"GROUP BY {grouped} ORDER BY {grouped}",
                params,
            )
            return list(cursor.fetchall())

    def _activity_window(self, tenant: str, since: date, until: date) -> tuple[str, list[Any]]:
        p = self.d.placeholder
        return f"tenant = {p} AND day >= {p} AND day <= {p}", [tenant, self.d.day(since), self.d.day(until)]

    def _filter_clauses(self, where: TicketFilter) -> tuple[list[str], list[Any]]:
        p = self.d.placeholder
        clauses, params = [f"tenant = {p}"], [where.tenant]
        in_lists = (("status", where.statuses), ("priority", where.priorities), ("ticket_type", where.types))
        for column, wanted in in_lists:
            if wanted:
                clauses.append(f"{column} IN ({self.d.params(len(wanted))})")
                params.extend(wanted)
        for column, value in (
            ("requester_id", where.requester_id),
            ("organisation", where.organisation),
            ("channel", where.channel),
            ("group_id", where.group),
        ):
            if value is not None:
                clauses.append(f"{column} = {p}")
                params.append(value)
        for clause, values in (self._visibility(where), self._groups(where), self._sla(where)):
            if clause:
                clauses.append(clause)
                params.extend(values)
        if isinstance(where.assignee, Unassigned):
            clauses.append("assignee IS NULL")
        elif where.assignee is not None:
            clauses.append(f"assignee = {p}")
            params.append(where.assignee)
        for tag in where.tags:
            clauses.append(
                f"EXISTS (SELECT 1 FROM {self.names.tags} t WHERE t.ticket_id = {self.names.tickets}.ticket_id "
                f"AND t.tag = {p})"
            )
            params.append(tag)
        if where.text:
            escaped = where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
            clauses.append(f"title {self.d.like} {p} ESCAPE '\\'")
            params.append(f"%{escaped}%")
        return clauses, params

    def _visibility(self, where: TicketFilter) -> tuple[str, list[Any]]:
        """A requester's own tickets, and its organisation's when it has one."""
        scope, p = where.scope, self.d.placeholder
        if scope.requester is None:
            return "", []
        if scope.organisation is None:
            return f"requester_id = {p}", [scope.requester]
        return f"(requester_id = {p} OR organisation = {p})", [scope.requester, scope.organisation]

    def _groups(self, where: TicketFilter) -> tuple[str, list[Any]]:
        """A group-limited agent's tickets: its groups', and those not routed to any group yet."""
        if where.scope.groups is None:
            return "", []
        groups = sorted(where.scope.groups)
        return f"(group_id IS NULL OR group_id IN ({self.d.params(len(groups))}))", list(groups)

    def _sla(self, where: TicketFilter) -> tuple[str, list[Any]]:
        """At risk: a running target's warning moment has come but not its due moment. Breached: either passed."""
        if where.sla is None:
            return "", []
        p, now = self.d.placeholder, self.d.time(where.now or datetime.now(UTC))
        if where.sla is SlaFilter.AT_RISK:
            return f"sla_warn_at <= {p} AND sla_due_at > {p}", [now, now]
        return f"(sla_breached_at IS NOT NULL OR sla_due_at <= {p})", [now]

    def _keyset(self, order: list[tuple[str, bool]], values: list[Any]) -> tuple[str, list[Any]]:
        """(c1 > v1) OR (c1 = v1 AND c2 > v2) OR ..., with < for descending columns."""
        p, terms, params = self.d.placeholder, list[str](), list[Any]()
        for i, (column, desc) in enumerate(order):
            equal = [f"{c} = {p}" for c, _ in order[:i]]
            terms.append("(" + " AND ".join([*equal, f"{column} {'<' if desc else '>'} {p}"]) + ")")
            params.extend(self._db_value(c, v) for (c, _), v in zip(order[: i + 1], values, strict=False))
        return "(" + " OR ".join(terms) + ")", params

    def _db_value(self, column: str, value: Any) -> Any:
        if column.endswith("_at"):
            return self.d.time(value)
        if column == "ticket_id":
            return self.d.uuid(value)
        return value


def _due_alert(d: Dialect, row: Any, now: datetime) -> DueAlert:
    due_at, breached_at = d.to_time(row["due_at"]), d.to_time(row["breached_at"])
    breach = row["state"] == "breached" or (due_at is not None and due_at <= now)
    moment = due_at or breached_at  # a paused breached target has no due moment, but its breach moment
    assert moment is not None  # an active target has its due moment, a breached one its breach moment
    return DueAlert(
        ticket_id=d.to_uuid(row["ticket_id"]),
        tenant=row["tenant"],
        target=row["target"],
        cycle=row["cycle"],
        due_at=moment,
        policy_id=row["policy_id"],
        policy_version=row["policy_version"],
        ticket_version=row["ticket_version"],
        breach=breach,
        fulfilled=row["fulfilled_at"] is not None,
    )


def _organisation(stored: str) -> str | None:
    return None if stored == NO_ORGANISATION else stored


def days_back(today: date, days: int) -> date:
    """The first day of a window of `days` days ending today."""
    return today - timedelta(days=days - 1)
