"""Erasure of what people type into personal custom fields and saved views' filters (issue 13, finding 7).

On the in-memory, SQLite and PostgreSQL stores, with the real mapper, projection worker and
databases: the value is unreadable afterwards in the ticket, its history, older versions, a fresh
replay, the read models and every row of every table read raw; on SQLite the database files'
bytes do not hold it either, and on PostgreSQL the tables the erasure rewrote were vacuumed, so no
old row version (visible with pageinspect) keeps it.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any
from uuid import UUID

import psycopg
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient
from psycopg import sql

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError
from domain.helpdesk import HelpDesk
from domain.tickets.saved_views import SavedView
from domain.values import ERASED, FieldValue
from infrastructure.audit.export import ExportFilter, export_changes
from infrastructure.audit.log import AuditLog
from infrastructure.composition import Services, build_services
from infrastructure.database import Backend
from infrastructure.settings import Settings
from tests.e2e.test_privacy import ADMIN, ALICE, BOB, _caught_up, _raw_texts
from tests.support.clock import TickingClock

EMAIL = "bob.fieldsecret@example.org"  # typed into a personal custom field
WORDS = "VIEWSECRET"  # typed by alice into a saved view's search
CAROL = Actor("carol", ActorKind.AGENT, role="agent")


@pytest.fixture
def live(settings: Settings, clock: TickingClock) -> Iterator[Services]:
    built = build_services(settings, clock=clock)
    built.start_projections()
    yield built
    built.close()


def _ticket_with_contact(desk: HelpDesk) -> UUID:
    """Bob's ticket with his e-mail in the personal field `contact`, changed once, past a snapshot."""
    desk.define_field(tenant="acme", name="contact", kind="text", personal=True, by=ADMIN, via="api")
    opened = desk.open_ticket(
        tenant="acme",
        title="Laptop",
        requester_id="bob",
        custom_fields={"contact": FieldValue.parse("text", f"old.{EMAIL}"), "note": FieldValue.parse("text", "stays")},
        by=ALICE,
        via="web",
    )
    desk.update_ticket(
        opened.ticket_id, custom_fields={"contact": FieldValue.parse("text", EMAIL)}, by=ALICE, via="web"
    )
    for n in range(100):  # past the snapshot interval: the snapshot holds the field too
        desk.add_comment(opened.ticket_id, f"agent note {n}", public=False, by=ALICE, via="web")
    return opened.ticket_id


def _stored_events(services: Services) -> list[str]:
    """The raw stored state of every event and snapshot (what the event store holds, before any decoding)."""
    recorder: Any = services.desk.recorder
    notifications = recorder.select_notifications(start=1, limit=1_000_000)
    texts = [bytes(n.state).decode("utf-8", "replace") for n in notifications]
    snapshots: Any = services.desk.snapshots
    for originator in {n.originator_id for n in notifications} if snapshots is not None else ():
        texts += [bytes(s.state).decode("utf-8", "replace") for s in snapshots.recorder.select_events(originator)]
    return texts


def _files_holding(services: Services, secret: str) -> list[str]:
    """Those SQLite databases (events, read models) and write-ahead logs whose bytes hold `secret`."""
    folder = Path(services.database.path).parent
    return [path.name for path in sorted(folder.iterdir()) if path.is_file() and secret.encode() in path.read_bytes()]


def test_a_personal_custom_field_is_unreadable_everywhere_after_erasure(live: Services, settings: Settings) -> None:
    desk = live.desk
    ticket_id = _ticket_with_contact(desk)
    _caught_up(live)
    assert desk.get_ticket(ticket_id).custom_fields["contact"] == FieldValue.parse("text", EMAIL).owned_by("bob")
    assert not any(EMAIL in text for text in _stored_events(live)), "events and snapshots must hold ciphertext"
    row = live.read_models.tickets().get_ticket("acme", ticket_id)
    assert row is not None
    assert row.custom_fields["contact"]["value"] == EMAIL  # lists show it until the erasure

    outcome = live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")

    assert outcome.read_models_erased
    ticket = desk.get_ticket(ticket_id)
    assert (ticket.custom_fields["contact"].value, ticket.custom_fields["note"].value) == (ERASED, "stays")
    assert EMAIL not in str(desk.history(ticket_id))
    assert desk.ticket_at_version(ticket_id, 1).custom_fields["contact"].value == ERASED  # the past too
    row = live.read_models.tickets().get_ticket("acme", ticket_id)
    assert row is not None
    assert (row.custom_fields["contact"]["value"], row.custom_fields["note"]["value"]) == (ERASED, "stays")
    if live.database.backend is Backend.MEMORY:
        return
    assert not any(EMAIL in text for text in _raw_texts(live))
    replayed = build_services(settings, clock=TickingClock())  # a fresh process: snapshot + events
    try:
        assert replayed.desk.get_ticket(ticket_id).custom_fields["contact"].value == ERASED
    finally:
        replayed.close()
    if live.database.backend is Backend.SQLITE:
        assert _files_holding(live, EMAIL) == [], "freed space and the WAL must not keep the old rows"
    else:
        _assert_vacuumed(live, EMAIL)


