"""The ticket read-model tables on SQLite and PostgreSQL, written batch by batch with their tracking row.

The SQL is written once; `Dialect` supplies what differs. Each generation of the read models
(see `generations.py`) has its own tables: on PostgreSQL a table-name prefix `rm<N>_`, on SQLite
a file of its own (eventsourcing's SQLite tracking table name is fixed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

from domain.sla.clock import SlaClock
from domain.sla.policy import Calendar
from domain.sla.target_status import TargetStatus
from domain.tickets.saved_views import erased_filters
from infrastructure.readmodels.dialect import POSTGRES, SQLITE, Column, Dialect, Kind
from infrastructure.readmodels.metrics_tables import load_ticket_facts, metric_statements, write_metrics
from infrastructure.readmodels.names import SQLITE_NAMES, TableNames, postgres_names
from infrastructure.readmodels.ticket_table import TICKET_COLUMNS, create_tickets_table, ticket_row, ticket_values
from projections.parking import ParkedEntry, Parking
from projections.rows import SavedViewRow, TicketRow
from projections.sla import NO_DUE, CalendarRow, ClockRow, PolicyRow, SlaChanges
from projections.tickets import (
    ActivityKey,
    Batch,
    BatchConflictError,
    TicketsView,
    erase_from_row,
)

#: The dead-letter list and the positions parked aggregates skipped (projections/parking.py).
PARKING_TABLES = ("parked", "parked_events")
PARKED_COLUMNS = ("aggregate_id", "tenant", "position", "topic", "stage", "error_type", "reason", "parked_at")
#: Columns added to `tickets` after its first release, with their types: added in place on start.
ADDED_TICKET_COLUMNS: tuple[tuple[str, datetime | None], ...] = (
    ("sla_due_at", NO_DUE),
    ("sla_warn_at", None),
    ("sla_breached_at", None),
)
#: The columns of `sla_targets`, one row per tracked ticket and target (`_target_values` fills them in order).
SLA_TARGETS = (
    Column("ticket_id", Kind.UUID),
    Column("target", Kind.TEXT),
    Column("tenant", Kind.TEXT),
    Column("policy_id", Kind.TEXT),
    Column("policy_version", Kind.INTEGER),
    Column("target_minutes", Kind.INTEGER),
    Column("state", Kind.TEXT),
    Column("cycle", Kind.INTEGER),
    Column("started_at", Kind.TIME),
    Column("due_at", Kind.TIME, required=False),
    Column("warn_at", Kind.TIME, required=False),
    Column("elapsed_minutes", Kind.FLOAT),
    Column("remaining_minutes", Kind.FLOAT),
    Column("fulfilled_at", Kind.TIME, required=False),
    Column("breached_at", Kind.TIME, required=False),
    Column("pauses", Kind.INTEGER),
    Column("ended_at", Kind.TIME, required=False),
    Column("group_id", Kind.TEXT, required=False),
    Column("priority", Kind.TEXT),
    Column("warned", Kind.INTEGER),
    Column("breach_recorded", Kind.INTEGER),
    Column("ticket_version", Kind.INTEGER),
    # Added with the bounded SLA arithmetic (`add_missing_columns`): NULL in rows written before.
    Column("no_due_reason", Kind.TEXT, required=False),
)
SLA_TARGET_COLUMNS = tuple(column.name for column in SLA_TARGETS)
SELECT_CHUNK = 500
UNSOLVED_SQL = "('new', 'open', 'pending', 'on_hold')"
NO_ORGANISATION = ""  # how `audit_activity` keys a change without an organisation (NULL cannot be in a key)


def create_statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's tables and indexes."""
    t = n.tickets
    return [
        create_tickets_table(d, n),
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_created')} ON {t} (tenant, created_at, ticket_id)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_status')} ON {t} (tenant, status, priority_rank, created_at)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_group')} ON {t} (tenant, group_id, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_assignee')} ON {t} (tenant, assignee, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_requester')} ON {t} (tenant, requester_id)",
        # Queues read unsolved tickets most urgent first: partial indexes in that order avoid sorting the backlog.
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_unsolved_by_group')} ON {t} "
        f"(tenant, group_id, priority_rank DESC, created_at, ticket_id) WHERE status IN {UNSOLVED_SQL}",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_unsolved_by_assignee')} ON {t} "
        f"(tenant, assignee, priority_rank DESC, created_at, ticket_id) WHERE status IN {UNSOLVED_SQL}",
        f"CREATE TABLE IF NOT EXISTS {n.tags} (ticket_id {d.uuid_type} NOT NULL, tag TEXT NOT NULL, "
        "tenant TEXT NOT NULL, PRIMARY KEY (ticket_id, tag))",
        f"CREATE INDEX IF NOT EXISTS {n.index('ticket_tags_by_tag')} ON {n.tags} (tenant, tag)",
        f"CREATE TABLE IF NOT EXISTS {n.solved} (tenant TEXT NOT NULL, agent TEXT NOT NULL, "
        f"day {d.date_type} NOT NULL, solved INTEGER NOT NULL, PRIMARY KEY (tenant, agent, day))",
        f"CREATE TABLE IF NOT EXISTS {n.saved_views} (view_id {d.uuid_type} PRIMARY KEY, tenant TEXT NOT NULL, "
        f"name TEXT NOT NULL, filters {d.json_type} NOT NULL, created_by TEXT NOT NULL, "
        f"created_at {d.time_type} NOT NULL, UNIQUE (tenant, name))",
        f"CREATE TABLE IF NOT EXISTS {n.sla_policies} (tenant TEXT NOT NULL, name TEXT NOT NULL, "
        f"position INTEGER NOT NULL, version INTEGER NOT NULL, terms {d.json_type} NOT NULL, "
        "PRIMARY KEY (tenant, name))",
        f"CREATE TABLE IF NOT EXISTS {n.sla_calendars} (tenant TEXT NOT NULL, name TEXT NOT NULL, "
        f"version INTEGER NOT NULL, definition {d.json_type} NOT NULL, PRIMARY KEY (tenant, name))",
        f"CREATE TABLE IF NOT EXISTS {n.sla_clocks} (ticket_id {d.uuid_type} PRIMARY KEY, tenant TEXT NOT NULL, "
        f"clock {d.json_type} NOT NULL, alerts {d.json_type} NOT NULL, as_of {d.time_type} NOT NULL, "
        "version INTEGER NOT NULL)",
        d.create_table(n.sla_targets, SLA_TARGETS, primary_key=("ticket_id", "target")),
        f"CREATE INDEX IF NOT EXISTS {n.index('sla_targets_due')} ON {n.sla_targets} (state, due_at)",
        f"CREATE INDEX IF NOT EXISTS {n.index('sla_targets_by_tenant')} ON {n.sla_targets} (tenant, state)",
        f"CREATE TABLE IF NOT EXISTS {n.people} (tenant TEXT NOT NULL, person_id TEXT NOT NULL, "
        f"ticket_id {d.uuid_type} NOT NULL, PRIMARY KEY (tenant, person_id, ticket_id))",
        f"CREATE TABLE IF NOT EXISTS {n.activity} (tenant TEXT NOT NULL, day {d.date_type} NOT NULL, "
        "actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, organisation TEXT NOT NULL, event_type TEXT NOT NULL, "
        "changes INTEGER NOT NULL, PRIMARY KEY (tenant, day, actor_id, actor_kind, organisation, event_type))",
        *metric_statements(d, n),
        *parking_statements(d, n),
    ]


