"""The ticket read-model tables on SQLite and PostgreSQL, written batch by batch with their tracking row.

The SQL is written once; `Dialect` supplies what differs. Each generation of the read models
(see `generations.py`) has its own tables: on PostgreSQL a table-name prefix `rm<N>_`, on SQLite
a file of its own (eventsourcing's SQLite tracking table name is fixed).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any
from uuid import UUID

from eventsourcing.persistence import Tracking
from eventsourcing.postgres import PostgresDatastore, PostgresTrackingRecorder
from eventsourcing.sqlite import SQLiteDatastore, SQLiteTrackingRecorder
from psycopg.sql import SQL, Composed

from infrastructure.readmodels.dialect import POSTGRES, SQLITE, Dialect
from projections.tickets import ActivityKey, Batch, BatchConflictError, SavedViewRow, TicketRow, TicketsView

TICKET_COLUMNS = (
    "ticket_id",
    "tenant",
    "title",
    "status",
    "priority",
    "priority_rank",
    "ticket_type",
    "group_id",
    "assignee",
    "requester_id",
    "organisation",
    "channel",
    "tags",
    "custom_fields",
    "created_at",
    "updated_at",
    "solved_at",
    "closed_at",
    "reopen_count",
    "public_comments",
    "internal_notes",
    "first_agent_reply_at",
    "last_requester_activity_at",
    "version",
    "position",
)
SELECT_CHUNK = 500
NO_ORGANISATION = ""  # how `audit_activity` keys a change without an organisation (NULL cannot be in a key)


@dataclass(frozen=True, slots=True)
class TableNames:
    """The (quoted, schema-qualified where needed) names of one generation's tables."""

    prefix: str  # unquoted, for index names
    qualifier: str  # '"schema".' on PostgreSQL, '' on SQLite

    def table(self, name: str) -> str:
        """The full name of one of this generation's tables."""
        return f'{self.qualifier}"{self.prefix}{name}"'

    def index(self, name: str) -> str:
        """An index name, unique within the schema."""
        return f'"{self.prefix}{name}"'

    @property
    def tickets(self) -> str:
        """One row per ticket."""
        return self.table("tickets")

    @property
    def tags(self) -> str:
        """One row per (ticket, tag)."""
        return self.table("ticket_tags")

    @property
    def solved(self) -> str:
        """Tickets solved per agent per day."""
        return self.table("agent_solved_daily")

    @property
    def saved_views(self) -> str:
        """Named ticket-list filters."""
        return self.table("saved_views")

    @property
    def people(self) -> str:
        """Which tickets hold personal data of which person (requester, comment authors): what erasure visits."""
        return self.table("ticket_people")

    @property
    def activity(self) -> str:
        """Changes per tenant, day, actor, organisation and event type (audit reports)."""
        return self.table("audit_activity")


def postgres_names(schema: str, generation: int) -> TableNames:
    """Table names of a PostgreSQL generation."""
    return TableNames(prefix=f"rm{generation}_", qualifier=f'"{schema}".')


SQLITE_NAMES = TableNames(prefix="", qualifier="")


