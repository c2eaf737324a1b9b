"""Erasure by crypto-shredding, on the in-memory, SQLite and PostgreSQL stores.

Every check that something is gone looks at the real thing: the aggregate in this process's
cache, a fresh process replaying the log (snapshot included), history, older versions, the
read models, the event feed, and every row of every table read raw from the database.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from domain.tickets.comments import CommentOrigin
from domain.tickets.history import FieldChange
from domain.values import ERASED, Attachment
from infrastructure.audit.log import AuditLog
from infrastructure.composition import Services, build_services
from infrastructure.database import Backend
from infrastructure.readmodels.feed import EventFeed
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

SECRET = "BOBSECRET"  # every personal value of bob's carries it, so a raw scan can look for it
BOB = Actor("bob", ActorKind.REQUESTER, role="customer")
ALICE = Actor("alice", ActorKind.AGENT, role="agent")
ADMIN = Actor("root-admin", ActorKind.AGENT, role="admin")


@pytest.fixture
def live(settings: Settings, clock: TickingClock) -> Iterator[Services]:
    built = build_services(settings, clock=clock)
    built.start_projections()
    yield built
    built.close()


def _bobs_ticket(desk: HelpDesk) -> UUID:
    """A ticket full of bob's data, long enough to have a snapshot, rated by bob."""
    ticket_id = desk.open_ticket(
        tenant="acme",
        title=f"{SECRET} laptop stolen",
        description=f"{SECRET} my home address is 1 Main St",
        requester_id="bob",
        requester_name=f"Bob {SECRET}",
        requester_email=f"bob.{SECRET.lower()}@example.org",
        by=BOB,
        via="web",
    ).ticket_id
    desk.add_comment(ticket_id, "Agent note that stays", public=True, by=ALICE, via="web")
    photo = Attachment(name=f"{SECRET}-passport.pdf", size=1000, content_type="application/pdf")
    desk.add_comment(ticket_id, f"{SECRET} here is my passport", public=True, attachments=[photo], by=BOB, via="web")
    for n in range(100):  # past the snapshot interval
        desk.add_comment(ticket_id, f"{SECRET} follow-up {n}", public=True, by=BOB, via="web", tenant="acme")
    desk.transition(ticket_id, "open", by=ALICE, via="web")
    desk.transition(ticket_id, "solved", by=ALICE, via="web")
    desk.rate(ticket_id, 2, f"{SECRET} thanks", by=BOB, via="web", tenant="acme")
    return ticket_id


def _caught_up(services: Services) -> None:
    head = services.desk.recorder.max_notification_id() or 0
    assert services.read_models.wait_for(head, 10) >= head


def _raw_texts(services: Services) -> list[str]:
    """Every value of every row of every table (events, snapshots, keys, read models), as text."""
    if services.database.backend is Backend.POSTGRES:
        return _postgres_texts(services)
    events = Path(services.database.path)
    paths = [events, *events.parent.glob(f"{events.stem}.views-*{events.suffix}")]  # the read models' files
    return [text for path in paths for text in _sqlite_texts(path)]


def _as_text(value: Any) -> str:
    return bytes(value).decode("utf-8", "replace") if isinstance(value, bytes | memoryview) else str(value)


