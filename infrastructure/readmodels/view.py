"""The read models of one generation on SQLite and PostgreSQL, written batch by batch with their tracking row.

Each slice (projections/<slice>/tables.py) owns its tables' DDL, loading and writing; this view
composes them. It claims the batch's tracking position (compare-and-set), writes every slice's
rows and the parking records, and inserts the tracking row, all in one transaction. Each
generation of the read models has its own tables: on PostgreSQL a table-name prefix `rm<N>_`, on
SQLite a file of its own (eventsourcing's SQLite tracking table name is fixed).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

from domain.sla.policy import Calendar
from projections.activity import tables as activity
from projections.batch import Batch, BatchConflictError, TicketsView
from projections.knowledge import tables as knowledge
from projections.knowledge.rows import KnowledgeChanges
from projections.metrics import tables as metrics
from projections.parking import tables as dead_letters
from projections.parking.failure import ParkedEntry, Parking
from projections.people import tables as people
from projections.routing import tables as routing
from projections.saved_views import tables as saved_views
from projections.sla import tables as sla
from projections.sla.rows import SlaChanges
from projections.sql import POSTGRES, SELECT_CHUNK, SQLITE, SQLITE_NAMES, Dialect, TableNames, chunks, postgres_names
from projections.tickets import search as ticket_search
from projections.tickets import tables as tickets
from projections.workload import tables as workload


def create_statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's tables and indexes: every slice's."""
    return [
        *tickets.statements(d, n),
        *ticket_search.statements(d, n),
        *workload.statements(d, n),
        *routing.statements(d, n),
        *saved_views.statements(d, n),
        *sla.statements(d, n),
        *people.statements(d, n),
        *activity.statements(d, n),
        *metrics.statements(d, n),
        *knowledge.statements(d, n),
        *dead_letters.statements(d, n),
    ]


def write_changes(cursor: Any, d: Dialect, n: TableNames, batch: Batch) -> None:
    """Every slice's rows of the batch (not its parking, not its tracking)."""
    tickets.write(cursor, d, n, batch.tickets, batch.retagged)
    ticket_search.write(cursor, d, n, batch.search, batch.erased)
    workload.write(cursor, d, n, batch.solved)
    routing.write(cursor, d, n, batch.routing)
    saved_views.write(cursor, d, n, batch.saved_views, batch.erased)
    activity.write(cursor, d, n, batch.activity)
    people.write(cursor, d, n, batch.people)
    sla.write(cursor, d, n, batch.sla, batch.tickets)
    metrics.write(cursor, d, n, batch.metrics)
    knowledge.write(cursor, d, n, batch.knowledge)