def parking_statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of the dead-letter list: one row per parked aggregate, one per event it skipped."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.table('parked')} (aggregate_id {d.uuid_type} PRIMARY KEY, "
        "tenant TEXT NOT NULL, position BIGINT NOT NULL, topic TEXT NOT NULL, stage TEXT NOT NULL, "
        f"error_type TEXT NOT NULL, reason TEXT NOT NULL, parked_at {d.time_type} NOT NULL, "
        "attempts INTEGER NOT NULL DEFAULT 1)",
        f"CREATE INDEX IF NOT EXISTS {n.index('parked_by_tenant')} ON {n.table('parked')} (tenant, position)",
        f"CREATE TABLE IF NOT EXISTS {n.table('parked_events')} (aggregate_id {d.uuid_type} NOT NULL, "
        "position BIGINT NOT NULL, PRIMARY KEY (aggregate_id, position))",
    ]


def _chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


class SqlTicketsView(TicketsView):
    """The SQL shared by both databases. Subclasses mix in eventsourcing's tracking recorder."""

    dialect: Dialect
    names: TableNames
    datastore: Any

    if TYPE_CHECKING:  # provided by eventsourcing's recorder classes mixed in below

        def create_table(self) -> None:
            """Create the tracking table and the read-model tables."""

    def add_missing_columns(self) -> None:
        """Add columns that later releases gave `tickets` (empty: no SLA policy existed before them)."""
        d, table = self.dialect, self.names.tickets
        with self.datastore.transaction(commit=True) as cursor:
            present: set[str] = set()
            if not d.is_postgres:
                cursor.execute(f"PRAGMA table_info({table})")
                present = {row["name"] for row in cursor.fetchall()}
            for column, default in ADDED_TICKET_COLUMNS:
                if column in present:
                    continue
                value = "" if default is None else f" DEFAULT '{d.time(default)}'"  # a constant, never input
                if_absent = "IF NOT EXISTS " if d.is_postgres else ""
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN {if_absent}{column} {d.time_type}{value}")
            if "stale" not in present:
                if_absent = "IF NOT EXISTS " if d.is_postgres else ""
                cursor.execute(f"ALTER TABLE {table} ADD COLUMN {if_absent}stale INTEGER NOT NULL DEFAULT 0")
            # Why an SLA target has no due moment (NULL: it has one, or is not running), added with the bounded
            # SLA arithmetic; rows written before all had a due.
            if not d.is_postgres:
                cursor.execute(f"PRAGMA table_info({self.names.sla_targets})")
            if d.is_postgres or "no_due_reason" not in {row["name"] for row in cursor.fetchall()}:
                if_absent = "IF NOT EXISTS " if d.is_postgres else ""
                cursor.execute(f"ALTER TABLE {self.names.sla_targets} ADD COLUMN {if_absent}no_due_reason TEXT")

    def begin_batch(self, after: int) -> Batch:
        """An empty batch continuing from position `after`."""
        return Batch(after=after)

    def load_tickets(self, batch: Batch, ticket_ids: set[UUID]) -> None:
        """Load stored rows of these tickets into the batch, in chunks of SELECT_CHUNK ids."""
        d, wanted = self.dialect, [i for i in ticket_ids if i not in batch.tickets]
        if not wanted:
            return
        with self.datastore.transaction(commit=False) as cursor:
            for chunk in _chunks(wanted, SELECT_CHUNK):
                cursor.execute(
                    f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.names.tickets} "
                    f"WHERE ticket_id IN ({d.params(len(chunk))})",
                    [d.uuid(i) for i in chunk],
                )
                for row in cursor.fetchall():
                    loaded = ticket_row(d, row)
                    batch.tickets[loaded.ticket_id] = loaded
                load_ticket_facts(cursor, d, self.names, batch.metrics, chunk)

    def commit_batch(self, batch: Batch, tracking: Tracking) -> None:
        """Upsert the batch's rows and record `tracking`, in one transaction.

        A batch that erased someone's data then reclaims the old row versions that still hold it.
        """
        with self.datastore.transaction(commit=True) as cursor:
            self._write_batch(cursor, batch, tracking)
        if batch.erased or batch.scrubs:
            self.reclaim()

    def try_batch(self, batch: Batch, tracking: Tracking) -> None:
        """Write the batch in a transaction that is then rolled back: to find which rows the database refuses."""
        try:
            with self.datastore.transaction(commit=True) as cursor:
                self._write_batch(cursor, batch, tracking)
                raise _RolledBackError
        except _RolledBackError:
            return

    def _write_batch(self, cursor: Any, batch: Batch, tracking: Tracking) -> None:
        if not self.dialect.is_postgres:
            # Zero the bytes a rewritten row leaves behind in its page: FAST costs no extra I/O; an
            # erasure also zeroes freed pages (ON). Otherwise old copies of a title stay in free space.
            cursor.execute(f"PRAGMA secure_delete = {'ON' if batch.erased or batch.scrubs else 'FAST'}")
        self._claim(cursor, batch.after, tracking.application_name)
        self._check_held(cursor, batch.held)
        self._write_changes(cursor, batch)
        self._write_parking(cursor, batch)
        self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]  # from the recorder mixin

    def _write_changes(self, cursor: Any, batch: Batch) -> None:
        """Every table's rows of the batch (not its parking, not its tracking)."""
        self._write_tickets(cursor, list(batch.tickets.values()))
        self._write_tags(cursor, [batch.tickets[i] for i in batch.retagged])
        self._write_solved(cursor, batch)
        self._write_saved_views(cursor, batch.saved_views)
        self._erase_from_saved_views(cursor, batch.erased)
        self._write_activity(cursor, batch.activity)
        self._write_people(cursor, batch.people)
        self._write_sla(cursor, batch)
        write_metrics(cursor, self.dialect, self.names, batch.metrics)

    # --- parking (projections/parking.py) ------------------------------------------------------------

    def _check_held(self, cursor: Any, held: set[UUID]) -> None:
        """Fail if an aggregate whose events the batch skipped was retried (unparked) meanwhile."""
        if not held:
            return
        d, ids = self.dialect, sorted(held)
        found = 0
        for chunk in _chunks(ids, SELECT_CHUNK):
            parked = self.names.table("parked")
            cursor.execute(
                f"SELECT COUNT(*) AS n FROM {parked} WHERE aggregate_id IN ({d.params(len(chunk))})",
                [d.uuid(i) for i in chunk],
            )
            found += int(cursor.fetchone()["n"])
        if found != len(ids):
            msg = "a parked aggregate was retried meanwhile"
            raise BatchConflictError(msg)

    def _write_parking(self, cursor: Any, batch: Batch) -> None:
        """Record newly parked aggregates, mark their ticket rows stale, keep the positions skipped."""
        d, n = self.dialect, self.names
        if batch.parked:
            now = d.time(datetime.now(UTC))
            rows = [_parked_values(d, p, now) for p in batch.parked]
            d.insert_rows(cursor, n.table("parked"), PARKED_COLUMNS, rows)
            ids = [d.uuid(p.aggregate_id) for p in batch.parked]
            for chunk in _chunks(ids, SELECT_CHUNK):
                cursor.execute(f"UPDATE {n.tickets} SET stale = 1 WHERE ticket_id IN ({d.params(len(chunk))})", chunk)
        if batch.skipped:
            skipped = [(d.uuid(a), position) for a, position in sorted(batch.skipped)]
            d.insert_rows(
                cursor, n.table("parked_events"), ("aggregate_id", "position"), skipped, "ON CONFLICT DO NOTHING"
            )
        for ticket_id, person_id in sorted(batch.scrubs):
            self._scrub(cursor, ticket_id, person_id)

    def _scrub(self, cursor: Any, ticket_id: UUID, person_id: str) -> None:
        """Erase a person from a parked ticket's row now: its erasure must not wait for a retry."""
        d, p = self.dialect, self.dialect.placeholder
        cursor.execute(
            f"SELECT {', '.join(TICKET_COLUMNS)} FROM {self.names.tickets} WHERE ticket_id = {p}", [d.uuid(ticket_id)]
        )
        found = cursor.fetchone()
        if found is None:
            return
        row = ticket_row(d, found)
        erase_from_row(row, person_id)
        cursor.execute(
            f"UPDATE {self.names.tickets} SET title = {p}, custom_fields = {p} WHERE ticket_id = {p}",
            [row.title, d.json(row.custom_fields), d.uuid(ticket_id)],
        )

    def parked_ids(self) -> set[UUID]:
        """The aggregates parked now."""
        with self.dialect.reading(self.datastore) as cursor:
            cursor.execute(f"SELECT aggregate_id FROM {self.names.table('parked')}")
            return {self.dialect.to_uuid(r["aggregate_id"]) for r in cursor.fetchall()}

    def parked(self, tenant: str | None = None, aggregate_id: UUID | None = None) -> list[ParkedEntry]:
        """The dead-letter list, oldest position first; of one tenant or one aggregate if asked."""
        d, p, n = self.dialect, self.dialect.placeholder, self.names
        clauses, params = ["1 = 1"], list[Any]()
        if tenant is not None:
            clauses.append(f"k.tenant = {p}")
            params.append(tenant)
        if aggregate_id is not None:
            clauses.append(f"k.aggregate_id = {p}")
            params.append(d.uuid(aggregate_id))
        with self.dialect.reading(self.datastore) as cursor:
            cursor.execute(
                "SELECT k.aggregate_id, k.tenant, k.position, k.topic, k.stage, k.error_type, k.reason, k.parked_at, "
                f"k.attempts, (SELECT COUNT(*) FROM {n.table('parked_events')} e "
                f"WHERE e.aggregate_id = k.aggregate_id) AS skipped FROM {n.table('parked')} k "
                f"WHERE {' AND '.join(clauses)} ORDER BY k.position, k.aggregate_id",
                params,
            )
            return [_parked_entry(d, r) for r in cursor.fetchall()]

    def skipped_positions(self, aggregate_id: UUID) -> list[int]:
        """The positions of a parked aggregate's events not applied yet, in order."""
        d = self.dialect
        with d.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT position FROM {self.names.table('parked_events')} WHERE aggregate_id = {d.placeholder} "
                "ORDER BY position",
                [d.uuid(aggregate_id)],
            )
            return [int(r["position"]) for r in cursor.fetchall()]

    def commit_retry(self, batch: Batch, aggregate_id: UUID, positions: list[int]) -> None:
        """Write a parked aggregate's replayed events and unpark it, if nothing was skipped for it meanwhile."""
        d, p, n = self.dialect, self.dialect.placeholder, self.names
        with self.datastore.transaction(commit=True) as cursor:
            self._lock(cursor, aggregate_id)
            cursor.execute(
                f"SELECT position FROM {n.table('parked_events')} WHERE aggregate_id = {p} ORDER BY position",
                [d.uuid(aggregate_id)],
            )
            if [int(r["position"]) for r in cursor.fetchall()] != positions:
                msg = "more events of the parked aggregate were skipped meanwhile"
                raise BatchConflictError(msg)
            self._write_changes(cursor, batch)
            for table in PARKING_TABLES:
                cursor.execute(f"DELETE FROM {n.table(table)} WHERE aggregate_id = {p}", [d.uuid(aggregate_id)])
        if batch.erased:
            self.reclaim()

    def repark(self, parking: Parking) -> None:
        """Record that a retry failed again: the new failure, one more attempt."""
        d, p = self.dialect, self.dialect.placeholder
        with self.datastore.transaction(commit=True) as cursor:
            cursor.execute(
                f"UPDATE {self.names.table('parked')} SET position = {p}, topic = {p}, stage = {p}, error_type = {p}, "
                f"reason = {p}, parked_at = {p}, attempts = attempts + 1 WHERE aggregate_id = {p}",
                [*_failure_values(parking, d.time(datetime.now(UTC))), d.uuid(parking.aggregate_id)],
            )

    def _lock(self, cursor: Any, aggregate_id: UUID) -> None:
        """Serialise with the batch writers of this generation (a retry must not interleave with a batch)."""
        if self.dialect.is_postgres:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.names.table("tracking")])
            return
        # SQLite: write first, so this transaction holds the write lock before it reads.
        cursor.execute(
            f"UPDATE {self.names.table('parked')} SET attempts = attempts WHERE aggregate_id = ?", [str(aggregate_id)]
        )

    #: The tables an erasure rewrites rows of: ticket titles and custom fields, saved views' filters.
    ERASURE_TABLES = ("tickets", "saved_views")

    def reclaim(self) -> None:
        """Remove the row versions an erasure left behind in the tables it rewrote.

        PostgreSQL keeps the old version of an updated row (a dead tuple, readable with pageinspect)
        until VACUUM removes it, which must run outside a transaction (autocommit). SQLite zeroed
        the freed space as it wrote (secure_delete); the old pages still sit in its write-ahead
        log, which a TRUNCATE checkpoint empties (unless readers hold it: then it ages out).
        """
        if self.dialect.is_postgres:
            with self.datastore.get_connection() as connection:  # autocommit, as VACUUM needs
                for name in self.ERASURE_TABLES:
                    connection.execute(f"VACUUM {self.names.table(name)}")
            return
        with self.datastore.get_connection(commit=True) as connection, connection.cursor() as cursor:
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # autocommit: outside any transaction

    def _claim(self, cursor: Any, after: int, application_name: str) -> None:
        """Fail unless the stored position is still `after` (compare-and-set, inside the write transaction)."""
        if self.dialect.is_postgres:
            # Serialise this generation's committers, so the check below cannot race (even with no row yet).
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.names.table("tracking")])
        cursor.execute(
            f"SELECT MAX(notification_id) AS position FROM {self.names.table('tracking')} "
            f"WHERE application_name = {self.dialect.placeholder}",
            [application_name],
        )
        stored = cursor.fetchone()["position"]
        if (stored or 0) != after:
            msg = f"the read model moved from position {after} to {stored} meanwhile"
            raise BatchConflictError(msg)

    def _write_tickets(self, cursor: Any, rows: list[TicketRow]) -> None:
        if not rows:
            return
        d, n = self.dialect, self.names
        updates = ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:])
        d.insert_rows(
            cursor,
            n.tickets,
            TICKET_COLUMNS,
            [ticket_values(d, r) for r in rows],
            f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
        )

    def _write_tags(self, cursor: Any, rows: list[TicketRow]) -> None:
        if not rows:
            return
        d, n = self.dialect, self.names
        d.delete_where_in(cursor, n.tags, "ticket_id", [d.uuid(r.ticket_id) for r in rows])
        tags = [(d.uuid(r.ticket_id), tag, r.tenant) for r in rows for tag in r.tags]
        d.insert_rows(cursor, n.tags, ("ticket_id", "tag", "tenant"), tags)

    def _write_solved(self, cursor: Any, batch: Batch) -> None:
        if not batch.solved:
            return
        d, n = self.dialect, self.names
        d.insert_rows(
            cursor,
            n.solved,
            ("tenant", "agent", "day", "solved"),
            [(tenant, agent, d.day(day), count) for (tenant, agent, day), count in batch.solved.items()],
            f"ON CONFLICT (tenant, agent, day) DO UPDATE SET solved = {n.solved}.solved + excluded.solved",
        )

    def _write_saved_views(self, cursor: Any, views: list[SavedViewRow]) -> None:
        if not views:
            return
        d = self.dialect
        cursor.executemany(
            f"INSERT INTO {self.names.saved_views} (view_id, tenant, name, filters, created_by, created_at) "
            f"VALUES ({d.params(6)})",
            [
                (d.uuid(v.view_id), v.tenant, v.name, d.json(v.filters), v.created_by, d.time(v.created_at))
                for v in views
            ],
        )

    def _erase_from_saved_views(self, cursor: Any, erased: set[tuple[str, str]]) -> None:
        """Scrub stored saved views of each erased person: theirs, and filters naming them (`erased_filters`)."""
        d, p, table = self.dialect, self.dialect.placeholder, self.names.saved_views
        for tenant in sorted({tenant for tenant, _ in erased}):
            people = sorted(person for t, person in erased if t == tenant)
            cursor.execute(f"SELECT view_id, filters, created_by FROM {table} WHERE tenant = {p}", [tenant])
            for row in cursor.fetchall():
                stored = d.to_json(row["filters"])
                filters = stored
                for person in people:
                    filters = erased_filters(filters, saver=row["created_by"], person_id=person)
                if filters != stored:
                    cursor.execute(
                        f"UPDATE {table} SET filters = {p} WHERE view_id = {p}", [d.json(filters), row["view_id"]]
                    )

    def load_sla_config(self, changes: SlaChanges, tenant: str) -> None:
        """Load the tenant's stored policies and calendars; rows already in the batch are newer."""
        d, p = self.dialect, self.dialect.placeholder
        with self.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                f"SELECT name, position, version, terms FROM {self.names.sla_policies} WHERE tenant = {p}", [tenant]
            )
            for r in cursor.fetchall():
                changes.policies.setdefault(
                    (tenant, r["name"]),
                    PolicyRow(tenant, r["name"], r["position"], r["version"], d.to_json(r["terms"])),
                )
            cursor.execute(
                f"SELECT name, version, definition FROM {self.names.sla_calendars} WHERE tenant = {p}", [tenant]
            )
            for r in cursor.fetchall():
                changes.calendars.setdefault(
                    (tenant, r["name"]), CalendarRow(tenant, r["name"], r["version"], d.to_json(r["definition"]))
                )

    def load_sla_clocks(self, changes: SlaChanges, ticket_ids: set[UUID], calendars: Callable[[str], Calendar]) -> None:
        """Load the stored clocks of these tickets (those that are tracked)."""
        d, wanted = self.dialect, [i for i in ticket_ids if i not in changes.clocks]
        if not wanted:
            return
        with self.dialect.reading(self.datastore) as cursor:
            cursor.execute(
                f"SELECT ticket_id, tenant, clock, alerts, as_of, version FROM {self.names.sla_clocks} "
                f"WHERE ticket_id IN ({d.params(len(wanted))})",
                [d.uuid(i) for i in wanted],
            )
            rows = cursor.fetchall()
        for r in rows:
            ticket_id = d.to_uuid(r["ticket_id"])
            clock = SlaClock.from_dict(d.to_json(r["clock"]), calendars)
            as_of = d.to_time(r["as_of"])
            assert as_of is not None  # NOT NULL
            changes.clocks[ticket_id] = ClockRow(
                ticket_id, r["tenant"], clock, d.to_json(r["alerts"]), as_of, r["version"]
            )

    def _write_sla(self, cursor: Any, batch: Batch) -> None:
        d, n, sla = self.dialect, self.names, batch.sla
        if sla.policies:
            cursor.executemany(
                f"INSERT INTO {n.sla_policies} (tenant, name, position, version, terms) VALUES ({d.params(5)}) "
                "ON CONFLICT (tenant, name) DO UPDATE SET position = excluded.position, version = excluded.version, "
                "terms = excluded.terms",
                [(r.tenant, r.name, r.position, r.version, d.json(r.terms)) for r in sla.policies.values()],
            )
        if sla.calendars:
            cursor.executemany(
                f"INSERT INTO {n.sla_calendars} (tenant, name, version, definition) VALUES ({d.params(4)}) "
                "ON CONFLICT (tenant, name) DO UPDATE SET version = excluded.version, definition = excluded.definition",
                [(r.tenant, r.name, r.version, d.json(r.definition)) for r in sla.calendars.values()],
            )
        if not sla.clocks:
            return
        clocks = list(sla.clocks.values())
        d.insert_rows(
            cursor,
            n.sla_clocks,
            ("ticket_id", "tenant", "clock", "alerts", "as_of", "version"),
            [
                (d.uuid(c.ticket_id), c.tenant, d.json(c.clock.as_dict()), d.json(c.alerts), d.time(c.as_of), c.version)
                for c in clocks
            ],
            "ON CONFLICT (ticket_id) DO UPDATE SET clock = excluded.clock, alerts = excluded.alerts, "
            "as_of = excluded.as_of, version = excluded.version",
        )
        d.delete_where_in(cursor, n.sla_targets, "ticket_id", [d.uuid(c.ticket_id) for c in clocks])
        targets = [_target_values(d, c, t, batch.tickets.get(c.ticket_id)) for c in clocks for t in c.targets()]
        d.insert_rows(cursor, n.sla_targets, SLA_TARGET_COLUMNS, targets)

    def _write_people(self, cursor: Any, people: set[tuple[str, str, UUID]]) -> None:
        if not people:
            return
        d = self.dialect
        d.insert_rows(
            cursor,
            self.names.people,
            ("tenant", "person_id", "ticket_id"),
            [(tenant, person, d.uuid(ticket_id)) for tenant, person, ticket_id in sorted(people)],
            "ON CONFLICT DO NOTHING",
        )

    def _write_activity(self, cursor: Any, activity: dict[ActivityKey, int]) -> None:
        if not activity:
            return
        d, n = self.dialect, self.names
        d.insert_rows(
            cursor,
            n.activity,
            ("tenant", "day", "actor_id", "actor_kind", "organisation", "event_type", "changes"),
            [_activity_values(d, key, changes) for key, changes in activity.items()],
            "ON CONFLICT (tenant, day, actor_id, actor_kind, organisation, event_type) "
            f"DO UPDATE SET changes = {n.activity}.changes + excluded.changes",
        )


