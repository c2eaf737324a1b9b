"""Editing a title and description through the API on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services

Who = dict[str, dict[str, str]]


@pytest.fixture
def api(served: Services) -> Iterator[tuple[TestClient, Who, Services]]:
    keys = {
        "carol": served.keys.create(actor_id="carol", role=Role.AGENT, tenant="acme").secret,
        "bob": served.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret,
        "boss": served.keys.create(actor_id="boss", role=Role.ADMIN, tenant="acme").secret,
        "zed": served.keys.create(actor_id="zed", role=Role.AGENT, tenant="globex").secret,
    }
    with TestClient(create_app(services=served)) as client:
        yield client, {name: {"Authorization": f"Bearer {secret}"} for name, secret in keys.items()}, served


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _open(client: TestClient, who: Who, title: str) -> str:
    body = {"title": title, "requester_id": "bob"}
    ticket_id: str = _ok(client.post("/tickets", json=body, headers=who["carol"]), 201)["id"]
    return ticket_id


def test_a_patch_retitles_and_redescribes_old_to_new_and_lists_the_new_title(api: Any) -> None:
    client, who, _ = api
    ticket = _open(client, who, "Printr broken")
    patch = {"title": "Printer broken on floor 3", "description": "Paper jam, then smoke"}

    changed = client.patch(f"/tickets/{ticket}", json=patch, headers=who["carol"])
    same = _ok(client.patch(f"/tickets/{ticket}", json=patch, headers=who["carol"]))

    body = _ok(changed)
    assert (body["title"], body["description"], body["version"]) == (*patch.values(), 3)
    assert same["version"] == 3  # unchanged values record nothing
    history = _ok(client.get(f"/tickets/{ticket}/history", headers=who["carol"]))["items"]
    assert [(e["event"], e["changes"]) for e in history[-2:]] == [
        ("TitleChanged", [{"field": "title", "old": "Printr broken", "new": "Printer broken on floor 3"}]),
        ("DescriptionChanged", [{"field": "description", "old": "", "new": "Paper jam, then smoke"}]),
    ]
    listed = _ok(
        client.get("/tickets", params={"min_position": changed.headers["ledgerdesk-position"]}, headers=who["carol"])
    )
    assert [row["title"] for row in listed["items"] if row["id"] == ticket] == ["Printer broken on floor 3"]
    found = _ok(client.get("/tickets", params={"q": "floor 3"}, headers=who["carol"]))
    assert [row["id"] for row in found["items"]] == [ticket]
    assert client.patch(f"/tickets/{ticket}", json={"title": ""}, headers=who["carol"]).status_code == 422
    assert client.patch(f"/tickets/{ticket}", json={"title": "Mine"}, headers=who["bob"]).status_code == 403
