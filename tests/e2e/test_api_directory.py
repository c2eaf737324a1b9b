"""The directory through the API on SQLite and PostgreSQL: groups, agents, and assignments checked against them."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services


@pytest.fixture
def api(sql_services: Services) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    admin = sql_services.keys.create(actor_id="root", role=Role.ADMIN, tenant="acme").secret
    agent = sql_services.keys.create(actor_id="carol", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=sql_services)) as client:
        yield client, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {agent}"}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_an_admin_shapes_the_directory_and_tickets_follow_it(api: Any) -> None:
    client, admin, agent = api
    assert _ok(client.get("/groups", headers=agent))["items"] == []
    carol = _ok(client.put("/agents/carol", json={"skills": {"networking": 2}, "capacity": 3}, headers=admin))
    assert (carol["groups"], carol["capacity"], carol["available"]) == ([], 3, True)
    it = _ok(client.put("/groups/it", json={"members": ["carol"], "routing": "least_loaded"}, headers=admin))
    assert (it["members"], it["routing"]) == (["carol"], "least_loaded")
    assert _ok(client.get("/agents/carol", headers=agent))["groups"] == ["it"]
    assert client.put("/groups/it", json={"members": ["ghost"]}, headers=admin).status_code == 422
    assert client.put("/groups/it", json={"members": []}, headers=agent).status_code == 403
    assert client.get("/groups/hr", headers=agent).status_code == 404
    assert [a["agent_id"] for a in _ok(client.get("/agents", headers=agent))["items"]] == ["carol"]

    ticket = _ok(
        client.post("/tickets", json={"title": "VPN", "requester_id": "bob", "group": "it"}, headers=agent), 201
    )
    unknown = client.post(f"/tickets/{ticket['id']}/assignment", json={"assignee": "ghost"}, headers=agent)
    assert (unknown.status_code, unknown.json()["type"]) == (422, "urn:ledgerdesk:problem:invalid-value")
    assert (
        client.post("/tickets", json={"title": "x", "requester_id": "bob", "group": "hr"}, headers=agent).status_code
        == 422
    )
    claimed = _ok(client.post(f"/tickets/{ticket['id']}/claim", headers=agent))
    assert claimed["assignee"] == "carol"
