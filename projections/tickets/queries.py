"""Reads of the ticket rows: filtered lists with keyset pagination, one ticket, tickets present at a moment.

Pagination is keyset (seek) pagination on the sort columns plus the ticket id, so a page costs
the same however deep it is, and rows inserted meanwhile neither repeat nor vanish from later
pages. The cursor is opaque to clients: base64 of the last row's sort values.
"""

from __future__ import annotations

import base64
import binascii
import itertools
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any
from uuid import UUID

from domain.access.policy import WHOLE_TENANT, ListScope
from domain.errors import InvalidValueError
from domain.tickets.field_search import Comparison, FieldCondition
from domain.values import FieldKind
from projections import fulltext
from projections.sql import Reader
from projections.tickets import search
from projections.tickets.rows import TicketRow
from projections.tickets.tables import TICKET_COLUMNS, ticket_row

#: Rows per page when a query reads a whole list.
PAGE_MAX = 500
#: Every status category but closed.
NOT_CLOSED = ("new", "open", "pending", "on_hold", "solved")


class Sort(StrEnum):
    """Orders a ticket list can be read in."""

    PRIORITY = "priority"  # most urgent first, then oldest first
    OLDEST = "created_at"  # oldest first (age)
    NEWEST = "-created_at"
    RECENTLY_UPDATED = "-updated_at"
    LEAST_RECENTLY_UPDATED = "updated_at"
    SLA_DUE = "sla_due"  # earliest SLA due moment first; tickets without a running target last
    RELEVANCE = "relevance"  # with `q`: best match first, one page (no cursor); without, newest first


