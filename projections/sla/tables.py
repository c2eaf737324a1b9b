"""The SLA tables (policies, calendars, customer tiers, clocks, targets): DDL, loading and writing."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any
from uuid import UUID

from domain.sla.clock import SlaClock
from domain.sla.policy import Calendar
from domain.sla.target_status import TargetStatus
from projections.sla.rows import CalendarRow, ClockRow, PolicyRow, SlaChanges
from projections.sql import Column, Dialect, Kind, TableNames
from projections.tickets.rows import TicketRow

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
CLOCK_COLUMNS = ("ticket_id", "tenant", "clock", "alerts", "as_of", "version")


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's SLA tables and their indexes."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.sla_policies} (tenant TEXT NOT NULL, name TEXT NOT NULL, "
        f"position INTEGER NOT NULL, version INTEGER NOT NULL, terms {d.json_type} NOT NULL, "
        "PRIMARY KEY (tenant, name))",
        f"CREATE TABLE IF NOT EXISTS {n.sla_calendars} (tenant TEXT NOT NULL, name TEXT NOT NULL, "
        f"version INTEGER NOT NULL, definition {d.json_type} NOT NULL, PRIMARY KEY (tenant, name))",
        f"CREATE TABLE IF NOT EXISTS {n.sla_customer_tiers} (profile_id {d.uuid_type} PRIMARY KEY, "
        "tenant TEXT NOT NULL, tier TEXT)",
        f"CREATE TABLE IF NOT EXISTS {n.sla_clocks} (ticket_id {d.uuid_type} PRIMARY KEY, tenant TEXT NOT NULL, "
        f"clock {d.json_type} NOT NULL, alerts {d.json_type} NOT NULL, as_of {d.time_type} NOT NULL, "
        "version INTEGER NOT NULL)",
        d.create_table(n.sla_targets, SLA_TARGETS, primary_key=("ticket_id", "target")),
        f"CREATE INDEX IF NOT EXISTS {n.index('sla_targets_due')} ON {n.sla_targets} (state, due_at)",
        f"CREATE INDEX IF NOT EXISTS {n.index('sla_targets_by_tenant')} ON {n.sla_targets} (tenant, state)",
    ]


def add_missing_columns(cursor: Any, d: Dialect, n: TableNames) -> None:
    """Add why a target has no due moment (NULL: it has one, or is not running); rows written before all had one."""
    if "no_due_reason" not in n.columns(cursor, d, "sla_targets"):
        cursor.execute(f"ALTER TABLE {n.sla_targets} ADD COLUMN no_due_reason TEXT")


def load_config(cursor: Any, d: Dialect, n: TableNames, changes: SlaChanges, tenant: str) -> None:
    """Put the tenant's stored policies and calendars into `changes`; rows already there are newer."""
    p = d.placeholder
    cursor.execute(f"SELECT name, position, version, terms FROM {n.sla_policies} WHERE tenant = {p}", [tenant])
    for r in cursor.fetchall():
        changes.policies.setdefault(
            (tenant, r["name"]), PolicyRow(tenant, r["name"], r["position"], r["version"], d.to_json(r["terms"]))
        )
    cursor.execute(f"SELECT name, version, definition FROM {n.sla_calendars} WHERE tenant = {p}", [tenant])
    for r in cursor.fetchall():
        changes.calendars.setdefault(
            (tenant, r["name"]), CalendarRow(tenant, r["name"], r["version"], d.to_json(r["definition"]))
        )


def load_tiers(cursor: Any, d: Dialect, n: TableNames, changes: SlaChanges, profile_ids: Sequence[UUID]) -> None:
    """Put the stored tiers of these customer profiles into `changes`; tiers already there are newer."""
    cursor.execute(
        f"SELECT profile_id, tier FROM {n.sla_customer_tiers} WHERE profile_id IN ({d.params(len(profile_ids))})",
        [d.uuid(i) for i in profile_ids],
    )
    for r in cursor.fetchall():
        changes.tiers.setdefault(d.to_uuid(r["profile_id"]), r["tier"])


def select_clocks(cursor: Any, d: Dialect, n: TableNames, ticket_ids: list[UUID]) -> list[Any]:
    """The stored clock rows of these tickets (those that are tracked)."""
    cursor.execute(
        f"SELECT {', '.join(CLOCK_COLUMNS)} FROM {n.sla_clocks} WHERE ticket_id IN ({d.params(len(ticket_ids))})",
        [d.uuid(i) for i in ticket_ids],
    )
    return list(cursor.fetchall())


def clock_row(d: Dialect, r: Any, calendars: Callable[[str], Calendar]) -> ClockRow:
    """A stored clock row, its clock rebuilt with the tenant's calendars."""
    as_of = d.to_time(r["as_of"])
    assert as_of is not None  # NOT NULL
    clock = SlaClock.from_dict(d.to_json(r["clock"]), calendars)
    return ClockRow(d.to_uuid(r["ticket_id"]), r["tenant"], clock, d.to_json(r["alerts"]), as_of, r["version"])


def write(cursor: Any, d: Dialect, n: TableNames, sla: SlaChanges, tickets: Mapping[UUID, TicketRow]) -> None:
    """Upsert the batch's policies, calendars, tiers and clocks; rewrite the targets of every clock it moved."""
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
    if sla.tiers_set:
        d.insert_rows(
            cursor,
            n.sla_customer_tiers,
            ("profile_id", "tenant", "tier"),
            [(d.uuid(i), tenant, sla.tiers[i]) for i, tenant in sla.tiers_set.items()],
            "ON CONFLICT (profile_id) DO UPDATE SET tier = excluded.tier",
        )
    if not sla.clocks:
        return
    clocks = list(sla.clocks.values())
    d.insert_rows(
        cursor,
        n.sla_clocks,
        CLOCK_COLUMNS,
        [
            (d.uuid(c.ticket_id), c.tenant, d.json(c.clock.as_dict()), d.json(c.alerts), d.time(c.as_of), c.version)
            for c in clocks
        ],
        "ON CONFLICT (ticket_id) DO UPDATE SET clock = excluded.clock, alerts = excluded.alerts, "
        "as_of = excluded.as_of, version = excluded.version",
    )
    d.delete_where_in(cursor, n.sla_targets, "ticket_id", [d.uuid(c.ticket_id) for c in clocks])
    targets = [_target_values(d, c, t, tickets.get(c.ticket_id)) for c in clocks for t in c.targets()]
    d.insert_rows(cursor, n.sla_targets, SLA_TARGET_COLUMNS, targets)


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