def _assert_vacuumed(services: Services, secret: str) -> None:
    """The tables the erasure rewrote were vacuumed: no dead row version, none holding `secret`."""
    schema = services.settings.postgres_schema
    with psycopg.connect(services.settings.database_url, autocommit=True) as connection:
        connection.execute("CREATE EXTENSION IF NOT EXISTS pageinspect")
        for table in ("rm1_tickets", "rm1_saved_views"):
            vacuumed = connection.execute(
                "SELECT last_vacuum FROM pg_stat_user_tables WHERE schemaname = %s AND relname = %s", [schema, table]
            ).fetchone()
            assert vacuumed is not None
            assert vacuumed[0] is not None, f"{table} was not vacuumed"
            pages = connection.execute(
                sql.SQL("SELECT pg_relation_size({}) / current_setting('block_size')::int").format(
                    sql.Literal(f'"{schema}"."{table}"')
                )
            ).fetchone()
            assert pages is not None
            for page in range(pages[0]):
                items = connection.execute(
                    "SELECT lp_flags, t_data FROM heap_page_items(get_raw_page(%s, %s))",
                    [f'"{schema}"."{table}"', page],
                ).fetchall()
                assert not [flags for flags, _ in items if flags == 3], f"dead items left in {table}"
                assert not [data for _, data in items if data is not None and secret.encode() in bytes(data)]


def test_saved_view_filters_are_erased_with_the_saver_and_with_the_person_they_name(live: Services) -> None:
    desk = live.desk
    filters = {"requester_id": "bob", "assignee": "carol", "q": WORDS, "status": ["open"], "unassigned": False}
    view_id = desk.save_view(tenant="acme", name="bobs", filters=filters, by=ALICE, via="web").view.id
    desk.open_ticket(tenant="acme", title="Bob's", requester_id="bob", by=BOB, via="web")  # bob has data
    _caught_up(live)
    assert not any(WORDS in text for text in _stored_events(live)), "the saved view's event must hold ciphertext"
    (row,) = live.read_models.saved_views().saved_views("acme")
    assert row.filters == filters

    live.eraser().erase(tenant="acme", person_id="bob", by=ADMIN, via="api")  # named by requester_id

    expected = {**filters, "requester_id": ERASED}
    assert _stored_view(desk, view_id).filters == expected
    (row,) = live.read_models.saved_views().saved_views("acme")
    assert row.filters == expected

    live.eraser().erase(tenant="acme", person_id="alice", by=ADMIN, via="api")  # the one who saved it

    expected = {"requester_id": ERASED, "assignee": ERASED, "q": ERASED, "status": ["open"], "unassigned": False}
    assert _stored_view(desk, view_id).filters == expected
    (row,) = live.read_models.saved_views().saved_views("acme")
    assert row.filters == expected
    if live.database.backend is Backend.SQLITE:
        assert _files_holding(live, WORDS) == []
    elif live.database.backend is Backend.POSTGRES:
        assert not any(WORDS in text for text in _raw_texts(live))
        _assert_vacuumed(live, WORDS)


def test_erasing_a_named_assignee_erases_only_that_filter(live: Services) -> None:
    desk = live.desk
    view_id = desk.save_view(
        tenant="acme", name="carols", filters={"assignee": "carol", "q": WORDS}, by=ALICE, via="web"
    ).view.id
    desk.add_comment(
        desk.open_ticket(tenant="acme", title="x", requester_id="dan", by=ALICE, via="web").ticket_id,
        "carol's note",
        public=False,
        by=CAROL,
        via="web",
    )
    _caught_up(live)
    live.eraser().erase(tenant="acme", person_id="carol", by=ADMIN, via="api")
    assert _stored_view(desk, view_id).filters == {"assignee": ERASED, "q": WORDS}
    (row,) = live.read_models.saved_views().saved_views("acme")
    assert row.filters == {"assignee": ERASED, "q": WORDS}


def _stored_view(desk: HelpDesk, view_id: UUID) -> SavedView:
    """The view replayed from the store (no cache), as a fresh process would read it."""
    (event,) = desk.events.get(view_id)
    view: SavedView = event.mutate(None)  # type: ignore[attr-defined]  # a SavedView.Created
    return view