# Sort -> [(column, descending)], always ending with the ticket id as the tie-breaker.
_ORDER: dict[Sort, list[tuple[str, bool]]] = {
    Sort.PRIORITY: [("priority_rank", True), ("created_at", False), ("ticket_id", False)],
    Sort.OLDEST: [("created_at", False), ("ticket_id", False)],
    Sort.NEWEST: [("created_at", True), ("ticket_id", True)],
    Sort.RECENTLY_UPDATED: [("updated_at", True), ("ticket_id", True)],
    Sort.LEAST_RECENTLY_UPDATED: [("updated_at", False), ("ticket_id", False)],
    Sort.SLA_DUE: [("sla_due_at", False), ("priority_rank", True), ("ticket_id", False)],
    # After the rank: how a list by relevance breaks ties (it has no cursor: see `TicketQueries._ranked`).
    Sort.RELEVANCE: [("created_at", True), ("ticket_id", True)],
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
    statuses: tuple[str, ...] = ()  # states of the tickets' workflows
    categories: tuple[str, ...] = ()  # state categories
    workflow: tuple[str, int] | None = None  # only tickets running under this workflow version
    priorities: tuple[str, ...] = ()
    types: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()  # a ticket must carry all of them
    requester_id: str | None = None
    organisation: str | None = None
    channel: str | None = None
    group: str | None = None
    assignee: str | Unassigned | None = None
    text: str | None = None  # a case-insensitive substring of the title
    fields: tuple[FieldCondition, ...] = ()  # custom-field conditions (domain/tickets/field_search.py)
    scope: ListScope = WHOLE_TENANT  # the part of the tenant the caller reaches (domain/access/policy.py)
    sla: SlaFilter | None = None  # only tickets at risk of an SLA breach, or breached, at `now`
    now: datetime | None = None  # the moment `sla` is judged at


@dataclass(frozen=True)
class Page:
    """One page of a list, and the cursor of the next page (None on the last)."""

    rows: list[TicketRow]
    next_cursor: str | None
    #: The log position this generation had applied when the page was read, when asked for (`tracked`).
    position: int | None = None


@dataclass(frozen=True, slots=True)
class Owner:
    """Whose a ticket is."""

    tenant: str
    organisation: str | None


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


class TicketQueries(Reader):
    """Reads of one generation's ticket rows."""

    def list_tickets(
        self, where: TicketFilter, *, sort: Sort, limit: int, after: str | None = None, tracked: str | None = None
    ) -> Page:
        """A page of tickets matching `where`, in `sort` order, after the cursor `after`.

        With `tracked` (an application name) the same statement also reads how far this generation
        has applied that application's log (`Page.position`): the page is exactly as of that
        position, and an API read costs one round trip instead of two.
        """
        if sort is Sort.RELEVANCE:
            return self._ranked(where, limit=limit, after=after, tracked=tracked)
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
        rows, position = self._rows(sql, params, order_by, tracked)
        if len(rows) <= limit:
            return Page(rows, None, position)
        last = rows[limit - 1]
        return Page(rows[:limit], encode_cursor([getattr(last, column) for column, _ in order]), position)

    def _rows(
        self, sql: str, params: list[Any], order_by: str, tracked: str | None
    ) -> tuple[list[TicketRow], int | None]:
        """The rows of the page statement `sql` (ordered by `order_by`), and the position of `tracked` with them.

        The position joins the page as a one-row table, so that it comes back on every row and
        also when the page is empty (then as one row of NULLs); one statement reads both from one
        snapshot. The page keeps its own LIMIT inside, so its plan is the one it has alone.
        """
        if tracked is None:
            with self.d.reading(self.datastore) as cursor:
                cursor.execute(sql, params)
                return [ticket_row(self.d, r) for r in cursor.fetchall()], None
        p = self.d.placeholder
        both = (
            f"SELECT tracked.view_position, page.* FROM (SELECT MAX(notification_id) AS view_position "
            f"FROM {self.names.table('tracking')} WHERE application_name = {p}) AS tracked "
            f"LEFT JOIN ({sql}) AS page ON 1 = 1 ORDER BY {order_by}"
        )
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(both, [tracked, *params])
            found = cursor.fetchall()
        position = found[0]["view_position"] if found else None
        rows = [ticket_row(self.d, r) for r in found if r["ticket_id"] is not None]
        return rows, int(position or 0)

    def _ranked(self, where: TicketFilter, *, limit: int, after: str | None, tracked: str | None) -> Page:
        """The first page of tickets matching `where`, best match of `where.text` first.

        A rank is not a column a keyset cursor can seek on (it depends on the query), so this list
        has one page; a client pages with another sort.
        """
        if after is not None:
            msg = "a list sorted by relevance has one page; use another sort to page through it"
            raise InvalidValueError(msg)
        words = fulltext.query(where.text or "", prefix=True)
        clauses, params = self._filter_clauses(where)
        join, join_params = "", list[Any]()
        score = "0"
        if words:
            ranked, join_params = search.ranks(
                self.d, self.names, words, where.tenant, notes=where.scope.requester is None
            )
            join, score = f"LEFT JOIN ({ranked}) AS ranked ON ranked.hit = {self.names.tickets}.ticket_id", "score"
        chosen = ", ".join(f"{self.names.tickets}.{c} AS {c}" for c in TICKET_COLUMNS)
        sql = (
            f"SELECT {chosen}, COALESCE({score}, 0) AS relevance FROM {self.names.tickets} {join} "
            f"WHERE {' AND '.join(clauses)} ORDER BY relevance DESC, created_at DESC, ticket_id DESC LIMIT {int(limit)}"
        )
        order_by = "relevance DESC, created_at DESC, ticket_id DESC"
        rows, position = self._rows(sql, [*join_params, *params], order_by, tracked)
        return Page(rows, None, position)

    def on_workflow_version(self, tenant: str, workflow: str, version: int) -> list[UUID]:
        """The tickets not closed that run under this version of a workflow, oldest first (what a migration moves)."""
        where = TicketFilter(tenant=tenant, categories=NOT_CLOSED, workflow=(workflow, version))
        found, after = list[UUID](), None
        while True:
            page = self.list_tickets(where, sort=Sort.OLDEST, limit=PAGE_MAX, after=after)
            found += [row.ticket_id for row in page.rows]
            if page.next_cursor is None:
                return found
            after = page.next_cursor

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

    def with_short_ref(self, tenant: str, short_ref: str) -> list[UUID]:
        """The tenant's tickets whose id begins with `short_ref` (hex digits: a subject token's), oldest first."""
        digits = short_ref.lower()
        if not digits or len(digits) > 32 or any(c not in "0123456789abcdef" for c in digits):
            return []
        low, high = UUID(hex=digits.ljust(32, "0")), UUID(hex=digits.ljust(32, "f"))
        p = self.d.placeholder
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT ticket_id FROM {self.names.tickets} "
                f"WHERE tenant = {p} AND ticket_id >= {p} AND ticket_id <= {p} ORDER BY created_at LIMIT 10",
                [tenant, self.d.uuid(low), self.d.uuid(high)],
            )
            return [self.d.to_uuid(r["ticket_id"]) for r in cursor.fetchall()]

    def tenants(self) -> list[str]:
        """Every tenant with tickets."""
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(f"SELECT DISTINCT tenant FROM {self.names.tickets} ORDER BY tenant")
            return [r["tenant"] for r in cursor.fetchall()]

    def sla_risk_counts(self, now: datetime, where: TicketFilter | None = None) -> tuple[int, int]:
        """Unsolved tickets at risk of an SLA breach at `now`, and breached ones.

        Of every tenant (for operators), or of those `where` selects (a live board's group).
        """
        p, at = self.d.placeholder, self.d.time(now)
        risk = f"sla_warn_at <= {p} AND sla_due_at > {p}"
        late = f"sla_breached_at IS NOT NULL OR sla_due_at <= {p}"
        clauses, params = ([], []) if where is None else self._filter_clauses(where)
        clauses.append("status_category NOT IN ('solved', 'closed')")
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT COALESCE(SUM(CASE WHEN {risk} THEN 1 ELSE 0 END), 0) AS risk, "
                f"COALESCE(SUM(CASE WHEN {late} THEN 1 ELSE 0 END), 0) AS late "
                f"FROM {self.names.tickets} WHERE {' AND '.join(clauses)}",
                [at, at, at, *params],
            )
            found = cursor.fetchone()
        return int(found["risk"]), int(found["late"])

    def counts_by(self, where: TicketFilter, column: str) -> dict[str | None, int]:
        """How many tickets `where` selects, per value of `column` (`status`, `assignee`, ...: a fixed name)."""
        if column not in TICKET_COLUMNS:
            msg = f"no column {column!r} to count by"
            raise ValueError(msg)
        clauses, params = self._filter_clauses(where)
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT {column} AS value, COUNT(*) AS n FROM {self.names.tickets} "
                f"WHERE {' AND '.join(clauses)} GROUP BY {column}",
                params,
            )
            return {r["value"]: int(r["n"]) for r in cursor.fetchall()}

    def counts_by_age(self, where: TicketFilter, edges: Sequence[datetime]) -> list[int]:
        """How many tickets `where` selects were created in each span the moments `edges` (newest first) cut.

        The spans: after edges[0], between edges[0] and edges[1], ..., before the last edge.
        """
        clauses, params = self._filter_clauses(where)
        p = self.d.placeholder
        bounds = [None, *edges, None]
        cases, case_params = [], list[Any]()
        for n, (newer, older) in enumerate(itertools.pairwise(bounds)):
            parts = []
            if newer is not None:
                parts.append(f"created_at <= {p}")
                case_params.append(self.d.time(newer))
            if older is not None:
                parts.append(f"created_at > {p}")
                case_params.append(self.d.time(older))
            cases.append(f"COALESCE(SUM(CASE WHEN {' AND '.join(parts)} THEN 1 ELSE 0 END), 0) AS span{n}")
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT {', '.join(cases)} FROM {self.names.tickets} WHERE {' AND '.join(clauses)}",
                [*case_params, *params],
            )
            found = cursor.fetchone()
        return [int(found[f"span{n}"]) for n in range(len(bounds) - 1)]

    def not_closed(self, tenant: str, *, after: UUID | None, limit: int) -> list[TicketRow]:
        """The tenant's tickets not closed, in id order after `after` (what timed rules look at, page by page)."""
        p = self.d.placeholder
        clauses, params = [f"tenant = {p}", "status_category <> 'closed'"], list[Any]([tenant])
        if after is not None:
            clauses.append(f"ticket_id > {p}")
            params.append(self.d.uuid(after))
        with self.d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.names.tickets} WHERE {' AND '.join(clauses)} "
                f"ORDER BY ticket_id LIMIT {int(limit)}",
                params,
            )
            return [ticket_row(self.d, r) for r in cursor.fetchall()]

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

    def ids_owned_by(self, tenant: str, organisation: str | None = None) -> tuple[str, list[Any]]:
        """A subquery of the ids of a tenant's tickets (of one organisation, if given), with its parameters.

        For a reader of the event log in the same database that wants only these tickets' events.
        """
        p = self.d.placeholder
        sql, params = f"SELECT ticket_id FROM {self.names.tickets} WHERE tenant = {p}", [tenant]
        if organisation is not None:
            sql, params = f"{sql} AND organisation = {p}", [tenant, organisation]
        return sql, list[Any](params)

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

    def _filter_clauses(self, where: TicketFilter) -> tuple[list[str], list[Any]]:
        p = self.d.placeholder
        clauses, params = [f"tenant = {p}"], list[Any]([where.tenant])
        in_lists = (
            ("status", where.statuses),
            ("status_category", where.categories),
            ("priority", where.priorities),
            ("ticket_type", where.types),
        )
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
        if where.workflow is not None:
            clauses.append(f"workflow = {p} AND workflow_version = {p}")
            params += [where.workflow[0], where.workflow[1]]
        for clause, values in (self._visibility(where), self._groups(where), self._sla(where), self._fields(where)):
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
            clause, values = self._text(where)
            clauses.append(clause)
            params.extend(values)
        return clauses, params

    def _text(self, where: TicketFilter) -> tuple[str, list[Any]]:
        """A substring of the title, or the words of any part search indexes (projections/tickets/search.py).

        Customers' searches leave internal notes out; the other clauses keep them to the tickets they see.
        """
        assert where.text is not None  # only called with a text
        p = self.d.placeholder
        escaped = where.text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        like = f"title {self.d.like} {p} ESCAPE '\\'"
        words = fulltext.query(where.text, prefix=True)
        if not words:
            return like, [f"%{escaped}%"]
        notes = where.scope.requester is None
        matching, values = search.matching(self.d, self.names, words, where.tenant, notes=notes)
        return f"({like} OR ticket_id IN ({matching}))", [f"%{escaped}%", *values]

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

    def _fields(self, where: TicketFilter) -> tuple[str, list[Any]]:
        """Custom-field conditions, read from the `custom_fields` JSON column in place.

        Per field: its kind is the one searched (a value stored before the field was defined may
        be of another), and it holds any of the values given, or every option given of a
        multi_enum, within the bounds given. ISO dates compare as text: of fixed width, digits and
        hyphens in fixed places, they sort as dates under any collation that orders the digits.

        No index serves these; they narrow the rows the other conditions leave, in the tenant's
        indexes. A side table like `ticket_tags` (ticket, field, value) would give them indexes,
        at the cost of a second write with every change of a field and of filling it for the
        tickets stored before it: worth it once tenants search long histories by one field.
        """
        if not where.fields:
            return "", []
        p, column = self.d.placeholder, "custom_fields"
        clauses, params = list[str](), list[Any]()
        by_name: dict[str, list[FieldCondition]] = {}
        for condition in where.fields:
            by_name.setdefault(condition.name, []).append(condition)
        for name, conditions in by_name.items():
            value_at, value_path = self.d.json_at(column), self.d.json_path(name, "value")
            clauses.append(f"{self.d.json_at(column)} = {p}")
            params += [self.d.json_path(name, "kind"), self.d.json_scalar(conditions[0].kind.value)]
            equal = [c.value for c in conditions if c.comparison is Comparison.EQUALS]
            if conditions[0].kind is FieldKind.MULTI_ENUM:
                for option in equal:
                    clauses.append(self.d.json_array_holds(column))
                    params += [value_path, option]
            elif equal:
                clauses.append("(" + " OR ".join([f"{value_at} = {p}"] * len(equal)) + ")")
                params += [v for value in equal for v in (value_path, self.d.json_scalar(value))]
            for c in conditions:
                if c.comparison is not Comparison.EQUALS:
                    clauses.append(f"{value_at} {'>=' if c.comparison is Comparison.AT_LEAST else '<='} {p}")
                    params += [value_path, self.d.json_scalar(c.value)]
        return " AND ".join(clauses), params

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
