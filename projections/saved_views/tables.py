"""The `saved_views` table: DDL, writing, and scrubbing stored views of an erased person."""

from __future__ import annotations

from typing import Any

from domain.tickets.saved_views import erased_filters
from projections.saved_views.rows import SavedViewRow
from projections.sql import Dialect, TableNames


def statements(d: Dialect, n: TableNames) -> list[str]:
    """DDL of one generation's `saved_views` table (names are unique per tenant)."""
    return [
        f"CREATE TABLE IF NOT EXISTS {n.saved_views} (view_id {d.uuid_type} PRIMARY KEY, tenant TEXT NOT NULL, "
        f"name TEXT NOT NULL, filters {d.json_type} NOT NULL, created_by TEXT NOT NULL, "
        f"created_at {d.time_type} NOT NULL, UNIQUE (tenant, name))",
    ]


def write(cursor: Any, d: Dialect, n: TableNames, views: list[SavedViewRow], erased: set[tuple[str, str]]) -> None:
    """Insert the views the batch created, then scrub stored views of everyone it erased."""
    if views:
        cursor.executemany(
            f"INSERT INTO {n.saved_views} (view_id, tenant, name, filters, created_by, created_at) "
            f"VALUES ({d.params(6)})",
            [
                (d.uuid(v.view_id), v.tenant, v.name, d.json(v.filters), v.created_by, d.time(v.created_at))
                for v in views
            ],
        )
    _erase(cursor, d, n, erased)


def _erase(cursor: Any, d: Dialect, n: TableNames, erased: set[tuple[str, str]]) -> None:
    """Scrub stored saved views of each erased person: theirs, and filters naming them (`erased_filters`)."""
    p, table = d.placeholder, n.saved_views
    for tenant in sorted({tenant for tenant, _ in erased}):
        people = sorted(person for t, person in erased if t == tenant)
        cursor.execute(f"SELECT view_id, filters, created_by FROM {table} WHERE tenant = {p}", [tenant])
        for row in cursor.fetchall():
            stored = d.to_json(row["filters"])
            filters = stored
            for person in people:
                filters = erased_filters(filters, saver=row["created_by"], person_id=person)
            if filters != stored:
                cursor.execute(
                    f"UPDATE {table} SET filters = {p} WHERE view_id = {p}", [d.json(filters), row["view_id"]]
                )
