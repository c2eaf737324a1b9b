"""The read models' batch writes: many rows per statement, on SQLite and PostgreSQL alike, and what they keep.

A batch can hold more rows than one SQLite statement takes parameters, and PostgreSQL gets them
as one JSON parameter typed by the table's row type: both must store exactly the rows given,
with the upsert's arithmetic, whatever their number.
"""

from __future__ import annotations

from datetime import date, timedelta
from uuid import UUID, uuid5

from domain.actors import Actor, ActorKind
from infrastructure.composition import Services
from infrastructure.readmodels.worker import ProjectionWorker

ROWS = 2_500  # more than 999 parameters' worth on SQLite, in every table below
NAMESPACE = UUID("6f1d4c1e-8e0a-4d7e-9a51-3c1a0b9f2d10")
OPEN_HOURS = [{"weekday": d, "start": "09:00", "end": "18:00"} for d in range(5)]
WEEKDAYS = {"timezone": "Asia/Shanghai", "intervals": OPEN_HOURS}


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


def _targets(services: Services, generation: int) -> list[tuple[object, ...]]:
    view = services.read_models.view(generation)
    with view.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT ticket_id, target, policy_id, due_at FROM {view.names.sla_targets}")
        rows = [tuple(str(r[c]) for c in ("ticket_id", "target", "policy_id", "due_at")) for r in cursor.fetchall()]
    return sorted(rows)


def test_policies_changed_between_batches_reach_the_next_batch(sql_services: Services) -> None:
    """The worker keeps the SLA configuration it wrote; a policy changed later must still apply at once."""
    desk = sql_services.desk
    admin = Actor("boss", ActorKind.AGENT, role="admin")
    requester = Actor("bob", ActorKind.REQUESTER)
    terms = {"targets": {"first_response": 60, "resolution": 480}}
    desk.define_policy(tenant="acme", name="standard", position=1, terms=terms, by=admin, via="api")
    desk.open_ticket(tenant="acme", title="before", requester_id="bob", by=requester, via="api")
    worker = ProjectionWorker(desk, sql_services.read_models, batch_size=1, generation=2)
    sql_services.read_models.view(2)
    worker.catch_up()
    desk.define_calendar(tenant="acme", name="weekdays", definition=WEEKDAYS, by=admin, via="api")
    changed = {"targets": {"first_response": 5, "resolution": 30}, "calendar_id": "weekdays"}
    desk.define_policy(tenant="acme", name="standard", position=1, terms=changed, by=admin, via="api")
    desk.open_ticket(tenant="acme", title="after", requester_id="bob", by=requester, via="api")
    worker.catch_up()
    sql_services.read_models.view(3)
    ProjectionWorker(desk, sql_services.read_models, batch_size=10_000, generation=3).catch_up()
    assert _targets(sql_services, 2) == _targets(sql_services, 3)
    assert len(_targets(sql_services, 2)) == 4
