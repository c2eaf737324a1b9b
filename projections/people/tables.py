"""The `ticket_people` table: DDL and writing."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from projections.sql import Dialect, TableNames


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's `ticket_people` table."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.people} (tenant TEXT NOT NULL, person_id TEXT NOT NULL, "
        f"ticket_id {d.uuid_type} NOT NULL, PRIMARY KEY (tenant, person_id, ticket_id))",
    ]


def write(cursor: Any, d: Dialect, n: TableNames, people: set[tuple[str, str, UUID]]) -> None:
    """Record which tickets hold data of which person (once each)."""
    if not people:
        return
    d.insert_rows(
        cursor,
        n.people,
        ("tenant", "person_id", "ticket_id"),
        [(tenant, person, d.uuid(ticket_id)) for tenant, person, ticket_id in sorted(people)],
        "ON CONFLICT DO NOTHING",
    )
