"""A hash chain over the stored events, written in the same transaction as the events themselves.

Every stored event gets a row in `<events table>_chain` (PostgreSQL) or `stored_events_chain`
(SQLite):

    stream_hash = SHA-256(previous stream_hash of the same aggregate || event bytes)
    chain_hash  = SHA-256(previous chain_hash in log order || position || stream_hash)

"Event bytes" are the row exactly as stored (aggregate id, version, topic, state — the state is
the compressed, possibly encrypted blob), each part length-prefixed. The chain is extended in the
insert's own transaction, after it took the exclusive lock on the events table (PostgreSQL, in
a server-side function: one round trip) or the database's write lock (SQLite), so the previous
chain hash cannot change underneath it, and an event without its chain row is never committed.
A request sent with an Idempotency-Key also notes, in that same transaction, what it stored
against its key (infrastructure/idempotency.py), so a crash cannot separate the two.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, InterfaceError, OperationalError, ProgrammingError, StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from eventsourcing.sqlite import SQLiteApplicationRecorder, SQLiteDatastore
from eventsourcing.utils import retry
from psycopg.sql import SQL, Composed, Identifier

from infrastructure.idempotency import current_reservation

GENESIS = bytes(32)


def event_bytes(originator_id: UUID | str, version: int, topic: str, state: bytes | str) -> bytes:
    """The canonical bytes of a stored event: each part length-prefixed, so no two rows share bytes.

    A `str` state is not something the service writes (it stores bytes); it appears when someone
    edits a row with SQL text functions, and must hash (differently), not crash verification.
    """
    ident = originator_id.bytes if isinstance(originator_id, UUID) else str(originator_id).encode()
    payload = state.encode() if isinstance(state, str) else bytes(state)
    parts = (ident, version.to_bytes(8, "big"), topic.encode(), payload)
    return b"".join(len(p).to_bytes(4, "big") + p for p in parts)


def next_stream_hash(previous: bytes, material: bytes) -> bytes:
    """The stream hash of an event, given the previous one of its aggregate (GENESIS for the first)."""
    return hashlib.sha256(previous + material).digest()


def next_chain_hash(previous: bytes, position: int, stream_hash: bytes) -> bytes:
    """The global chain hash at a log position, given the one before it (GENESIS for the first)."""
    return hashlib.sha256(previous + position.to_bytes(8, "big") + stream_hash).digest()


@dataclass(frozen=True, slots=True)
class ChainRow:
    """One row of the chain table."""

    position: int
    originator_id: UUID | str
    version: int
    stream_hash: bytes
    chain_hash: bytes


class ChainWriter:
    """Extends the chain for newly inserted events, using the insert's own cursor and transaction."""

    def __init__(self, table: str, placeholder: str, *, uuid_as_text: bool) -> None:
        self.table = table
        self.p = placeholder
        self.uuid_as_text = uuid_as_text

    def create_statements(self, id_type: str, bytes_type: str) -> list[str]:
        """DDL of the chain table."""
        return [
            f"CREATE TABLE IF NOT EXISTS {self.table} (notification_id BIGINT PRIMARY KEY, "
            f"originator_id {id_type} NOT NULL, originator_version BIGINT NOT NULL, "
            f"stream_hash {bytes_type} NOT NULL, chain_hash {bytes_type} NOT NULL, "
            "UNIQUE (originator_id, originator_version))"
        ]

    def append(self, cursor: Any, events: Sequence[StoredEvent], positions: Sequence[int]) -> None:
        """Insert the chain rows of `events`, stored at `positions`."""
        if len(events) != len(positions):
            msg = f"expected {len(events)} notification ids, got {len(positions)}"
            raise ProgrammingError(msg)
        chain, streams = self._predecessors(cursor, events)
        rows = []
        for event, position in zip(events, positions, strict=True):
            previous = streams.get((event.originator_id, event.originator_version - 1))
            if previous is None:
                if event.originator_version != 1:
                    msg = (
                        f"the hash chain has no entry for {event.originator_id} version "
                        f"{event.originator_version - 1}; refusing to extend it"
                    )
                    raise ProgrammingError(msg)
                previous = GENESIS
            stream = next_stream_hash(
                previous, event_bytes(event.originator_id, event.originator_version, event.topic, event.state)
            )
            chain = next_chain_hash(chain, position, stream)
            streams[(event.originator_id, event.originator_version)] = stream
            rows.append((position, self._id(event.originator_id), event.originator_version, stream, chain))
        cursor.executemany(
            f"INSERT INTO {self.table} (notification_id, originator_id, originator_version, stream_hash, chain_hash) "
            f"VALUES ({self.p}, {self.p}, {self.p}, {self.p}, {self.p})",
            rows,
        )

    def _predecessors(self, cursor: Any, events: Sequence[StoredEvent]) -> tuple[bytes, dict[tuple[Any, int], bytes]]:
        """In one round trip: the last chain hash, and the stream hash before each aggregate's first new event."""
        firsts: dict[Any, int] = {}
        for event in events:
            firsts.setdefault(event.originator_id, event.originator_version)
        wanted = [(ident, version - 1) for ident, version in firsts.items() if version > 1]
        parts = [
            f"SELECT 0 AS k, chain_hash AS h FROM {self.table} WHERE notification_id = "
            f"(SELECT MAX(notification_id) FROM {self.table})"
        ]
        params: list[Any] = []
        for k, (ident, version) in enumerate(wanted, start=1):
            where = f"originator_id = {self.p} AND originator_version = {self.p}"
            parts.append(f"SELECT {k}, stream_hash FROM {self.table} WHERE {where}")
            params += [self._id(ident), version]
        cursor.execute(" UNION ALL ".join(parts), params)
        found = {row["k"]: bytes(row["h"]) for row in cursor.fetchall()}
        streams = {wanted[k - 1]: digest for k, digest in found.items() if k > 0}
        return found.get(0, GENESIS), streams

    def _id(self, originator_id: UUID | str) -> Any:
        if self.uuid_as_text and isinstance(originator_id, UUID):
            return originator_id.hex
        return originator_id


