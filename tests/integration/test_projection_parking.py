"""One bad event never stops anyone else: the projection parks the aggregate whose event it cannot apply.

Poison events are real stored events, appended through the real recorder: a ticket event of a
"later release" (`Relabelled`, defined here) whose projection handler raises, or writes a value
the database refuses; and, on PostgreSQL, a ticket opened with a NUL byte in its title, which
PostgreSQL cannot store as text. The cause is fixed the way it would be in production: by
registering a working handler. Nothing is mocked.
"""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from eventsourcing.persistence import StoredEvent
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from api.app import create_app
from api.cli import app as cli
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.provenance import CommandContext, acting
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import Ticket
from domain.values import ERASED
from infrastructure.composition import Services, build_services
from infrastructure.readmodels.rebuild import rebuild
from infrastructure.readmodels.store import GENERATION_TABLES
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.settings import Settings
from projections.batch import Folding
from projections.projection import forget_folds
from projections.saved_views import fold as saved_views
from projections.tickets import fold as ticket_rows
from tests.support.clock import TickingClock

AGENT = Actor("agent1", ActorKind.AGENT, role=Role.AGENT.value)
SECRET = "Kim Doe's payslip"  # personal data that must never reach the dead-letter list or the logs
PROJECT = [sys.executable, "-c", "from api.cli import main; main()", "project"]


class Relabelled(Ticket.Event):
    """A ticket event of a later release: the projection's handler for it is what goes wrong."""

    label: str | None


def _raising(event: Relabelled, f: Folding) -> None:
    msg = f"cannot relabel to {event.label}"  # quotes the value, as real bugs do
    raise ValueError(msg)


def _unwritable(event: Relabelled, f: Folding) -> None:
    ticket_rows.row(event, f).title = event.label  # type: ignore[assignment]  # None: NOT NULL refuses it


def _working(event: Relabelled, f: Folding) -> None:
    row = ticket_rows.row(event, f)
    row.title = event.label or row.title


@pytest.fixture
def handler() -> Iterator[Any]:
    """Registers a handler for Relabelled; a working one again afterwards (the registry is global)."""
    yield lambda function: _register(ticket_rows.fold, Relabelled, function)
    _register(ticket_rows.fold, Relabelled, _working)


def _register(fold: Any, event_type: type, function: Any) -> None:
    fold.register(event_type, function)
    forget_folds()


def _open(services: Services, tenant: str, title: str) -> UUID:
    return services.desk.open_ticket(tenant=tenant, title=title, requester_id="cust1", by=AGENT, via="api").ticket_id


def _relabel(services: Services, ticket_id: UUID, label: str | None) -> None:
    ticket = services.desk.repository.get(ticket_id)
    with acting(CommandContext(AGENT, "api", services.desk.clock())):
        ticket.trigger_event(Relabelled, label=label)
    services.desk.save(ticket)


def _assign(services: Services, ticket_id: UUID, group: str) -> None:
    services.desk.assign(ticket_id, group=group, by=AGENT, via="api")


def _dump(services: Services, generation: int) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of a generation's tables but its tracking and dead letters, in a stable order."""
    view = services.read_models.view(generation)
    dumped: dict[str, list[tuple[Any, ...]]] = {}
    with view.datastore.transaction(commit=False) as cursor:
        for table in GENERATION_TABLES:
            if table in {"tracking", "parked", "parked_events"}:
                continue
            cursor.execute(f"SELECT * FROM {view.names.table(table)}")
            dumped[table] = sorted((tuple(str(v) for v in dict(r).values()) for r in cursor.fetchall()), key=str)
    return dumped


def _rows(services: Services) -> dict[UUID, Any]:
    queries = services.read_models.tickets()
    return {
        r.ticket_id: r
        for tenant in ("acme", "globex")
        for r in queries.list_tickets(_all(tenant), sort=_newest(), limit=100).rows
    }


def _all(tenant: str) -> Any:
    from projections.tickets.queries import TicketFilter

    return TicketFilter(tenant=tenant)


def _newest() -> Any:
    from projections.tickets.queries import Sort

    return Sort.NEWEST


