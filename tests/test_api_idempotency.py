"""Idempotency-Key on POST, through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from infrastructure.composition import Services
from infrastructure.keys import Role

NEW = {"title": "Printer jam", "requester_id": "bob"}


@pytest.fixture
def other_key(sql_services: Services) -> str:
    return sql_services.keys.create(actor_id="dave", role=Role.AGENT, tenant="acme").secret


def _count(client: TestClient, ticket_id: str) -> int:
    return len(client.get(f"/tickets/{ticket_id}/history").json()["items"])


def test_a_retried_create_returns_the_first_response_and_stores_nothing_new(client: TestClient) -> None:
    first = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "create-1"})
    again = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "create-1"})
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again.headers["location"] == first.headers["location"]
    assert again.headers["etag"] == first.headers["etag"]
    assert again.headers["idempotent-replayed"] == "true"
    assert "idempotent-replayed" not in first.headers
    other = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "create-2"})
    assert other.json()["id"] != first.json()["id"]


def test_a_retried_command_records_one_event(client: TestClient) -> None:
    ticket = client.post("/tickets", json=NEW).json()["id"]
    for _ in range(3):
        response = client.post(f"/tickets/{ticket}/comments", json={"body": "hi"}, headers={"Idempotency-Key": "c-1"})
        assert response.status_code == 201
    assert _count(client, ticket) == 2


def test_the_same_key_for_another_request_is_refused(client: TestClient) -> None:
    client.post("/tickets", json=NEW, headers={"Idempotency-Key": "k"})
    changed = client.post("/tickets", json={**NEW, "title": "Other"}, headers={"Idempotency-Key": "k"})
    assert changed.status_code == 422
    assert changed.json()["type"] == "urn:ledgerdesk:problem:idempotency-key-reused"
    too_long = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "x" * 300})
    assert too_long.status_code == 422


def test_keys_belong_to_their_api_key(client: TestClient, other_key: str) -> None:
    mine = client.post("/tickets", json=NEW, headers={"Idempotency-Key": "shared"})
    theirs = client.post(
        "/tickets", json=NEW, headers={"Idempotency-Key": "shared", "Authorization": f"Bearer {other_key}"}
    )
    assert theirs.status_code == 201
    assert theirs.json()["id"] != mine.json()["id"]


def test_rejections_are_kept_too(client: TestClient) -> None:
    bad = client.post("/tickets", json={"title": ""}, headers={"Idempotency-Key": "bad"})
    again = client.post("/tickets", json={"title": ""}, headers={"Idempotency-Key": "bad"})
    assert bad.status_code == again.status_code == 422
    assert again.json() == bad.json()


def test_racing_copies_act_once(client: TestClient, sql_services: Services) -> None:
    ticket = client.post("/tickets", json=NEW).json()["id"]
    barrier = threading.Barrier(6)
    statuses: list[int] = []

    def send() -> None:
        barrier.wait()
        response = client.post(
            f"/tickets/{ticket}/comments", json={"body": "once"}, headers={"Idempotency-Key": "race"}
        )
        statuses.append(response.status_code)

    threads = [threading.Thread(target=send) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert set(statuses) <= {201, 409}
    assert 201 in statuses
    assert _count(client, ticket) == 2


def test_other_methods_ignore_the_header(sql_services: Services) -> None:
    key = sql_services.keys.create(actor_id="erin", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=sql_services), headers={"Authorization": f"Bearer {key}"}) as client:
        ticket = client.post("/tickets", json=NEW).json()
        url = f"/tickets/{ticket['id']}"
        first = client.patch(url, json={"priority": "high"}, headers={"Idempotency-Key": "p"})
        second = client.patch(url, json={"priority": "low"}, headers={"Idempotency-Key": "p"})
        assert (first.json()["priority"], second.json()["priority"]) == ("high", "low")