class ChainedSQLiteApplicationRecorder(SQLiteApplicationRecorder):
    """eventsourcing's SQLite application recorder, plus the hash chain."""

    CHAIN_TABLE = "stored_events_chain"

    def __init__(self, datastore: SQLiteDatastore, **kwargs: Any) -> None:
        self.chain = ChainWriter(self.CHAIN_TABLE, "?", uuid_as_text=True)
        super().__init__(datastore, **kwargs)

    def construct_create_table_statements(self) -> list[str]:
        """The events table, then the chain table."""
        return [*super().construct_create_table_statements(), *self.chain.create_statements("TEXT", "BLOB")]

    def _insert_events(self, c: Any, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        positions = super()._insert_events(c, stored_events, **kwargs)
        if stored_events:
            self.chain.append(c, stored_events, positions or [])
            reservation = current_reservation()
            if reservation is not None:  # the Idempotency-Key's outcome commits with the events
                reservation.record(c, stored_events, positions or [])
        return positions


class ChainedPostgresApplicationRecorder(PostgresApplicationRecorder):
    """eventsourcing's PostgreSQL application recorder, plus the hash chain, in one round trip.

    eventsourcing's own insert holds the events table's EXCLUSIVE lock across several client round
    trips (BEGIN, lock + INSERT, then our chain SELECT and INSERT, then COMMIT), so every writer of
    every process waits for them, and for the GIL of whichever thread holds the lock. Here a
    PL/pgSQL function takes the same lock, inserts the events, extends the chain with the same
    hashes as `ChainWriter` (`sha256()` in the server) and returns the notification ids; called
    as one autocommit statement, the lock is held only while the server works and the commit is
    flushed. Log readers see exactly what eventsourcing's insert gives them: ids in commit order.
    """

    def __init__(
        self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events", **kwargs: Any
    ) -> None:
        super().__init__(datastore, events_table_name=events_table_name, **kwargs)
        self.chain_table_name = f"{events_table_name}_chain"
        self.check_identifier_length(f"{events_table_name}_append")
        table = Composed([Identifier(datastore.schema), SQL("."), Identifier(self.chain_table_name)]).as_string()
        self.chain = ChainWriter(table, "%s", uuid_as_text=False)
        names = {
            "schema": Identifier(datastore.schema),
            "events": Identifier(events_table_name),
            "chain": Identifier(self.chain_table_name),
            "append": Identifier(f"{events_table_name}_append"),
            "event_type": Identifier(self.stored_event_type_name),
            "channel": Identifier(self.channel_name),
        }
        self.sql_create_statements.extend(
            Composed([SQL(s)]) for s in self.chain.create_statements("UUID", "BYTEA")
        )  # our own DDL
        self.sql_create_statements.append(SQL(APPEND_FUNCTION).format(**names))
        self.append_statement = SQL("SELECT {schema}.{append}(%s, %s) AS notification_id").format(**names)

    @retry((InterfaceError, OperationalError), max_attempts=10, wait=0.2)
    def _append(self, stored_events: Sequence[StoredEvent]) -> list[int]:
        events = [
            self.construct_pg_stored_event(e.originator_id, e.originator_version, e.topic, e.state)
            for e in stored_events
        ]
        arguments = (events, f"{self.datastore.lock_timeout}s")
        reservation = current_reservation()
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            if reservation is None:  # one autocommit statement
                curs.execute(self.append_statement, arguments, prepare=True)
                return [row["notification_id"] for row in curs.fetchall()]
            with conn.transaction():  # the Idempotency-Key's outcome commits with the events, or neither does
                curs.execute(self.append_statement, arguments, prepare=True)
                positions = [row["notification_id"] for row in curs.fetchall()]
                reservation.record(curs, stored_events, positions)
            return positions

    def insert_events(self, stored_events: Sequence[StoredEvent], **kwargs: Any) -> Sequence[int] | None:
        """Insert events; if a retried insert finds its own first attempt committed, that is success.

        A connection that fails is retried. When the first attempt had in fact committed (only the
        acknowledgement was lost), the retry hits the unique constraint: the rows already stored
        are byte for byte the ones being inserted, so their positions are returned instead of
        reporting a conflict that never happened.
        """
        if not stored_events:
            return []
        try:
            positions: list[int] = self._append(stored_events)
        except IntegrityError:
            stored = self._positions_if_already_stored(stored_events)
            if stored is None:
                raise
            return stored
        return positions

    def _positions_if_already_stored(self, events: Sequence[StoredEvent]) -> list[int] | None:
        table = Composed([Identifier(self.datastore.schema), SQL("."), Identifier(self.events_table_name)])
        positions = []
        with self.datastore.transaction(commit=False) as curs:
            for event in events:
                curs.execute(
                    SQL(
                        "SELECT topic, state, notification_id FROM {} "
                        "WHERE originator_id = %s AND originator_version = %s"
                    ).format(table),
                    (event.originator_id, event.originator_version),
                )
                row = curs.fetchone()
                if row is None or row["topic"] != event.topic or bytes(row["state"]) != bytes(event.state):
                    return None
                positions.append(row["notification_id"])
        return positions


#: Lock, insert and chain in the server; the hashes are exactly `event_bytes`, `next_stream_hash`
#: and `next_chain_hash` above (length-prefixed id, version, topic and state; 32 zero bytes of
#: genesis). A duplicate (id, version) raises unique_violation, which eventsourcing reports as
#: IntegrityError, and nothing of the call is kept.
APPEND_FUNCTION = """
CREATE OR REPLACE FUNCTION {schema}.{append}(events {schema}.{event_type}[], lock_timeout text)
RETURNS SETOF bigint LANGUAGE plpgsql AS $body$
DECLARE
    e {schema}.{event_type};
    genesis CONSTANT bytea := decode(repeat('00', 32), 'hex');
    topic_bytes bytea;
    new_id bigint;
    previous_chain bytea;
    previous_stream bytea;
    stream bytea;
BEGIN
    PERFORM set_config('lock_timeout', lock_timeout, true);
    LOCK TABLE {schema}.{events} IN EXCLUSIVE MODE;
    NOTIFY {channel};
    SELECT c.chain_hash INTO previous_chain FROM {schema}.{chain} c ORDER BY c.notification_id DESC LIMIT 1;
    previous_chain := coalesce(previous_chain, genesis);
    FOREACH e IN ARRAY events LOOP
        INSERT INTO {schema}.{events} (originator_id, originator_version, topic, state)
        VALUES (e.originator_id, e.originator_version, e.topic, e.state)
        RETURNING notification_id INTO new_id;
        IF e.originator_version = 1 THEN
            previous_stream := genesis;
        ELSE
            SELECT c.stream_hash INTO previous_stream FROM {schema}.{chain} c
            WHERE c.originator_id = e.originator_id AND c.originator_version = e.originator_version - 1;
            IF previous_stream IS NULL THEN
                RAISE EXCEPTION 'the hash chain has no entry for % version %; refusing to extend it',
                    e.originator_id, e.originator_version - 1;
            END IF;
        END IF;
        topic_bytes := convert_to(e.topic, 'UTF8');
        stream := sha256(
            previous_stream
            || int4send(16) || uuid_send(e.originator_id)
            || int4send(8) || int8send(e.originator_version)
            || int4send(octet_length(topic_bytes)) || topic_bytes
            || int4send(octet_length(e.state)) || e.state
        );
        previous_chain := sha256(previous_chain || int8send(new_id) || stream);
        INSERT INTO {schema}.{chain} (notification_id, originator_id, originator_version, stream_hash, chain_hash)
        VALUES (new_id, e.originator_id, e.originator_version, stream, previous_chain);
        RETURN NEXT new_id;
    END LOOP;
END
$body$
"""