def test_a_ticket_whose_event_cannot_be_folded_is_parked_and_recovers(
    services: Services, handler: Any, caplog: pytest.LogCaptureFixture
) -> None:
    handler(_raising)
    worker = ProjectionWorker(services.desk, services.read_models)
    poisoned = _open(services, "acme", SECRET)
    other = _open(services, "acme", "Printer jam")
    _relabel(services, poisoned, SECRET)
    _assign(services, poisoned, "it")  # after the bad event: skipped while parked
    _assign(services, other, "it")
    foreign = _open(services, "globex", "VPN down")
    with caplog.at_level(logging.DEBUG, logger="ledgerdesk"):
        assert worker.catch_up() == services.read_models.head()  # it carried on to the head
    assert SECRET not in caplog.text

    rows = _rows(services)
    assert rows[other].group == "it"
    assert not rows[other].stale
    assert foreign in rows
    assert not rows[foreign].stale
    assert rows[poisoned].stale
    assert rows[poisoned].group is None
    [entry] = services.read_models.active_view().parked()
    assert (entry.aggregate_id, entry.tenant, entry.topic, entry.stage) == (poisoned, "acme", "Relabelled", "fold")
    assert entry.error_type == "ValueError"
    assert entry.skipped == 2
    assert SECRET not in repr(entry)

    # A restarted worker skips past it too, and keeps the new events of the parked ticket for the retry.
    _assign(services, poisoned, "hr")
    _assign(services, other, "hr")
    restarted = ProjectionWorker(services.desk, services.read_models)
    assert restarted.catch_up() == services.read_models.head()
    assert _rows(services)[other].group == "hr"
    assert services.read_models.active_view().parked()[0].skipped == 3

    # So does a rebuild: it finishes, its generation has the ticket parked the same way.
    rebuilt = rebuild(services.desk, services.read_models)
    assert rebuilt.position == services.read_models.head()
    assert rebuilt.parked == 1
    assert [e.aggregate_id for e in services.read_models.active_view().parked()] == [poisoned]

    # Still broken: a retry fails again and says so; the ticket stays parked.
    [again] = restarted.retry()
    assert not again.recovered
    assert again.failure is not None
    assert again.failure.error_type == "ValueError"
    assert services.read_models.active_view().parked()[0].attempts == 2

    handler(_working)  # the cause fixed
    [outcome] = restarted.retry(poisoned)
    assert outcome.recovered
    assert outcome.replayed == 3
    assert services.read_models.active_view().parked() == []
    recovered = _rows(services)[poisoned]
    assert not recovered.stale
    assert recovered.group == "hr"
    assert recovered.title == SECRET
    retried = services.read_models.active_generation(fresh=True)
    fresh = rebuild(services.desk, services.read_models).new_generation
    assert _dump(services, retried) == _dump(services, fresh)


def test_rows_the_database_refuses_park_their_ticket_alone(sql_services: Services, handler: Any) -> None:
    services = sql_services
    handler(_unwritable)
    worker = ProjectionWorker(services.desk, services.read_models)
    tickets = [_open(services, tenant, f"ticket {i}") for i in range(6) for tenant in ("acme", "globex")]
    poisoned = tickets[3]
    worker.catch_up()
    _relabel(services, poisoned, None)  # its row would have no title: NOT NULL refuses the whole batch
    for ticket in tickets:
        _assign(services, ticket, "it")
    assert worker.catch_up() == services.read_models.head()
    rows = _rows(services)
    assert all(rows[t].group == "it" for t in tickets if t != poisoned)
    assert rows[poisoned].stale
    assert rows[poisoned].group is None
    assert rows[poisoned].title == "ticket 1"
    [entry] = services.read_models.active_view().parked()
    assert (entry.aggregate_id, entry.stage, entry.skipped) == (poisoned, "write", 2)
    assert entry.error_type in {"IntegrityError", "NotNullViolation"}

    handler(_working)
    [outcome] = worker.retry()
    assert outcome.recovered
    retried = services.read_models.active_generation(fresh=True)
    fresh = rebuild(services.desk, services.read_models).new_generation
    assert _dump(services, retried) == _dump(services, fresh)


