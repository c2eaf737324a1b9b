"""The audit view of the event store: events and chain rows in position order, verification, checkpoints."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import Any
from uuid import UUID

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from eventsourcing.persistence import Notification
from psycopg.rows import tuple_row
from psycopg.sql import SQL, Identifier

from domain.helpdesk import HelpDesk
from infrastructure.audit.chain import ChainedPostgresApplicationRecorder, ChainedSQLiteApplicationRecorder, ChainRow
from infrastructure.audit.checkpoint import Checkpoint, sign
from infrastructure.audit.verify import Pair, Progress, StoredEvent, Verification, paged, verify_log

Originators = tuple[str, Sequence[Any]]  # an SQL subquery of aggregate ids, and its parameters


class AuditUnavailableError(Exception):
    """The events are kept where there is no hash chain (in memory)."""


class AuditLog:
    """Reads the log and its chain for auditors; never writes either."""

    def __init__(self, desk: HelpDesk) -> None:
        recorder = desk.recorder
        if not isinstance(recorder, ChainedSQLiteApplicationRecorder | ChainedPostgresApplicationRecorder):
            msg = "auditing needs the events in SQLite or PostgreSQL, where they are hash-chained"
            raise AuditUnavailableError(msg)
        self.desk = desk
        self.recorder = recorder
        self.placeholder = "%s" if isinstance(recorder, ChainedPostgresApplicationRecorder) else "?"

    def events(self, after: int, limit: int) -> list[Any]:
        """Stored events after a position, in position order."""
        return list(self.recorder.select_notifications(start=after, limit=limit, inclusive_of_start=False))

    def chain_rows(self, after: int, limit: int) -> list[ChainRow]:
        """Chain rows after a position, in position order."""
        p = self.placeholder
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT notification_id, originator_id, originator_version, stream_hash, chain_hash "
                f"FROM {self.recorder.chain.table} WHERE notification_id > {p} ORDER BY notification_id LIMIT {p}",
                (after, limit),
            )
            return [_chain_row(r) for r in cursor.fetchall()]

    def pages(
        self, after: int, stop: int, size: int, *, within: Originators | None = None
    ) -> Iterator[list[tuple[Notification, str]]]:
        """Events after `after` up to `stop` with their chain hashes (hex; "" if none), `size` at a time.

        On PostgreSQL one query streams them all through a server-side cursor (events and chain
        rows joined), so a long range costs no query per page, and `within` (a subquery of the
        aggregate ids wanted) leaves other aggregates' events in the database. SQLite, in process,
        reads page by page and ignores `within`: its callers filter what they read.
        """
        recorder = self.recorder
        if not isinstance(recorder, ChainedPostgresApplicationRecorder):
            yield from self._sqlite_pages(after, stop, size)
            return
        scope, scope_params = ("", []) if within is None else (f" AND e.originator_id IN ({within[0]})", within[1])
        query = SQL(
            "SELECT e.notification_id, e.originator_id, e.originator_version, e.topic, e.state, c.chain_hash "
            "FROM {events} e LEFT JOIN {chain} c USING (notification_id) "
            "WHERE e.notification_id > %s AND e.notification_id <= %s" + scope + " ORDER BY e.notification_id"
        ).format(
            events=Identifier(recorder.datastore.schema, recorder.events_table_name),
            chain=Identifier(recorder.datastore.schema, recorder.chain_table_name),
        )
        with recorder.datastore.get_connection() as conn, conn.transaction(), conn.cursor(name="audit") as cursor:
            cursor.itersize = size
            cursor.execute(query, (after, stop, *scope_params))
            while rows := cursor.fetchmany(size):
                yield [(_notification(r), bytes(r["chain_hash"] or b"").hex()) for r in rows]

    def _sqlite_pages(self, after: int, stop: int, size: int) -> Iterator[list[tuple[Notification, str]]]:
        while after < stop and (events := [n for n in self.events(after, size) if n.id <= stop]):
            chain = {r.position: r.chain_hash.hex() for r in self.chain_rows(after, len(events))}
            yield [(n, chain.get(n.id, "")) for n in events]
            after = events[-1].id

    def chain_of(self, aggregate_id: UUID, *, after_version: int = 0, limit: int | None = None) -> dict[int, ChainRow]:
        """An aggregate's chain rows by version (after `after_version`, at most `limit`): where its events stand.

        One query on the chain table's (originator_id, originator_version) key, however many rows.
        """
        ident: Any = aggregate_id.hex if self.placeholder == "?" else aggregate_id
        p = self.placeholder
        bounded = "" if limit is None else f" AND originator_version <= {p}"
        parameters: tuple[Any, ...] = (ident, after_version)
        if limit is not None:
            parameters += (after_version + limit,)
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT notification_id, originator_id, originator_version, stream_hash, chain_hash "
                f"FROM {self.recorder.chain.table} WHERE originator_id = {p} AND originator_version > {p}{bounded}",
                parameters,
            )
            rows = [_chain_row(r) for r in cursor.fetchall()]
        return {row.version: row for row in rows}

    def head(self) -> ChainRow | None:
        """The last chain row."""
        with self.recorder.datastore.transaction(commit=False) as cursor:
            cursor.execute(
                "SELECT notification_id, originator_id, originator_version, stream_hash, chain_hash "
                f"FROM {self.recorder.chain.table} ORDER BY notification_id DESC LIMIT 1"
            )
            r = cursor.fetchone()
        if r is None:
            return None
        return ChainRow(
            r["notification_id"],
            r["originator_id"],
            r["originator_version"],
            bytes(r["stream_hash"]),
            bytes(r["chain_hash"]),
        )

    def verify(self, *, checkpoint: Checkpoint | None = None, progress: Progress | None = None) -> Verification:
        """Recompute the chain from the stored events; report the first disagreement."""
        head = self.recorder.max_notification_id() or 0
        return verify_log(self._positions(), head, checkpoint=checkpoint, progress=progress)

    def _positions(self, size: int = 5000) -> Iterator[Pair]:
        """Every position of the log with its stored event and its chain row, either missing where one lacks it.

        On PostgreSQL one query streams both tables fully joined through a server-side cursor, as
        plain tuples; SQLite, in process, merges two paged reads.
        """
        recorder = self.recorder
        if not isinstance(recorder, ChainedPostgresApplicationRecorder):
            yield from paged(self.events, self.chain_rows)
            return
        query = SQL(
            "SELECT e.notification_id AS event_at, e.originator_id, e.originator_version, e.topic, e.state, "
            "c.notification_id AS chain_at, c.originator_id, c.originator_version, c.stream_hash, c.chain_hash "
            "FROM {events} e FULL JOIN {chain} c USING (notification_id) ORDER BY notification_id"
        ).format(
            events=Identifier(recorder.datastore.schema, recorder.events_table_name),
            chain=Identifier(recorder.datastore.schema, recorder.chain_table_name),
        )
        with (
            recorder.datastore.get_connection() as conn,
            conn.transaction(),
            conn.cursor(name="verify", row_factory=tuple_row) as cursor,
        ):
            cursor.itersize = size
            cursor.execute(query)
            for position, ident, version, topic, state, at, chained, chain_version, stream, chain in cursor:
                event = None if position is None else StoredEvent(position, ident, version, topic, bytes(state))
                row = None if at is None else ChainRow(at, chained, chain_version, bytes(stream), bytes(chain))
                yield event, row

    def checkpoint(self, key: Ed25519PrivateKey, now: datetime) -> Checkpoint:
        """A signed checkpoint of the chain's current head (position 0 for an empty log)."""
        head = self.head()
        position, digest = (0, bytes(32)) if head is None else (head.position, head.chain_hash)
        return sign(self.desk.name, position, digest, now, key)


def _chain_row(r: Any) -> ChainRow:
    return ChainRow(
        r["notification_id"],
        r["originator_id"],
        r["originator_version"],
        bytes(r["stream_hash"]),
        bytes(r["chain_hash"]),
    )


def _notification(r: Any) -> Notification:
    return Notification(
        id=r["notification_id"],
        originator_id=r["originator_id"],
        originator_version=r["originator_version"],
        topic=r["topic"],
        state=bytes(r["state"]),
    )