def _target_values(d: Dialect, clock: ClockRow, t: TargetStatus, ticket: TicketRow | None) -> tuple[Any, ...]:
    return (
        d.uuid(clock.ticket_id),
        t.target.value,
        clock.tenant,
        t.policy_id,
        t.policy_version,
        t.target_minutes,
        t.state.value,
        t.cycle,
        d.time(t.started_at),
        d.time(t.due_at),
        d.time(t.warn_at),
        t.elapsed_minutes,
        t.remaining_minutes,
        d.time(t.fulfilled_at),
        d.time(t.breached_at),
        t.pauses,
        d.time(t.ended_at),
        None if ticket is None else ticket.group,
        "normal" if ticket is None else ticket.priority,
        int(clock.alerted("warning", t)),
        int(clock.alerted("breach", t)),
        clock.version,
        t.no_due_reason,
    )


def _failure_values(p: Parking, now: Any) -> tuple[Any, ...]:
    return (p.position, p.topic, p.failure.stage.value, p.failure.error_type, p.failure.reason, now)


def _parked_values(d: Dialect, p: Parking, now: Any) -> tuple[Any, ...]:
    return (d.uuid(p.aggregate_id), p.tenant, *_failure_values(p, now))


class _RolledBackError(Exception):
    """Ends a trial write's transaction by rolling it back."""