@pytest.mark.postgres
def test_a_nul_in_a_title_parks_that_ticket_not_every_tenant(
    postgres_settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    services = build_services(postgres_settings, clock=TickingClock())
    try:
        worker = ProjectionWorker(services.desk, services.read_models)
        fine = _open(services, "globex", "Printer jam")
        ticket = _nul_titled(services)
        services.desk.save(ticket)
        later = _open(services, "acme", "Mouse broken")
        with caplog.at_level(logging.DEBUG, logger="ledgerdesk"):
            assert worker.catch_up() == services.read_models.head()
        assert SECRET not in caplog.text
        assert {fine, later} <= set(_rows(services))
        [entry] = services.read_models.active_view().parked()
        assert (entry.aggregate_id, entry.stage, entry.topic) == (ticket.id, "write", "Ticket.Opened")
        assert entry.reason.startswith("SQLSTATE 22")
        assert SECRET not in entry.reason
    finally:
        services.close()


def test_the_dead_letter_list_through_the_api_the_cli_and_the_metric(sql_settings: Settings, handler: Any) -> None:
    handler(_raising)
    services = build_services(sql_settings, clock=TickingClock())
    services.start_projections()
    secrets = {
        who: services.keys.create(actor_id=who, role=role, tenant=tenant).secret
        for who, role, tenant in (
            ("boss", Role.ADMIN, "acme"),
            ("agent1", Role.AGENT, "acme"),
            ("zed", Role.ADMIN, "x"),
        )
    }
    admin, agent, foreign = ({"Authorization": f"Bearer {secrets[who]}"} for who in ("boss", "agent1", "zed"))
    try:
        with TestClient(create_app(services=services)) as client:
            ticket = UUID(
                client.post("/tickets", json={"title": SECRET, "requester_id": "c1"}, headers=admin).json()["id"]
            )
            _relabel(services, ticket, SECRET)
            client.post(f"/tickets/{ticket}/assignment", json={"group": "it"}, headers=admin)
            other = client.post("/tickets", json={"title": "Printer jam", "requester_id": "c2"}, headers=admin)
            wait = {"min_position": other.headers["ledgerdesk-position"]}
            items = client.get("/tickets", params=wait, headers=admin).json()["items"]
            assert {i["id"]: i["stale"] for i in items} == {str(ticket): True, other.json()["id"]: False}

            parked = client.get("/projections/parked", headers=admin)
            assert [p["aggregate_id"] for p in parked.json()["items"]] == [str(ticket)]
            assert SECRET not in parked.text
            assert client.get("/projections/parked", headers=foreign).json()["items"] == []
            assert client.get("/projections/parked", headers=agent).status_code == 403
            scraped = client.get("/metrics")
            assert "ledgerdesk_projection_parked_tickets 1.0" in scraped.text
            assert "ledgerdesk_read_model_lag_events 0.0" in scraped.text
            assert "acme" not in scraped.text

            env = {
                "LEDGERDESK_DATABASE_URL": sql_settings.database_url,
                "LEDGERDESK_POSTGRES_SCHEMA": sql_settings.postgres_schema,
            }
            listed = CliRunner().invoke(cli, ["projections", "parked"], env=env)
            assert listed.exit_code == 0, listed.output
            [line] = listed.stdout.splitlines()
            assert line.startswith(f"{ticket}  acme  position ")
            assert "Relabelled  fold  ValueError" in line
            assert SECRET not in listed.output

            # Another tenant's retry touches nothing of acme's; acme's own fails again while the cause stays.
            assert client.post("/projections/parked/retry", json={}, headers=foreign).json()["items"] == []
            again = client.post("/projections/parked/retry", json={"aggregate_id": str(ticket)}, headers=admin)
            assert again.json()["items"][0]["recovered"] is False

            handler(_working)
            retried = CliRunner().invoke(cli, ["projections", "retry", "--ticket", str(ticket)], env=env)
            assert retried.exit_code == 0, retried.output
            assert retried.stdout.splitlines() == [f"{ticket}  recovered  2 events replayed"]
            assert "ledgerdesk_projection_parked_tickets 0.0" in client.get("/metrics").text
            [row] = [i for i in client.get("/tickets", headers=admin).json()["items"] if i["id"] == str(ticket)]
            assert row["stale"] is False
            assert row["group"] == "it"
    finally:
        services.close()


def test_an_event_that_cannot_be_decoded_parks_its_ticket(services: Services) -> None:
    worker = ProjectionWorker(services.desk, services.read_models)
    ticket = _open(services, "acme", "Printer jam")
    other = _open(services, "acme", "Mouse broken")
    _relabel(services, ticket, "x")
    stored = services.desk.recorder.select_notifications(start=services.read_models.head(), limit=1)[0]
    gone = StoredEvent(stored.originator_id, stored.originator_version + 1, "tests.nowhere:Gone", stored.state)
    services.desk.recorder.insert_events([gone])  # an event of a class no release has any more
    _assign(services, other, "it")
    assert worker.catch_up() == services.read_models.head()
    assert _rows(services)[other].group == "it"
    [entry] = services.read_models.active_view().parked()
    assert (entry.aggregate_id, entry.stage, entry.topic, entry.skipped) == (ticket, "decode", "tests.nowhere:Gone", 1)


def test_a_saved_view_that_cannot_be_folded_is_parked_under_its_own_id(services: Services) -> None:
    original = saved_views.fold.dispatch(SavedView.Created)
    _register(saved_views.fold, SavedView.Created, _raising)
    try:
        worker = ProjectionWorker(services.desk, services.read_models)
        view = services.desk.save_view(tenant="acme", name="mine", filters={}, by=AGENT, via="api").view
        ticket = _open(services, "acme", "Printer jam")
        assert worker.catch_up() == services.read_models.head()
        assert ticket in _rows(services)
        [entry] = services.read_models.active_view().parked()
        assert (entry.aggregate_id, entry.tenant, entry.topic) == (view.id, "acme", "SavedView.Created")
    finally:
        _register(saved_views.fold, SavedView.Created, original)
    [outcome] = worker.retry()
    assert outcome.recovered
    assert [v.name for v in services.read_models.saved_views().saved_views("acme")] == ["mine"]


def test_erasing_the_requester_of_a_parked_ticket_scrubs_its_row_at_once(services: Services, handler: Any) -> None:
    handler(_raising)
    services.start_projections()
    ticket = _open(services, "acme", SECRET)
    services.read_models.wait_for(services.read_models.head(), 10)
    _relabel(services, ticket, "x")
    outcome = services.eraser().erase(tenant="acme", person_id="cust1", by=AGENT, via="api")
    assert outcome.read_models_erased
    row = _rows(services)[ticket]
    assert row.stale
    assert row.title == ERASED
    assert services.read_models.active_view().parked()[0].aggregate_id == ticket


def _nul_titled(services: Services) -> Ticket:
    """A ticket opened with a NUL in its title, as the API stored them before NUL was refused at the edge."""
    customer = Actor("cust1", ActorKind.REQUESTER, role="customer")
    with acting(CommandContext(customer, "api", services.desk.clock())):
        return Ticket(
            tenant="acme",
            title=f"{SECRET}\x00",
            description="",
            requester_id="cust1",
            requester_name=None,
            requester_email=None,
            organisation=None,
            priority="normal",
            ticket_type=None,
            tags=[],
            custom_fields={},
            workflow="default",
            workflow_version=1,
            status="new",
            status_category="new",
        )


def _until_head(services: Services, process: subprocess.Popen[bytes], log: Path) -> None:
    """Wait until the projecting process has applied the whole log (failing, with its output, if it dies)."""
    deadline = time.monotonic() + 60
    while (
        services.read_models.position(services.read_models.active_generation(fresh=True)) < services.read_models.head()
    ):
        assert process.poll() is None, log.read_text()
        assert time.monotonic() < deadline, log.read_text()
        time.sleep(0.05)


@pytest.mark.postgres
def test_a_sigkilled_projector_restarts_past_the_parked_ticket(postgres_settings: Settings, tmp_path: Path) -> None:
    services = build_services(postgres_settings, clock=TickingClock())
    env = {
        **os.environ,
        "LEDGERDESK_DATABASE_URL": postgres_settings.database_url,
        "LEDGERDESK_POSTGRES_SCHEMA": postgres_settings.postgres_schema,
    }
    started: list[subprocess.Popen[bytes]] = []
    try:
        before = _open(services, "globex", "Printer jam")
        poisoned = _nul_titled(services)
        services.desk.save(poisoned)
        for run in range(2):
            log = tmp_path / f"project-{run}.log"
            with log.open("wb") as out:
                process = subprocess.Popen([*PROJECT], env=env, stdout=out, stderr=subprocess.STDOUT)
            started.append(process)
            _until_head(services, process, log)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
            assert SECRET not in log.read_text(errors="replace")
            after = _open(services, "acme", f"Mouse broken {run}")
        log = tmp_path / "project-last.log"
        with log.open("wb") as out:
            process = subprocess.Popen([*PROJECT], env=env, stdout=out, stderr=subprocess.STDOUT)
        started.append(process)
        _until_head(services, process, log)
        assert {before, after} <= set(_rows(services))
        [entry] = services.read_models.active_view().parked()
        assert (entry.aggregate_id, entry.stage, entry.attempts) == (poisoned.id, "write", 1)
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)
        services.close()


def test_a_parked_ticket_takes_no_sla_alerts_until_it_is_retried(services: Services, handler: Any) -> None:
    handler(_raising)
    admin = Actor("admin", ActorKind.SYSTEM, role="admin")
    terms = {"targets": {"first_response": 60}, "warning_minutes": 15}
    services.desk.define_policy(tenant="acme", name="standard", position=0, terms=terms, by=admin, via="api")
    worker = ProjectionWorker(services.desk, services.read_models)
    parked, due = _open(services, "acme", "Printer jam"), _open(services, "acme", "Mouse broken")
    worker.catch_up()
    _relabel(services, parked, "x")
    worker.catch_up()
    later = services.desk.clock() + timedelta(hours=2)
    assert {a.ticket_id for a in services.read_models.sla().due_alerts(later, 100)} == {due}
    handler(_working)
    worker.retry()
    assert {a.ticket_id for a in services.read_models.sla().due_alerts(later, 100)} == {due, parked}