def test_a_defined_field_refuses_values_of_another_kind_and_stores_nothing(services: Services) -> None:
    desk = services.desk
    desk.define_field(tenant="acme", name="contact", kind="text", personal=True, by=ADMIN, via="api")
    ticket_id = desk.open_ticket(tenant="acme", title="x", requester_id="bob", by=ALICE, via="web").ticket_id
    head = desk.recorder.max_notification_id()
    with pytest.raises(InvalidValueError, match="defined as text"):
        desk.update_ticket(ticket_id, custom_fields={"contact": FieldValue.parse("number", 1)}, by=ALICE, via="web")
    with pytest.raises(InvalidValueError, match="custom field kind"):
        desk.define_field(tenant="acme", name="contact", kind="colour", personal=False, by=ADMIN, via="api")
    with pytest.raises(InvalidValueError, match="lowercase slug"):
        desk.define_field(tenant="acme", name="Not A Slug", kind="text", personal=False, by=ADMIN, via="api")
    assert desk.recorder.max_notification_id() == head
    other = desk.open_ticket(
        tenant="globex",
        title="y",
        requester_id="bob",
        custom_fields={"contact": FieldValue.parse("number", 1)},  # undefined in globex: any kind, not personal
        by=ALICE,
        via="web",
    )
    assert other.ticket.custom_fields["contact"].owner is None


@pytest.fixture
def api(sql_services: Services) -> Iterator[tuple[TestClient, Services, dict[str, dict[str, str]]]]:
    sql_services.start_projections()
    keys = {
        role: sql_services.keys.create(actor_id=f"{role.value}1", role=role, tenant="acme").secret
        for role in (Role.ADMIN, Role.AGENT)
    }
    headers = {name.value: {"Authorization": f"Bearer {key}"} for name, key in keys.items()}
    with TestClient(create_app(services=sql_services)) as client:
        yield client, sql_services, headers


def test_field_definitions_over_http_are_admin_only_and_checked(
    api: tuple[TestClient, Services, dict[str, dict[str, str]]],
) -> None:
    client, _, headers = api
    admin, agent = headers["admin"], headers["agent"]
    defined = client.put("/fields/contact", json={"kind": "text", "personal": True}, headers=admin)
    assert defined.status_code == 200, defined.text
    assert defined.json() == {"name": "contact", "kind": "text", "options": None, "personal": True, "version": 1}
    assert "Ledgerdesk-Position" in defined.headers
    again = client.put("/fields/contact", json={"kind": "text", "personal": True}, headers=admin)
    assert (again.json()["version"], "Ledgerdesk-Position" in again.headers) == (1, False)  # nothing recorded
    assert client.put("/fields/contact", json={"kind": "text"}, headers=admin).json()["version"] == 2

    refused = client.put("/fields/contact", json={"kind": "text", "personal": True}, headers=agent)
    assert refused.status_code == 403
    assert refused.headers["content-type"].startswith("application/problem+json")
    for bad in ({"kind": "colour"}, {"kind": "text", "personal": "yes"}, {"kind": "text", "extra": 1}, {}):
        answer = client.put("/fields/contact", json=bad, headers=admin)
        assert answer.status_code == 422, (bad, answer.text)
        assert answer.headers["content-type"].startswith("application/problem+json")
    assert client.put("/fields/Bad%20Name", json={"kind": "text"}, headers=admin).status_code == 422
    assert client.get("/fields", headers=agent).json() == {
        "items": [{"name": "contact", "kind": "text", "options": None, "personal": False, "version": 2}]
    }
    assert client.get("/fields/contact", headers=agent).status_code == 200
    assert client.get("/fields/unknown", headers=agent).status_code == 404


def test_an_email_in_a_personal_field_reads_as_erased_over_http(
    api: tuple[TestClient, Services, dict[str, dict[str, str]]],
) -> None:
    client, services, headers = api
    admin = headers["admin"]
    assert client.put("/fields/contact", json={"kind": "text", "personal": True}, headers=admin).status_code == 200
    wrong = client.post(
        "/tickets",
        json={"title": "x", "requester_id": "bob", "custom_fields": {"contact": {"kind": "number", "value": 1}}},
        headers=admin,
    )
    assert wrong.status_code == 422
    body = {"title": "Laptop", "requester_id": "bob", "custom_fields": {"contact": {"kind": "text", "value": EMAIL}}}
    opened = client.post("/tickets", json=body, headers=admin)
    assert opened.status_code == 201, opened.text
    ticket = opened.json()["id"]
    assert opened.json()["custom_fields"]["contact"] == {"kind": "text", "value": EMAIL}

    erased = client.post("/privacy/erasures", json={"person_id": "bob"}, headers=admin)
    assert erased.status_code == 200, erased.text
    assert erased.json()["read_models_erased"] is True

    position = {"Ledgerdesk-Min-Position": str(erased.json()["position"])}
    answers = [
        client.get(f"/tickets/{ticket}", headers=admin),
        client.get(f"/tickets/{ticket}/history", headers=admin),
        client.get(f"/tickets/{ticket}?version=1", headers=admin),
        client.get("/tickets", headers=admin | position),
        client.get("/events", headers=admin | position),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert EMAIL not in answer.text
    assert answers[0].json()["custom_fields"]["contact"] == {"kind": "text", "value": ERASED}
    exported = export_changes(
        AuditLog(services.desk),
        services.read_models,
        ExportFilter("acme"),
        fmt="jsonl",
        key=Ed25519PrivateKey.generate(),
        now=services.desk.clock(),
    )
    assert EMAIL.encode() not in b"".join(exported)
    assert not any(EMAIL in text for text in _raw_texts(services))