def _sqlite_texts(path: Path) -> list[str]:
    with sqlite3.connect(path) as connection:
        tables = [r[0] for r in connection.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        return [_as_text(v) for t in tables for row in connection.execute(f'SELECT * FROM "{t}"') for v in row]


def _postgres_texts(services: Services) -> list[str]:
    schema = services.settings.postgres_schema
    with psycopg.connect(services.settings.database_url) as connection:
        tables = connection.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema]
        ).fetchall()
        texts = []
        for (table,) in tables:
            rows = connection.execute(
                sql.SQL("SELECT * FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
            )
            texts += [_as_text(v) for row in rows for v in row]
        return texts


def _everything_of(ticket: Any) -> str:
    parts = [ticket.title, ticket.description, ticket.requester_name, ticket.requester_email, str(ticket.satisfaction)]
    parts += [c.body + str(c.attachments) for c in ticket.comments]
    return " ".join(str(p) for p in parts)


def test_erasure_leaves_nothing_of_the_person_readable(live: Services, settings: Settings) -> None:
    desk = live.desk
    ticket_id = _bobs_ticket(desk)
    carols = desk.open_ticket(tenant="acme", title="Carol's printer", requester_id="carol", by=ALICE, via="web")
    other_bob = desk.open_ticket(
        tenant="globex", title=f"{SECRET} other tenant", requester_id="bob", by=ALICE, via="web"
    )
    _caught_up(live)
    sql_store = live.database.backend is not Backend.MEMORY
    if sql_store:  # the scan sees the read model's plaintext title, so it would see anything left behind
        assert any(SECRET in text for text in _raw_texts(live))
        assert not any(f"{SECRET} follow-up" in text for text in _raw_texts(live)), "events must hold ciphertext"

    outcome = live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")

    assert (outcome.tickets, outcome.keys_destroyed) == (1, 1)
    ticket = desk.get_ticket(ticket_id)  # this process's cached copy caught up with the erasure
    assert SECRET not in _everything_of(ticket)
    assert (ticket.title, ticket.requester_name, ticket.comments[1].attachments[0]["name"]) == (ERASED, ERASED, ERASED)
    assert ticket.comments[0].body == "Agent note that stays"  # alice's words are alice's
    assert ticket.satisfaction == {"scale": "one_to_five", "score": 2, "comment": ERASED}
    assert SECRET not in _everything_of(desk.ticket_at_version(ticket_id, 3))  # the past is unreadable too
    assert SECRET not in str(desk.history(ticket_id))
    assert desk.history(ticket_id)[-1].event == "PersonalDataErased"
    assert desk.get_ticket(carols.ticket_id).title == "Carol's printer"
    assert desk.get_ticket(other_bob.ticket_id).title == f"{SECRET} other tenant"  # another tenant's bob

    _caught_up(live)
    queries = live.read_models.tickets()
    row = queries.get_ticket("acme", ticket_id)
    assert row is not None
    assert row.title == ERASED
    feed = EventFeed(desk, live.read_models).page("acme", after=0, limit=1000)
    assert SECRET not in str(feed)
    if sql_store:
        assert not any(SECRET in text for text in _raw_texts(live) if "other tenant" not in text)
        assert AuditLog(desk).verify().ok  # the stored bytes did not change
        replayed = build_services(settings, clock=TickingClock())  # a fresh process: snapshot + events
        try:
            assert SECRET not in _everything_of(replayed.desk.get_ticket(ticket_id))
        finally:
            replayed.close()


def test_erasure_blanks_every_title_and_description(live: Services, settings: Settings) -> None:
    desk = live.desk
    bobs = desk.open_ticket(
        tenant="acme", title=f"{SECRET} VPN", description=f"{SECRET} at home", requester_id="bob", by=BOB, via="web"
    ).ticket_id
    desk.update_ticket(bobs, title=f"{SECRET} VPN at home", description=f"{SECRET} since 9", by=ALICE, via="web")
    assert desk.get_ticket(bobs).title == f"{SECRET} VPN at home"  # read back decrypted
    _caught_up(live)

    outcome = live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")

    assert outcome.tickets == 1
    bob_ticket = desk.get_ticket(bobs)
    assert (bob_ticket.title, bob_ticket.description) == (ERASED, ERASED)
    assert SECRET not in str(desk.history(bobs))
    retitled = next(c for c in desk.history(bobs) if c.event == "TitleChanged")
    assert retitled.changes == (FieldChange("title", ERASED, ERASED),)  # both titles were his
    _caught_up(live)
    row = live.read_models.tickets().get_ticket("acme", bobs)
    assert row is not None
    assert row.title == ERASED
    if live.database.backend is not Backend.MEMORY:
        assert not any(SECRET in text for text in _raw_texts(live))
        assert AuditLog(desk).verify().ok
        replayed = build_services(settings, clock=TickingClock())  # a fresh process replays the events
        try:
            assert SECRET not in str(replayed.desk.history(bobs))
        finally:
            replayed.close()


def test_erasure_blanks_the_copies_a_merge_made(live: Services, settings: Settings) -> None:
    desk = live.desk
    bobs = desk.open_ticket(tenant="acme", title=f"{SECRET} VPN", requester_id="bob", by=BOB, via="web").ticket_id
    photo = Attachment(name=f"{SECRET}-router.jpg", size=500, content_type="image/jpeg")
    desk.add_comment(bobs, f"{SECRET} still down", public=True, attachments=[photo], by=BOB, via="email", tenant="acme")
    desk.add_comment(bobs, "Agent note that stays", public=False, by=ALICE, via="web")
    carols = desk.open_ticket(tenant="acme", title="Carol's VPN", requester_id="carol", by=ALICE, via="web").ticket_id
    desk.merge_tickets(bobs, carols, reason="one outage", by=ALICE, via="web")
    for n in range(98):  # carol's ticket takes a snapshot at version 100, copies in it
        desk.add_comment(carols, f"Carol's follow-up {n}", public=True, by=ALICE, via="web")
    assert desk.snapshots is not None
    assert [s.originator_version for s in desk.snapshots.get(carols)] == [100]
    assert SECRET in _everything_of(desk.get_ticket(carols))  # the copies read back decrypted
    _caught_up(live)

    outcome = live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")

    assert outcome.tickets == 2  # his own, and the one his comments were copied to
    carol_ticket = desk.get_ticket(carols)
    assert SECRET not in _everything_of(carol_ticket)
    copy, note = carol_ticket.comments[:2]
    assert (copy.body, copy.attachments[0]["name"]) == (ERASED, ERASED)
    assert copy.origin == CommentOrigin(str(bobs), 1, "email")  # where it came from is no personal data
    assert (note.body, carol_ticket.title) == ("Agent note that stays", "Carol's VPN")
    assert desk.get_ticket(bobs).title == ERASED
    for ticket_id in (bobs, carols):
        assert SECRET not in str(desk.history(ticket_id))
    if live.database.backend is not Backend.MEMORY:
        _caught_up(live)
        assert not any(SECRET in text for text in _raw_texts(live))  # events, snapshots and read models
        assert AuditLog(desk).verify().ok
        replayed = build_services(settings, clock=TickingClock())  # a fresh process: snapshot + events
        try:
            assert SECRET not in _everything_of(replayed.desk.get_ticket(carols))
            assert replayed.desk.get_ticket(carols).comments[0].body == ERASED
        finally:
            replayed.close()


def test_erasure_is_safe_to_repeat_and_a_returning_person_gets_a_new_key(live: Services) -> None:
    desk = live.desk
    first = _bobs_ticket(desk)
    _caught_up(live)
    live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")
    _caught_up(live)
    again = live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")
    assert (again.tickets, again.keys_destroyed) == (0, 0)

    later = desk.open_ticket(tenant="acme", title="New request", requester_id="bob", by=BOB, via="web").ticket_id
    stored: Any = next(iter(desk.events.get(later)))  # decoded from the store, not from a cached aggregate
    assert stored.title == "New request"  # written with a new key, readable
    assert desk.get_ticket(first).title == ERASED


def test_erasure_and_key_administration_are_privileged_actions_on_record(live: Services) -> None:
    issued = live.issue_key(actor_id="dana", role=Role.AGENT, tenant="acme", by=ADMIN, via="cli")
    assert live.revoke_key(issued.principal.key_id, by=ADMIN, via="cli")
    _bobs_ticket(live.desk)
    _caught_up(live)
    live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")
    _caught_up(live)
    today = live.desk.clock().date()
    rows = live.read_models.activity().privileged_activity("acme", today - timedelta(days=1), today + timedelta(days=1))
    assert sorted((r.event_type, r.actor_id) for r in rows) == [
        ("KeyCreated", "root-admin"),
        ("KeyRevoked", "root-admin"),
        ("PersonErased", "root-admin"),
    ]
    assert live.read_models.activity().privileged_activity("globex", date(2000, 1, 1), today) == []


@pytest.fixture
def admin_client(sql_services: Services) -> Iterator[tuple[TestClient, Services]]:
    sql_services.start_projections()
    key = sql_services.keys.create(actor_id="root-admin", role=Role.ADMIN, tenant="acme").secret
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {key}"}) as client:
        yield client, sql_services


def test_the_erasure_endpoint_forgets_kept_responses_and_is_admin_only(
    admin_client: tuple[TestClient, Services],
) -> None:
    client, services = admin_client
    body = {"title": f"{SECRET} via API", "requester_id": "bob", "requester_email": "bob@example.org"}
    opened = client.post("/tickets", json=body, headers={"Idempotency-Key": "k-1"})
    assert opened.status_code == 201, opened.text
    assert opened.json()["requester_email"] == "bob@example.org"
    agent = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret

    refused = client.post("/privacy/erasures", json={"person_id": "bob"}, headers={"Authorization": f"Bearer {agent}"})
    assert refused.status_code == 403
    erased = client.post("/privacy/erasures", json={"person_id": "bob"})
    assert erased.status_code == 200, erased.text
    assert erased.json() | {"position": 0} == {
        "tenant": "acme",
        "person_id": "bob",
        "tickets": 1,
        "keys_destroyed": 1,
        "responses_forgotten": 1,
        "position": 0,
        "read_models_erased": True,
    }
    ticket = client.get(f"/tickets/{opened.json()['id']}").json()
    assert (ticket["title"], ticket["requester_email"]) == (ERASED, ERASED)
    replay = client.post("/tickets", json=body, headers={"Idempotency-Key": "k-1"})  # the kept copy is gone
    assert SECRET not in replay.text or replay.json()["id"] != opened.json()["id"]
    assert client.post("/privacy/erasures", json={"person_id": "bob", "extra": 1}).status_code == 422
