"""Claim, transfer, open into a group and GET /me through the API, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services

AGENTS = [f"agent{i}" for i in range(8)]


@pytest.fixture
def api(sql_services: Services) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    keys = {name: sql_services.keys.create(actor_id=name, role=Role.AGENT, tenant="acme").secret for name in AGENTS}
    keys["nina"] = sql_services.keys.create(actor_id="nina", role=Role.AGENT, tenant="acme", groups=["network"]).secret
    keys["bob"] = sql_services.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret
    with TestClient(create_app(services=sql_services)) as client:
        yield client, {name: {"Authorization": f"Bearer {secret}"} for name, secret in keys.items()}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def test_of_many_agents_claiming_at_once_one_wins_and_the_others_are_told_who(api: Any) -> None:
    client, who = api
    ticket = _ok(
        client.post("/tickets", json={"title": "VPN", "requester_id": "bob", "group": "it"}, headers=who["agent0"]), 201
    )
    start = threading.Barrier(len(AGENTS))
    answers: dict[str, Any] = {}

    def claim(agent: str) -> None:
        start.wait()
        answers[agent] = client.post(f"/tickets/{ticket['id']}/claim", headers=who[agent])

    threads = [threading.Thread(target=claim, args=(agent,)) for agent in AGENTS]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    won = [agent for agent, answer in answers.items() if answer.status_code == 200]
    assert len(won) == 1, {a: r.text for a, r in answers.items()}
    for agent, answer in answers.items():
        if agent not in won:
            assert answer.status_code == 409, answer.text
            assert answer.json()["type"] == "urn:ledgerdesk:problem:already-claimed"
            assert answer.json()["assignee"] == won[0]
    final = _ok(client.get(f"/tickets/{ticket['id']}", headers=who["agent0"]))
    assert (final["assignee"], final["group"], final["version"]) == (won[0], "it", 3)


def test_a_transfer_needs_a_reason_and_keeps_it(api: Any) -> None:
    client, who = api
    ticket = _ok(client.post("/tickets", json={"title": "VPN", "requester_id": "bob"}, headers=who["agent0"]), 201)
    url = f"/tickets/{ticket['id']}/transfer"
    assert client.post(url, json={"group": "network"}, headers=who["agent0"]).status_code == 422
    moved = _ok(client.post(url, json={"group": "network", "reason": "routing issue"}, headers=who["agent0"]))

    assert moved["group"] == "network"
    assert [(c["public"], c["body"]) for c in moved["comments"]] == [(False, "Transferred: routing issue")]
    outside = client.post(url, json={"group": "it", "reason": "x"}, headers=who["nina"])
    assert outside.status_code == 403  # a key limited to network routes only there


def test_me_says_who_the_caller_is(api: Any) -> None:
    client, who = api
    me = _ok(client.get("/me", headers=who["nina"]))
    assert (me["actor_id"], me["actor_kind"], me["role"], me["tenant"], me["groups"]) == (
        "nina",
        "agent",
        "agent",
        "acme",
        ["network"],
    )
    customer = _ok(client.get("/me", headers=who["bob"]))
    assert (customer["actor_kind"], customer["groups"]) == ("requester", None)
    assert client.post("/tickets", json={"title": "x", "group": "it"}, headers=who["bob"]).status_code == 403


def test_links_show_on_both_tickets_and_children_hold_their_parent(api: Any) -> None:
    client, who = api
    agent = who["agent0"]
    first = _ok(client.post("/tickets", json={"title": "Outage", "requester_id": "bob"}, headers=agent), 201)["id"]
    second = _ok(client.post("/tickets", json={"title": "No mail", "requester_id": "bob"}, headers=agent), 201)["id"]

    linked = _ok(client.post(f"/tickets/{second}/links", json={"type": "caused_by", "ticket_id": first}, headers=agent))
    assert linked["links"] == [{"type": "caused_by", "ticket_id": first}]
    assert _ok(client.get(f"/tickets/{first}", headers=agent))["links"] == [{"type": "causes", "ticket_id": second}]
    history = _ok(client.get(f"/tickets/{first}/history", headers=agent))["items"]
    assert history[-1]["changes"] == [{"field": "links.causes", "old": None, "new": second}]
    unlinked = _ok(client.delete(f"/tickets/{first}/links/causes/{second}", headers=agent))
    assert unlinked["links"] == []
    assert (
        client.post(
            f"/tickets/{first}/links", json={"type": "parent_of", "ticket_id": second}, headers=agent
        ).status_code
        == 422
    )

    child = _ok(
        client.post(
            "/tickets", json={"title": "Swap switch", "requester_id": "bob", "parent_id": first}, headers=agent
        ),
        201,
    )
    assert child["links"] == [{"type": "child_of", "ticket_id": first}]
    refused = client.post(f"/tickets/{first}/transitions", json={"to": "solved"}, headers=agent)
    assert (refused.status_code, refused.json()["type"]) == (409, "urn:ledgerdesk:problem:illegal-transition")
    _ok(client.post(f"/tickets/{child['id']}/transitions", json={"to": "solved"}, headers=agent))
    _ok(client.post(f"/tickets/{first}/transitions", json={"to": "solved"}, headers=agent))
    events = [e["event"] for e in _ok(client.get(f"/tickets/{first}/history", headers=agent))["items"]]
    assert "ChildSolved" in events


def test_a_bulk_change_is_one_command_per_ticket_and_reports_each(api: Any) -> None:
    client, who = api
    agent = who["agent0"]
    opened = [
        _ok(client.post("/tickets", json={"title": f"Printer {i}", "requester_id": "bob"}, headers=agent), 201)["id"]
        for i in range(3)
    ]
    _ok(client.post(f"/tickets/{opened[2]}/transitions", json={"to": "solved"}, headers=agent))
    _ok(client.post(f"/tickets/{opened[2]}/transitions", json={"to": "closed"}, headers=agent))
    missing = "00000000-0000-4000-8000-000000000000"

    done = client.post("/tickets/bulk", json={"tickets": [*opened, missing], "assign": {"group": "it"}}, headers=agent)
    body = _ok(done)

    assert body["changed"] == 2
    assert [(r["status"], r["type"]) for r in body["results"]] == [
        (200, None),
        (200, None),
        (409, "urn:ledgerdesk:problem:ticket-closed"),
        (404, "urn:ledgerdesk:problem:not-found"),
    ]
    assert done.headers["ledgerdesk-position"] == str(body["position"])
    assert _ok(client.get(f"/tickets/{opened[0]}", headers=agent))["group"] == "it"
    both = {"tickets": opened, "priority": "high", "add_tags": ["x"]}
    assert client.post("/tickets/bulk", json=both, headers=agent).status_code == 422
    assert (
        client.post("/tickets/bulk", json={"tickets": opened, "priority": "high"}, headers=who["bob"]).status_code
        == 403
    )