def _parked_entry(d: Dialect, r: Any) -> ParkedEntry:
    parked_at = d.to_time(r["parked_at"])
    assert parked_at is not None  # NOT NULL
    return ParkedEntry(
        aggregate_id=d.to_uuid(r["aggregate_id"]),
        tenant=r["tenant"],
        position=int(r["position"]),
        topic=r["topic"],
        stage=r["stage"],
        error_type=r["error_type"],
        reason=r["reason"],
        parked_at=parked_at,
        attempts=int(r["attempts"]),
        skipped=int(r["skipped"]),
    )


def _activity_values(d: Dialect, key: ActivityKey, changes: int) -> tuple[Any, ...]:
    organisation = NO_ORGANISATION if key.organisation is None else key.organisation
    return (key.tenant, d.day(key.day), key.actor_id, key.actor_kind, organisation, key.event_type, changes)


class SQLiteTicketsView(SqlTicketsView, SQLiteTrackingRecorder):
    """The ticket read models in an SQLite file of their own."""

    dialect = SQLITE
    names = SQLITE_NAMES

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)

    def construct_create_table_statements(self) -> list[str]:
        """The tracking table of eventsourcing, then ours."""
        return [*super().construct_create_table_statements(), *create_statements(SQLITE, SQLITE_NAMES)]


class PostgresTicketsView(SqlTicketsView, PostgresTrackingRecorder):
    """The ticket read models of one generation, in the events' PostgreSQL database."""

    dialect = POSTGRES

    def __init__(self, datastore: PostgresDatastore, generation: int) -> None:
        self.names = postgres_names(datastore.schema, generation)
        super().__init__(datastore, tracking_table_name=f"rm{generation}_tracking")
        ddl = create_statements(POSTGRES, self.names)
        self.sql_create_statements.extend(Composed([SQL(s)]) for s in ddl)  # our own DDL, no input in it
