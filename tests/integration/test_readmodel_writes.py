"""The read models' batch writes: many rows per statement, on SQLite and PostgreSQL alike.

A batch can hold more rows than one SQLite statement takes parameters, and PostgreSQL gets them
as one JSON parameter typed by the table's row type: both must store exactly the rows given,
with the upsert's arithmetic, whatever their number.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid5

from infrastructure.composition import Services

ROWS = 2_500  # more than 999 parameters' worth on SQLite, in every table below
NAMESPACE = UUID("6f1d4c1e-8e0a-4d7e-9a51-3c1a0b9f2d10")


def test_upserts_of_many_rows_add_up(sql_services: Services) -> None:
    view = sql_services.read_models.active_view()
    d, n = view.dialect, view.names
    start = date(2026, 1, 1)
    rows = [("acme", f"agent-{i % 50}", d.day(start + timedelta(days=i // 50)), 1) for i in range(ROWS)]
    then = f"ON CONFLICT (tenant, agent, day) DO UPDATE SET solved = {n.solved}.solved + excluded.solved"
    for _ in range(2):
        with view.datastore.transaction(commit=True) as cursor:
            d.insert_rows(cursor, n.solved, ("tenant", "agent", "day", "solved"), rows, then)
    with view.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT COUNT(*) AS n, SUM(solved) AS total, MIN(solved) AS low FROM {n.solved}")
        found = cursor.fetchone()
    assert (found["n"], found["total"], found["low"]) == (ROWS, 2 * ROWS, 2)


def test_inserts_and_deletes_of_many_rows(sql_services: Services) -> None:
    view = sql_services.read_models.active_view()
    d, n = view.dialect, view.names
    tickets = [uuid5(NAMESPACE, str(i)) for i in range(ROWS)]
    tags = [(d.uuid(t), tag, "acme") for t in tickets for tag in ("printer", "urgent")]
    with view.datastore.transaction(commit=True) as cursor:
        d.insert_rows(cursor, n.tags, ("ticket_id", "tag", "tenant"), tags)
        d.delete_where_in(cursor, n.tags, "ticket_id", [d.uuid(t) for t in tickets[: ROWS - 10]])
    with view.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT ticket_id FROM {n.tags} ORDER BY tag")
        left = [d.to_uuid(r["ticket_id"]) for r in cursor.fetchall()]
    assert sorted(left) == sorted(tickets[ROWS - 10 :] * 2)


def test_nothing_to_write_is_no_statement(sql_services: Services) -> None:
    view = sql_services.read_models.active_view()
    with view.datastore.transaction(commit=True) as cursor:
        view.dialect.insert_rows(cursor, "no_such_table", ("a",), [])
        view.dialect.delete_where_in(cursor, "no_such_table", "a", [])