def create_statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's tables and indexes."""
    t = n.tickets
    return [
        f"CREATE TABLE IF NOT EXISTS {t} (ticket_id {d.uuid_type} PRIMARY KEY, tenant TEXT NOT NULL, "
        "title TEXT NOT NULL, status TEXT NOT NULL, priority TEXT NOT NULL, priority_rank INTEGER NOT NULL, "
        "ticket_type TEXT, group_id TEXT, assignee TEXT, requester_id TEXT NOT NULL, organisation TEXT, "
        f"channel TEXT NOT NULL, tags {d.json_type} NOT NULL, custom_fields {d.json_type} NOT NULL, "
        f"created_at {d.time_type} NOT NULL, updated_at {d.time_type} NOT NULL, solved_at {d.time_type}, "
        f"closed_at {d.time_type}, reopen_count INTEGER NOT NULL, public_comments INTEGER NOT NULL, "
        f"internal_notes INTEGER NOT NULL, first_agent_reply_at {d.time_type}, "
        f"last_requester_activity_at {d.time_type}, version INTEGER NOT NULL, position BIGINT NOT NULL)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_created')} ON {t} (tenant, created_at, ticket_id)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_status')} ON {t} (tenant, status, priority_rank, created_at)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_group')} ON {t} (tenant, group_id, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_assignee')} ON {t} (tenant, assignee, status, priority_rank)",
        f"CREATE INDEX IF NOT EXISTS {n.index('tickets_by_requester')} ON {t} (tenant, requester_id)",
        f"CREATE TABLE IF NOT EXISTS {n.tags} (ticket_id {d.uuid_type} NOT NULL, tag TEXT NOT NULL, "
        "tenant TEXT NOT NULL, PRIMARY KEY (ticket_id, tag))",
        f"CREATE INDEX IF NOT EXISTS {n.index('ticket_tags_by_tag')} ON {n.tags} (tenant, tag)",
        f"CREATE TABLE IF NOT EXISTS {n.solved} (tenant TEXT NOT NULL, agent TEXT NOT NULL, "
        f"day {d.date_type} NOT NULL, solved INTEGER NOT NULL, PRIMARY KEY (tenant, agent, day))",
        f"CREATE TABLE IF NOT EXISTS {n.saved_views} (view_id {d.uuid_type} PRIMARY KEY, tenant TEXT NOT NULL, "
        f"name TEXT NOT NULL, filters {d.json_type} NOT NULL, created_by TEXT NOT NULL, "
        f"created_at {d.time_type} NOT NULL, UNIQUE (tenant, name))",
        f"CREATE TABLE IF NOT EXISTS {n.people} (tenant TEXT NOT NULL, person_id TEXT NOT NULL, "
        f"ticket_id {d.uuid_type} NOT NULL, PRIMARY KEY (tenant, person_id, ticket_id))",
        f"CREATE TABLE IF NOT EXISTS {n.activity} (tenant TEXT NOT NULL, day {d.date_type} NOT NULL, "
        "actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, organisation TEXT NOT NULL, event_type TEXT NOT NULL, "
        "changes INTEGER NOT NULL, PRIMARY KEY (tenant, day, actor_id, actor_kind, organisation, event_type))",
    ]


def ticket_row(d: Dialect, row: Any) -> TicketRow:
    """A TicketRow from a stored row (a mapping of column name to value)."""
    return TicketRow(
        ticket_id=d.to_uuid(row["ticket_id"]),
        tenant=row["tenant"],
        title=row["title"],
        status=row["status"],
        priority=row["priority"],
        priority_rank=row["priority_rank"],
        ticket_type=row["ticket_type"],
        group=row["group_id"],
        assignee=row["assignee"],
        requester_id=row["requester_id"],
        organisation=row["organisation"],
        channel=row["channel"],
        tags=d.to_json(row["tags"]),
        custom_fields=d.to_json(row["custom_fields"]),
        created_at=d.to_time(row["created_at"]),  # type: ignore[arg-type]  # NOT NULL
        updated_at=d.to_time(row["updated_at"]),  # type: ignore[arg-type]  # NOT NULL
        solved_at=d.to_time(row["solved_at"]),
        closed_at=d.to_time(row["closed_at"]),
        reopen_count=row["reopen_count"],
        public_comments=row["public_comments"],
        internal_notes=row["internal_notes"],
        first_agent_reply_at=d.to_time(row["first_agent_reply_at"]),
        last_requester_activity_at=d.to_time(row["last_requester_activity_at"]),
        version=row["version"],
        position=row["position"],
    )


