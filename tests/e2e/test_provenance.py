"""Provenance comes from one command context: who, as which role, via which channel, when, and why.

Every event of a request carries the request's correlation id (the client's `Ledgerdesk-Correlation-Id`,
or one the server made), the answer sends it back, and a command outside a command context is refused.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError
from domain.provenance import CommandContext, acting, caused_by, current_cause, no_cause
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services

HEADER = "Ledgerdesk-Correlation-Id"
AGENT = Actor("alice", ActorKind.AGENT, role="agent")


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    key = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {key}"}) as test_client:
        yield test_client


def _open(client: TestClient, **headers: str) -> tuple[str, str]:
    response = client.post("/tickets", json={"title": "Printer", "requester_id": "bob"}, headers=headers)
    assert response.status_code == 201, response.text
    return response.json()["id"], response.headers[HEADER]


def test_every_event_of_a_request_carries_the_clients_correlation_id(client: TestClient) -> None:
    ticket_id, echoed = _open(client, **{HEADER: "order-4711"})
    patched = client.patch(
        f"/tickets/{ticket_id}", json={"priority": "high", "add_tags": ["printer"]}, headers={HEADER: "order-4712"}
    )
    assert patched.status_code == 200, patched.text

    history = client.get(f"/tickets/{ticket_id}/history").json()["items"]
    assert echoed == "order-4711"
    assert [(item["event"], item["correlation_id"], item["causation_id"]) for item in history] == [
        ("Opened", "order-4711", None),
        ("PriorityChanged", "order-4712", None),
        ("TagsChanged", "order-4712", None),
    ]


def test_without_one_the_server_makes_one_per_request_and_sends_it_back(client: TestClient) -> None:
    ticket_id, first = _open(client)
    second = client.post(f"/tickets/{ticket_id}/comments", json={"body": "On it", "public": False})

    history = client.get(f"/tickets/{ticket_id}/history").json()["items"]
    assert [item["correlation_id"] for item in history] == [first, second.headers[HEADER]]
    assert uuid.UUID(first) != uuid.UUID(second.headers[HEADER])


@pytest.mark.parametrize("malformed", ["", "two words", "x" * 129, "semi;colon"])
def test_a_malformed_correlation_id_is_refused_and_stores_nothing(
    client: TestClient, services: Services, malformed: str
) -> None:
    before = services.desk.recorder.max_notification_id()
    response = client.post("/tickets", json={"title": "Printer", "requester_id": "bob"}, headers={HEADER: malformed})

    assert response.status_code == 422
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"] == "urn:ledgerdesk:problem:invalid-correlation-id"
    assert services.desk.recorder.max_notification_id() == before


def test_a_command_outside_a_command_context_is_a_programming_error() -> None:
    with pytest.raises(RuntimeError, match="outside a command context"):
        Ticket.open(tenant="acme", title="Printer", description="", requester_id="bob")


def test_the_context_records_its_ids_and_the_block_restores_the_outer_cause() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with caused_by("outer"), caused_by("inner", "t@2"):
        assert (current_cause().correlation_id, current_cause().causation_id) == ("inner", "t@2")
    assert current_cause().correlation_id is None

    with acting(CommandContext(AGENT, "web", at, correlation_id="c-1", causation_id="t@3")):
        ticket = Ticket.open(tenant="acme", title="Printer", description="", requester_id="bob")
    (opened,) = ticket.collect_events()
    assert (opened.actor_id, opened.actor_role, opened.via, opened.timestamp) == ("alice", "agent", "web", at)
    assert (opened.correlation_id, opened.causation_id) == ("c-1", "t@3")


def test_a_context_refuses_ids_that_are_not_printable_or_too_long() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    for bad in ("", "a\nb", "x" * 129):
        with pytest.raises(InvalidValueError):
            CommandContext(AGENT, "web", at, correlation_id=bad)


def test_an_event_recorded_before_the_ids_reads_as_naming_neither() -> None:
    state: dict[str, object] = {"actor_id": "alice"}
    no_cause(state)
    assert state == {"actor_id": "alice", "correlation_id": None, "causation_id": None}


def test_a_command_acts_in_the_tenant_of_the_ticket_or_of_what_it_creates(services: Services) -> None:
    desk = services.desk
    ticket = desk.open_ticket(tenant="acme", title="Printer", requester_id="bob", by=AGENT, via="web").ticket
    with desk._acting(AGENT, "web", ticket) as on_ticket, desk._acting(AGENT, "web", tenant="globex") as creating:
        assert (on_ticket.tenant, creating.tenant) == ("acme", "globex")

    desk.add_comment(ticket.id, "On it", public=False, by=AGENT, via="web")
    (commented,) = desk.events.get(ticket.id, gt=1)
    assert commented.tenant == "acme"  # an event that names the tenant records the ticket's


def test_a_command_acting_in_one_tenant_never_changes_another_tenants_record() -> None:
    at = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
    with acting(CommandContext(AGENT, "web", at)):
        ticket = Ticket.open(tenant="acme", title="Printer", description="", requester_id="bob")
    with acting(CommandContext(AGENT, "web", at, tenant="globex")), pytest.raises(RuntimeError, match="tenant"):
        ticket.add_comment("On it", public=False)
    with acting(CommandContext(AGENT, "web", at, tenant="globex")), pytest.raises(RuntimeError, match="tenant"):
        Ticket.open(tenant="acme", title="Printer", description="", requester_id="bob")
    assert len(ticket.collect_events()) == 1
