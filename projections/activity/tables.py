"""The `audit_activity` table: DDL and writing (changes add up to the stored ones)."""

from __future__ import annotations

from typing import Any

from projections.activity.rows import NO_ORGANISATION, ActivityKey
from projections.sql import Dialect, TableNames

KEY_COLUMNS = ("tenant", "day", "actor_id", "actor_kind", "organisation", "event_type")


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's `audit_activity` table."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.activity} (tenant TEXT NOT NULL, day {d.date_type} NOT NULL, "
        "actor_id TEXT NOT NULL, actor_kind TEXT NOT NULL, organisation TEXT NOT NULL, event_type TEXT NOT NULL, "
        "changes INTEGER NOT NULL, PRIMARY KEY (tenant, day, actor_id, actor_kind, organisation, event_type))",
    ]


def write(cursor: Any, d: Dialect, n: TableNames, activity: dict[ActivityKey, int]) -> None:
    """Add the batch's changes per key to the stored counts."""
    if not activity:
        return
    d.insert_rows(
        cursor,
        n.activity,
        (*KEY_COLUMNS, "changes"),
        [_values(d, key, changes) for key, changes in activity.items()],
        f"ON CONFLICT ({', '.join(KEY_COLUMNS)}) DO UPDATE SET changes = {n.activity}.changes + excluded.changes",
    )


def _values(d: Dialect, key: ActivityKey, changes: int) -> tuple[Any, ...]:
    organisation = NO_ORGANISATION if key.organisation is None else key.organisation
    return (key.tenant, d.day(key.day), key.actor_id, key.actor_kind, organisation, key.event_type, changes)
