"""Customer self-service through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.errors import InvalidValueError
from infrastructure.composition import Services


@pytest.fixture
def services(served: Services) -> Services:
    return served  # on SQLite and PostgreSQL, projections running (tests/e2e/conftest.py)


@pytest.fixture
def app(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as client:
        yield client


def _as(services: Services, actor: str, role: Role) -> dict[str, str]:
    return {"Authorization": f"Bearer {services.keys.create(actor_id=actor, role=role, tenant='acme').secret}"}


def test_a_customer_follows_replies_reopens_and_rates_its_own_ticket(app: TestClient, services: Services) -> None:
    bob, agent = _as(services, "bob", Role.CUSTOMER), _as(services, "alice", Role.AGENT)
    ticket = app.post("/tickets", json={"title": "My invoice is wrong"}, headers=bob).json()["id"]
    url = f"/tickets/{ticket}"
    app.post(f"{url}/comments", json={"body": "checking with finance", "public": False}, headers=agent)
    app.post(f"{url}/comments", json={"body": "We are on it"}, headers=agent)

    seen = app.get(url, headers=bob).json()
    assert [c["body"] for c in seen["comments"]] == ["We are on it"]
    reply = app.post(f"{url}/comments", json={"body": "Thanks!"}, headers=bob)
    assert reply.status_code == 201
    assert [c["body"] for c in reply.json()["comments"]] == ["We are on it", "Thanks!"]
    assert app.post(f"{url}/comments", json={"body": "psst", "public": False}, headers=bob).status_code == 403

    assert app.post(f"{url}/transitions", json={"to": "pending"}, headers=bob).status_code == 403
    assert app.post(f"{url}/rating", json={"rating": 5}, headers=bob).status_code == 403  # not solved yet
    app.post(f"{url}/transitions", json={"to": "solved"}, headers=agent)
    rated = app.post(f"{url}/rating", json={"rating": "bad", "comment": "still wrong"}, headers=bob)
    assert rated.status_code == 200
    assert rated.json()["satisfaction"] == {"scale": "good_bad", "score": 0, "comment": "still wrong"}
    assert app.post(f"{url}/rating", json={"rating": 9}, headers=bob).status_code == 422
    assert app.post(f"{url}/rating", json={"rating": "good"}, headers=agent).status_code == 403
    reopened = app.post(f"{url}/transitions", json={"to": "open"}, headers=bob)
    assert reopened.status_code == 200
    assert reopened.json()["status"] == "open"

    history = app.get(f"{url}/history", headers=agent).json()["items"]
    rating = next(h for h in history if h["event"] == "Rated")
    assert rating["actor"] == {"id": "bob", "kind": "requester", "role": "customer"}
    assert app.get(f"{url}/history", headers=bob).status_code == 403


def test_customers_see_only_their_own_tickets(app: TestClient, services: Services) -> None:
    bob, carol = _as(services, "bob", Role.CUSTOMER), _as(services, "carol", Role.CUSTOMER)
    mine = app.post("/tickets", json={"title": "Bob's problem"}, headers=bob)
    theirs = app.post("/tickets", json={"title": "Carol's problem"}, headers=carol)
    url = f"/tickets/{mine.json()['id']}"

    assert app.get(url, headers=carol).status_code == 404
    assert app.post(f"{url}/comments", json={"body": "me too"}, headers=carol).status_code == 404
    assert app.get(url, params={"version": 1}, headers=bob).status_code == 403
    listed = app.get("/tickets", params={"min_position": theirs.headers["ledgerdesk-position"]}, headers=carol)
    assert [t["title"] for t in listed.json()["items"]] == ["Carol's problem"]
    assert app.get("/queues/unassigned", headers=carol).status_code == 403


def test_a_rating_moves_the_read_model_row(app: TestClient, services: Services) -> None:
    bob, agent = _as(services, "bob", Role.CUSTOMER), _as(services, "alice", Role.AGENT)
    ticket = app.post("/tickets", json={"title": "Rate me"}, headers=bob).json()["id"]
    app.post(f"/tickets/{ticket}/transitions", json={"to": "solved"}, headers=agent)
    rated = app.post(f"/tickets/{ticket}/rating", json={"rating": 4}, headers=bob)
    listed = app.get("/tickets", params={"min_position": rated.headers["ledgerdesk-position"]}, headers=agent)
    assert [(t["title"], t["version"]) for t in listed.json()["items"]] == [("Rate me", 3)]


def test_customers_of_an_organisation_read_its_tickets_but_change_only_their_own(
    app: TestClient, services: Services
) -> None:
    def customer(actor: str, organisation: str | None) -> dict[str, str]:
        key = services.keys.create(actor_id=actor, role=Role.CUSTOMER, tenant="acme", organisation=organisation)
        return {"Authorization": f"Bearer {key.secret}"}

    bob, carol, dave = customer("bob", "initech"), customer("carol", "initech"), customer("dave", None)
    bobs = app.post("/tickets", json={"title": "Initech VPN down"}, headers=bob)
    assert bobs.json()["organisation"] == "initech"  # a customer's tickets are its organisation's
    assert app.post("/tickets", json={"title": "x", "organisation": "globex"}, headers=bob).status_code == 403
    daves = app.post("/tickets", json={"title": "Dave's own"}, headers=dave)
    url = f"/tickets/{bobs.json()['id']}"

    seen = app.get(url, headers=carol)
    assert seen.status_code == 200
    assert seen.json()["title"] == "Initech VPN down"
    assert app.post(f"{url}/comments", json={"body": "same here"}, headers=carol).status_code == 403
    assert app.get(url, headers=dave).status_code == 404  # no organisation: own tickets only
    assert app.get(f"/tickets/{daves.json()['id']}", headers=carol).status_code == 404
    listed = app.get("/tickets", params={"min_position": daves.headers["ledgerdesk-position"]}, headers=carol)
    assert [t["title"] for t in listed.json()["items"]] == ["Initech VPN down"]
    with pytest.raises(InvalidValueError):
        services.keys.create(actor_id="eve", role=Role.AGENT, tenant="acme", organisation="initech")