def _ticket_values(d: Dialect, r: TicketRow) -> tuple[Any, ...]:
    return (
        d.uuid(r.ticket_id),
        r.tenant,
        r.title,
        r.status,
        r.priority,
        r.priority_rank,
        r.ticket_type,
        r.group,
        r.assignee,
        r.requester_id,
        r.organisation,
        r.channel,
        d.json(r.tags),
        d.json(r.custom_fields),
        d.time(r.created_at),
        d.time(r.updated_at),
        d.time(r.solved_at),
        d.time(r.closed_at),
        r.reopen_count,
        r.public_comments,
        r.internal_notes,
        d.time(r.first_agent_reply_at),
        d.time(r.last_requester_activity_at),
        r.version,
        r.position,
    )


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

    def commit_batch(self, batch: Batch, tracking: Tracking) -> None:
        """Upsert the batch's rows and record `tracking`, in one transaction."""
        with self.datastore.transaction(commit=True) as cursor:
            self._claim(cursor, batch.after, tracking.application_name)
            self._write_tickets(cursor, list(batch.tickets.values()))
            self._write_tags(cursor, [batch.tickets[i] for i in batch.retagged])
            self._write_solved(cursor, batch)
            self._write_saved_views(cursor, batch.saved_views)
            self._write_activity(cursor, batch.activity)
            self._write_people(cursor, batch.people)
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

    def _write_tickets(self, cursor: Any, rows: list[TicketRow]) -> None:
        if not rows:
            return
        d, n = self.dialect, self.names
        updates = ", ".join(f"{c} = excluded.{c}" for c in TICKET_COLUMNS[1:])
        cursor.executemany(
            f"INSERT INTO {n.tickets} ({', '.join(TICKET_COLUMNS)}) VALUES ({d.params(len(TICKET_COLUMNS))}) "
            f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
            [_ticket_values(d, r) for r in rows],
        )

    def _write_tags(self, cursor: Any, rows: list[TicketRow]) -> None:
        if not rows:
            return
        d, n = self.dialect, self.names
        ids = [(d.uuid(r.ticket_id),) for r in rows]
        cursor.executemany(f"DELETE FROM {n.tags} WHERE ticket_id = {d.placeholder}", ids)
        tags = [(d.uuid(r.ticket_id), tag, r.tenant) for r in rows for tag in r.tags]
        if tags:
            cursor.executemany(f"INSERT INTO {n.tags} (ticket_id, tag, tenant) VALUES ({d.params(3)})", tags)

    def _write_solved(self, cursor: Any, batch: Batch) -> None:
        if not batch.solved:
            return
        d, n = self.dialect, self.names
        cursor.executemany(
            f"INSERT INTO {n.solved} (tenant, agent, day, solved) VALUES ({d.params(4)}) "
            f"ON CONFLICT (tenant, agent, day) DO UPDATE SET solved = {n.solved}.solved + excluded.solved",
            [(tenant, agent, d.day(day), count) for (tenant, agent, day), count in batch.solved.items()],
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

    def _write_people(self, cursor: Any, people: set[tuple[str, str, UUID]]) -> None:
        if not people:
            return
        d = self.dialect
        cursor.executemany(
            f"INSERT INTO {self.names.people} (tenant, person_id, ticket_id) VALUES ({d.params(3)}) "
            "ON CONFLICT DO NOTHING",
            [(tenant, person, d.uuid(ticket_id)) for tenant, person, ticket_id in sorted(people)],
        )

    def _write_activity(self, cursor: Any, activity: dict[ActivityKey, int]) -> None:
        if not activity:
            return
        d, n = self.dialect, self.names
        cursor.executemany(
            f"INSERT INTO {n.activity} (tenant, day, actor_id, actor_kind, organisation, event_type, changes) "
            f"VALUES ({d.params(7)}) ON CONFLICT (tenant, day, actor_id, actor_kind, organisation, event_type) "
            f"DO UPDATE SET changes = {n.activity}.changes + excluded.changes",
            [_activity_values(d, key, changes) for key, changes in activity.items()],
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
