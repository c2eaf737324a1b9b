"""The service-metric tables (`metric_tickets`, `metric_solves`, `metric_daily_flow`): DDL, loading and writing.

They belong to the same generation as the other read models and are written with them, in the
transaction that records the batch's tracking position. What the rows mean is in rows.py.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any
from uuid import UUID

from projections.metrics.rows import MetricsBatch, TicketMetrics
from projections.sql import Dialect, TableNames

TICKETS, SOLVES, FLOWS = "metric_tickets", "metric_solves", "metric_daily_flow"
#: The tables of one generation that this module keeps (what dropping a generation must remove too).
METRIC_TABLES = (TICKETS, SOLVES, FLOWS)

FACT_COLUMNS = (
    "ticket_id",
    "tenant",
    "created_at",
    "created_day",
    "channel",
    "ticket_type",
    "group_id",
    "assignee",
    "assigned_at",
    "cycle_started_at",
    "first_response_at",
    "resolved_at",
    "rating_scale",
    "rating_score",
    "rated_at",
)
FLOW_COUNTS = ("opened", "solved", "reopened", "closed", "closed_unsolved")


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of the metric tables and their indexes (each report reads one index range per tenant)."""
    facts, solves, flows = n.table(TICKETS), n.table(SOLVES), n.table(FLOWS)
    t = d.time_type
    return [
        f"CREATE TABLE IF NOT EXISTS {facts} (ticket_id {d.uuid_type} PRIMARY KEY, tenant TEXT NOT NULL, "
        f"created_at {t} NOT NULL, created_day {d.date_type} NOT NULL, channel TEXT NOT NULL, ticket_type TEXT, "
        f"group_id TEXT, assignee TEXT, assigned_at {t}, cycle_started_at {t}, first_response_at {t}, "
        f"resolved_at {t}, rating_scale TEXT, rating_score INTEGER, rated_at {t})",
        f"CREATE INDEX IF NOT EXISTS {n.index('metric_tickets_by_day')} ON {facts} (tenant, created_day)",
        f"CREATE INDEX IF NOT EXISTS {n.index('metric_tickets_by_response')} ON {facts} (tenant, first_response_at)",
        f"CREATE INDEX IF NOT EXISTS {n.index('metric_tickets_by_resolved')} ON {facts} (tenant, resolved_at)",
        f"CREATE INDEX IF NOT EXISTS {n.index('metric_tickets_by_rated')} ON {facts} (tenant, rated_at)",
        f"CREATE TABLE IF NOT EXISTS {solves} (ticket_id {d.uuid_type} NOT NULL, version INTEGER NOT NULL, "
        f"tenant TEXT NOT NULL, solved_at {t} NOT NULL, day {d.date_type} NOT NULL, agent TEXT, "
        "handle_minutes DOUBLE PRECISION, PRIMARY KEY (ticket_id, version))",
        f"CREATE INDEX IF NOT EXISTS {n.index('metric_solves_by_day')} ON {solves} (tenant, day, agent)",
        f"CREATE TABLE IF NOT EXISTS {flows} (tenant TEXT NOT NULL, day {d.date_type} NOT NULL, "
        "opened INTEGER NOT NULL, solved INTEGER NOT NULL, reopened INTEGER NOT NULL, closed INTEGER NOT NULL, "
        "closed_unsolved INTEGER NOT NULL, PRIMARY KEY (tenant, day))",
    ]


def load(cursor: Any, d: Dialect, n: TableNames, batch: MetricsBatch, ids: Sequence[UUID]) -> None:
    """Put the stored facts of these tickets into the batch (ones already there are newer and stay)."""
    wanted = [i for i in ids if i not in batch.tickets]
    if not wanted:
        return
    cursor.execute(
        f"SELECT {', '.join(FACT_COLUMNS)} FROM {n.table(TICKETS)} WHERE ticket_id IN ({d.params(len(wanted))})",
        [d.uuid(i) for i in wanted],
    )
    for row in cursor.fetchall():
        facts = _facts(d, row)
        batch.tickets[facts.ticket_id] = facts


def write(cursor: Any, d: Dialect, n: TableNames, batch: MetricsBatch) -> None:
    """Write the batch's facts: tickets upserted, solves inserted, flow counts added to the stored ones."""
    if batch.tickets:
        updates = ", ".join(f"{c} = excluded.{c}" for c in FACT_COLUMNS[1:])
        d.insert_rows(
            cursor,
            n.table(TICKETS),
            FACT_COLUMNS,
            [_fact_values(d, f) for f in batch.tickets.values()],
            f"ON CONFLICT (ticket_id) DO UPDATE SET {updates}",
        )
    if batch.solves:
        d.insert_rows(
            cursor,
            n.table(SOLVES),
            ("ticket_id", "version", "tenant", "solved_at", "day", "agent", "handle_minutes"),
            [
                (d.uuid(s.ticket_id), s.version, s.tenant, d.time(s.solved_at), d.day(s.day), s.agent, s.handle_minutes)
                for s in batch.solves
            ],
            "ON CONFLICT (ticket_id, version) DO NOTHING",
        )
    if batch.flows:
        flows = n.table(FLOWS)
        added = ", ".join(f"{c} = {flows}.{c} + excluded.{c}" for c in FLOW_COUNTS)
        d.insert_rows(
            cursor,
            flows,
            ("tenant", "day", *FLOW_COUNTS),
            [
                (tenant, d.day(day), f.opened, f.solved, f.reopened, f.closed, f.closed_unsolved)
                for (tenant, day), f in sorted(batch.flows.items())
            ],
            f"ON CONFLICT (tenant, day) DO UPDATE SET {added}",
        )


def _facts(d: Dialect, row: Any) -> TicketMetrics:
    created_at = d.to_time(row["created_at"])
    assert created_at is not None  # NOT NULL
    return TicketMetrics(
        ticket_id=d.to_uuid(row["ticket_id"]),
        tenant=row["tenant"],
        created_at=created_at,
        channel=row["channel"],
        ticket_type=row["ticket_type"],
        group=row["group_id"],
        assignee=row["assignee"],
        assigned_at=d.to_time(row["assigned_at"]),
        cycle_started_at=d.to_time(row["cycle_started_at"]),
        first_response_at=d.to_time(row["first_response_at"]),
        resolved_at=d.to_time(row["resolved_at"]),
        rating_scale=row["rating_scale"],
        rating_score=row["rating_score"],
        rated_at=d.to_time(row["rated_at"]),
    )


def _fact_values(d: Dialect, f: TicketMetrics) -> tuple[Any, ...]:
    return (
        d.uuid(f.ticket_id),
        f.tenant,
        d.time(f.created_at),
        d.day(f.created_day),
        f.channel,
        f.ticket_type,
        f.group,
        f.assignee,
        d.time(f.assigned_at),
        d.time(f.cycle_started_at),
        d.time(f.first_response_at),
        d.time(f.resolved_at),
        f.rating_scale,
        f.rating_score,
        d.time(f.rated_at),
    )