class SqlTicketsView(TicketsView):
    """The SQL shared by both databases. Subclasses mix in eventsourcing's tracking recorder."""

    dialect: Dialect
    names: TableNames
    datastore: Any
    #: The tables an erasure rewrites rows of: ticket titles and custom fields, saved views' filters, votes,
    #: and the search terms of the person's ticket parts.
    ERASURE_TABLES = ("tickets", "saved_views", "kb_votes", "ticket_search")

    if TYPE_CHECKING:  # provided by eventsourcing's recorder classes mixed in below

        def create_table(self) -> None:
            """Create the tracking table and the read-model tables."""

    def add_missing_columns(self) -> None:
        """Add columns that later releases gave the slices' tables (see each slice's `add_missing_columns`)."""
        with self.datastore.transaction(commit=True) as cursor:
            tickets.add_missing_columns(cursor, self.dialect, self.names)
            sla.add_missing_columns(cursor, self.dialect, self.names)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # The tenants' SLA policies and calendars as stored at position `_sla_config_at`. A batch that
        # continues from there (a catch-up's every batch) reads them here instead of asking the tables:
        # a round trip per tenant per batch. Another writer moving the position empties it.
        self._sla_config: dict[str, SlaChanges] = {}
        self._sla_config_at = -1

    def begin_batch(self, after: int) -> Batch:
        """An empty batch continuing from position `after`."""
        if after != self._sla_config_at:
            self._sla_config.clear()
            self._sla_config_at = after
        return Batch(after=after)

    def load_tickets(self, batch: Batch, ticket_ids: set[UUID]) -> None:
        """Load the stored rows and metric facts of these tickets into the batch, SELECT_CHUNK ids at a time."""
        d, n, wanted = self.dialect, self.names, [i for i in ticket_ids if i not in batch.tickets]
        if not wanted:
            return
        with self.datastore.transaction(commit=False) as cursor:
            for chunk in chunks(wanted, SELECT_CHUNK):
                tickets.load(cursor, d, n, batch.tickets, chunk)
                metrics.load(cursor, d, n, batch.metrics, chunk)

    def load_articles(self, changes: KnowledgeChanges, article_ids: set[UUID]) -> None:
        """Load the stored rows of these articles into the batch, SELECT_CHUNK ids at a time."""
        wanted = [i for i in article_ids if i not in changes.articles]
        with self.datastore.transaction(commit=False) as cursor:
            for chunk in chunks(wanted, SELECT_CHUNK):
                knowledge.load(cursor, self.dialect, self.names, changes, chunk)

    def load_sla_config(self, changes: SlaChanges, tenant: str) -> None:
        """Load the tenant's stored policies and calendars; rows already in the batch are newer."""
        stored = self._sla_config.get(tenant)
        if stored is None:
            stored = SlaChanges()
            with self.datastore.transaction(commit=False) as cursor:
                sla.load_config(cursor, self.dialect, self.names, stored, tenant)
            self._sla_config[tenant] = stored
        for key, policy in stored.policies.items():
            changes.policies.setdefault(key, policy)
        for key, calendar in stored.calendars.items():
            changes.calendars.setdefault(key, calendar)

    def load_sla_tiers(self, changes: SlaChanges, profile_ids: set[UUID]) -> None:
        """Load the stored customer tiers of these profiles; tiers already in the batch are newer."""
        wanted = [i for i in profile_ids if i not in changes.tiers]
        if not wanted:
            return
        with self.dialect.reading(self.datastore) as cursor:
            for chunk in chunks(wanted, SELECT_CHUNK):
                sla.load_tiers(cursor, self.dialect, self.names, changes, chunk)

    def load_sla_clocks(self, changes: SlaChanges, ticket_ids: set[UUID], calendars: Callable[[str], Calendar]) -> None:
        """Load the stored clocks of these tickets (those that are tracked)."""
        wanted = [i for i in ticket_ids if i not in changes.clocks]
        if not wanted:
            return
        with self.dialect.reading(self.datastore) as cursor:
            rows = sla.select_clocks(cursor, self.dialect, self.names, wanted)
        for r in rows:
            clock = sla.clock_row(self.dialect, r, calendars)
            changes.clocks[clock.ticket_id] = clock

    def commit_batch(self, batch: Batch, tracking: Tracking) -> None:
        """Upsert the batch's rows and record `tracking`, in one transaction.

        A batch that erased someone's data then reclaims the old row versions that still hold it.
        """
        with self.datastore.transaction(commit=True) as cursor:
            self._write_batch(cursor, batch, tracking)
        self._keep_sla_config(batch.sla, tracking.notification_id)
        if batch.erased or batch.scrubs:
            self.reclaim()

    def _keep_sla_config(self, changes: SlaChanges, position: int) -> None:
        """Keep what the tables now hold of the tenants the batch loaded: the stored rows and the batch's own."""
        for tenant in changes.loaded_tenants:
            kept = SlaChanges()
            kept.policies = {key: row for key, row in changes.policies.items() if key[0] == tenant}
            kept.calendars = {key: row for key, row in changes.calendars.items() if key[0] == tenant}
            self._sla_config[tenant] = kept
        self._sla_config_at = position

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
        write_changes(cursor, self.dialect, self.names, batch)
        self._write_parking(cursor, batch)
        self._insert_tracking(cursor, tracking)  # type: ignore[attr-defined]  # from the recorder mixin

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

    # --- parking (projections/parking/) --------------------------------------------------------------

    def _check_held(self, cursor: Any, held: set[UUID]) -> None:
        """Fail if an aggregate whose events the batch skipped was retried (unparked) meanwhile."""
        if held and dead_letters.count_parked(cursor, self.dialect, self.names, sorted(held)) != len(held):
            msg = "a parked aggregate was retried meanwhile"
            raise BatchConflictError(msg)

    def _write_parking(self, cursor: Any, batch: Batch) -> None:
        """Record newly parked aggregates, mark their ticket rows stale, keep the positions skipped."""
        d, n = self.dialect, self.names
        dead_letters.write(cursor, d, n, batch.parked, batch.skipped, d.time(datetime.now(UTC)))
        tickets.mark_stale(cursor, d, n, [p.aggregate_id for p in batch.parked])
        for ticket_id, person_id in sorted(batch.scrubs):
            tickets.scrub(cursor, d, n, ticket_id, person_id)
            ticket_search.scrub(cursor, d, n, ticket_id, person_id)

    def parked_ids(self) -> set[UUID]:
        """The aggregates parked now."""
        with self.dialect.reading(self.datastore) as cursor:
            return dead_letters.parked_ids(cursor, self.dialect, self.names)

    def parked(self, tenant: str | None = None, aggregate_id: UUID | None = None) -> list[ParkedEntry]:
        """The dead-letter list, oldest position first; of one tenant or one aggregate if asked."""
        with self.dialect.reading(self.datastore) as cursor:
            return dead_letters.entries(cursor, self.dialect, self.names, tenant, aggregate_id)

    def skipped_positions(self, aggregate_id: UUID) -> list[int]:
        """The positions of a parked aggregate's events not applied yet, in order."""
        with self.dialect.reading(self.datastore) as cursor:
            return dead_letters.skipped_positions(cursor, self.dialect, self.names, aggregate_id)

    def commit_retry(self, batch: Batch, aggregate_id: UUID, positions: list[int]) -> None:
        """Write a parked aggregate's replayed events and unpark it, if nothing was skipped for it meanwhile."""
        d, n = self.dialect, self.names
        self._sla_config.clear()  # a replayed policy or calendar changes the tables without moving the position
        with self.datastore.transaction(commit=True) as cursor:
            self._lock(cursor, aggregate_id)
            if dead_letters.skipped_positions(cursor, d, n, aggregate_id) != positions:
                msg = "more events of the parked aggregate were skipped meanwhile"
                raise BatchConflictError(msg)
            write_changes(cursor, d, n, batch)
            dead_letters.unpark(cursor, d, n, aggregate_id)
        if batch.erased:
            self.reclaim()

    def repark(self, parking: Parking) -> None:
        """Record that a retry failed again: the new failure, one more attempt."""
        with self.datastore.transaction(commit=True) as cursor:
            dead_letters.repark(cursor, self.dialect, self.names, parking, self.dialect.time(datetime.now(UTC)))

    def _lock(self, cursor: Any, aggregate_id: UUID) -> None:
        """Serialise with the batch writers of this generation (a retry must not interleave with a batch)."""
        if self.dialect.is_postgres:
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [self.names.table("tracking")])
            return
        # SQLite: write first, so this transaction holds the write lock before it reads.
        cursor.execute(
            f"UPDATE {self.names.table('parked')} SET attempts = attempts WHERE aggregate_id = ?", [str(aggregate_id)]
        )

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


class _RolledBackError(Exception):
    """Ends a trial write's transaction by rolling it back."""


class SQLiteTicketsView(SqlTicketsView, SQLiteTrackingRecorder):
    """The read models in an SQLite file of their own."""

    dialect = SQLITE
    names = SQLITE_NAMES

    def __init__(self, datastore: SQLiteDatastore) -> None:
        super().__init__(datastore)

    def construct_create_table_statements(self) -> list[str]:
        """The tracking table of eventsourcing, then ours."""
        return [*super().construct_create_table_statements(), *create_statements(SQLITE, SQLITE_NAMES)]


class PostgresTicketsView(SqlTicketsView, PostgresTrackingRecorder):
    """The read models of one generation, in the events' PostgreSQL database."""

    dialect = POSTGRES

    def __init__(self, datastore: PostgresDatastore, generation: int) -> None:
        self.names = postgres_names(datastore.schema, generation)
        super().__init__(datastore, tracking_table_name=f"rm{generation}_tracking")
        ddl = create_statements(POSTGRES, self.names)
        self.sql_create_statements.extend(Composed([SQL(s)]) for s in ddl)  # our own DDL, no input in it
