"""The `routing_last_routed` and `agent_last_assigned` tables: DDL and writing (the latest value wins)."""

from __future__ import annotations

from typing import Any

from projections.routing.rows import RoutingChanges
from projections.sql import Dialect, TableNames


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's routing tables."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.last_routed} (tenant TEXT NOT NULL, group_name TEXT NOT NULL, "
        "agent TEXT NOT NULL, position BIGINT NOT NULL, PRIMARY KEY (tenant, group_name))",
        f"CREATE TABLE IF NOT EXISTS {n.last_assigned} (tenant TEXT NOT NULL, agent TEXT NOT NULL, "
        f"assigned_at {d.time_type} NOT NULL, PRIMARY KEY (tenant, agent))",
    ]


def write(cursor: Any, d: Dialect, n: TableNames, changes: RoutingChanges) -> None:
    """Upsert the batch's latest values (batches are written in log order, so later replaces earlier)."""
    d.insert_rows(
        cursor,
        n.last_routed,
        ("tenant", "group_name", "agent", "position"),
        [(tenant, group, agent, position) for (tenant, group), (agent, position) in changes.last_routed.items()],
        "ON CONFLICT (tenant, group_name) DO UPDATE SET agent = excluded.agent, position = excluded.position",
    )
    d.insert_rows(
        cursor,
        n.last_assigned,
        ("tenant", "agent", "assigned_at"),
        [(tenant, agent, d.time(at)) for (tenant, agent), at in changes.last_assigned.items()],
        "ON CONFLICT (tenant, agent) DO UPDATE SET assigned_at = excluded.assigned_at",
    )
