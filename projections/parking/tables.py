"""The dead-letter tables (`parked`, `parked_events`): one row per parked aggregate, one per event it skipped."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from projections.parking.failure import ParkedEntry, Parking
from projections.sql import SELECT_CHUNK, Dialect, TableNames, chunks

#: The dead-letter list and the positions parked aggregates skipped.
PARKING_TABLES = ("parked", "parked_events")
PARKED_COLUMNS = ("aggregate_id", "tenant", "position", "topic", "stage", "error_type", "reason", "parked_at")


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's dead-letter list."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.table('parked')} (aggregate_id {d.uuid_type} PRIMARY KEY, "
        "tenant TEXT NOT NULL, position BIGINT NOT NULL, topic TEXT NOT NULL, stage TEXT NOT NULL, "
        f"error_type TEXT NOT NULL, reason TEXT NOT NULL, parked_at {d.time_type} NOT NULL, "
        "attempts INTEGER NOT NULL DEFAULT 1)",
        f"CREATE INDEX IF NOT EXISTS {n.index('parked_by_tenant')} ON {n.table('parked')} (tenant, position)",
        f"CREATE TABLE IF NOT EXISTS {n.table('parked_events')} (aggregate_id {d.uuid_type} NOT NULL, "
        "position BIGINT NOT NULL, PRIMARY KEY (aggregate_id, position))",
    ]


def write(
    cursor: Any, d: Dialect, n: TableNames, parked: list[Parking], skipped: set[tuple[UUID, int]], now: Any
) -> None:
    """Record newly parked aggregates (parked `now`) and the positions of the events skipped."""
    d.insert_rows(cursor, n.table("parked"), PARKED_COLUMNS, [_parked_values(d, p, now) for p in parked])
    rows = [(d.uuid(a), position) for a, position in sorted(skipped)]
    d.insert_rows(cursor, n.table("parked_events"), ("aggregate_id", "position"), rows, "ON CONFLICT DO NOTHING")


def count_parked(cursor: Any, d: Dialect, n: TableNames, ids: list[UUID]) -> int:
    """How many of these aggregates are parked now."""
    found = 0
    for chunk in chunks(ids, SELECT_CHUNK):
        cursor.execute(
            f"SELECT COUNT(*) AS n FROM {n.table('parked')} WHERE aggregate_id IN ({d.params(len(chunk))})",
            [d.uuid(i) for i in chunk],
        )
        found += int(cursor.fetchone()["n"])
    return found


def parked_ids(cursor: Any, d: Dialect, n: TableNames) -> set[UUID]:
    """The aggregates parked now."""
    cursor.execute(f"SELECT aggregate_id FROM {n.table('parked')}")
    return {d.to_uuid(r["aggregate_id"]) for r in cursor.fetchall()}


def entries(cursor: Any, d: Dialect, n: TableNames, tenant: str | None, aggregate_id: UUID | None) -> list[ParkedEntry]:
    """The dead-letter list, oldest position first; of one tenant or one aggregate if asked."""
    p, clauses, params = d.placeholder, ["1 = 1"], list[Any]()
    if tenant is not None:
        clauses.append(f"k.tenant = {p}")
        params.append(tenant)
    if aggregate_id is not None:
        clauses.append(f"k.aggregate_id = {p}")
        params.append(d.uuid(aggregate_id))
    cursor.execute(
        "SELECT k.aggregate_id, k.tenant, k.position, k.topic, k.stage, k.error_type, k.reason, k.parked_at, "
        f"k.attempts, (SELECT COUNT(*) FROM {n.table('parked_events')} e "
        f"WHERE e.aggregate_id = k.aggregate_id) AS skipped FROM {n.table('parked')} k "
        f"WHERE {' AND '.join(clauses)} ORDER BY k.position, k.aggregate_id",
        params,
    )
    return [_parked_entry(d, r) for r in cursor.fetchall()]


def skipped_positions(cursor: Any, d: Dialect, n: TableNames, aggregate_id: UUID) -> list[int]:
    """The positions of a parked aggregate's events not applied yet, in order."""
    cursor.execute(
        f"SELECT position FROM {n.table('parked_events')} WHERE aggregate_id = {d.placeholder} ORDER BY position",
        [d.uuid(aggregate_id)],
    )
    return [int(r["position"]) for r in cursor.fetchall()]


def unpark(cursor: Any, d: Dialect, n: TableNames, aggregate_id: UUID) -> None:
    """Forget a parked aggregate: its events were all applied."""
    for table in PARKING_TABLES:
        cursor.execute(f"DELETE FROM {n.table(table)} WHERE aggregate_id = {d.placeholder}", [d.uuid(aggregate_id)])


def repark(cursor: Any, d: Dialect, n: TableNames, parking: Parking, now: Any) -> None:
    """Record that a retry failed again: the new failure, one more attempt."""
    p = d.placeholder
    cursor.execute(
        f"UPDATE {n.table('parked')} SET position = {p}, topic = {p}, stage = {p}, error_type = {p}, "
        f"reason = {p}, parked_at = {p}, attempts = attempts + 1 WHERE aggregate_id = {p}",
        [*_failure_values(parking, now), d.uuid(parking.aggregate_id)],
    )


def _failure_values(p: Parking, now: Any) -> tuple[Any, ...]:
    return (p.position, p.topic, p.failure.stage.value, p.failure.error_type, p.failure.reason, now)


def _parked_values(d: Dialect, p: Parking, now: Any) -> tuple[Any, ...]:
    return (d.uuid(p.aggregate_id), p.tenant, *_failure_values(p, now))


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
