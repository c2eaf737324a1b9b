"""Customer profiles over REST on SQLite and PostgreSQL: set, read, removed, refused; a trigger on the tier."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services

GOLD = {
    "tier": "gold",
    "contract": "C-2041",
    "contract_until": "2027-06-30",
    "purchases": ["P-1", "P-2"],
    "attributes": {"seats": 40, "onsite": True, "renewal": "2027-05-01", "region": "emea"},
}


@pytest.fixture
def api(served: Services) -> Iterator[dict[str, Any]]:
    keys = {
        name: served.keys.create(actor_id=f"{name}1", role=role, tenant=tenant).secret
        for name, role, tenant in (
            ("admin", Role.ADMIN, "acme"),
            ("agent", Role.AGENT, "acme"),
            ("customer", Role.CUSTOMER, "acme"),
            ("foreign", Role.ADMIN, "globex"),
        )
    }
    served.start_triggers()
    with TestClient(create_app(services=served)) as client:
        yield {"client": client, "as": {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}}


def test_an_admin_sets_reads_replaces_and_removes_a_profile_staff_read_it(api: dict[str, Any]) -> None:
    client, admin, agent = api["client"], api["as"]["admin"], api["as"]["agent"]
    put = client.put("/customers/bob/profile", json=GOLD, headers=admin)
    assert put.status_code == 200, put.text
    assert put.json() == {"customer_id": "bob", **GOLD, "version": 1}
    assert client.put("/customers/bob/profile", json=GOLD, headers=admin).json()["version"] == 1  # no change
    assert client.get("/customers/bob/profile", headers=agent).json()["attributes"]["renewal"] == "2027-05-01"

    silver = client.put("/customers/bob/profile", json={"tier": "silver"}, headers=admin).json()
    assert (silver["tier"], silver["contract"], silver["purchases"], silver["version"]) == ("silver", None, [], 2)

    assert client.delete("/customers/bob/profile", headers=admin).status_code == 204
    gone = client.get("/customers/bob/profile", headers=agent)
    assert gone.status_code == 404
    assert gone.headers["content-type"] == "application/problem+json"
    assert client.delete("/customers/bob/profile", headers=admin).status_code == 404
    assert client.put("/customers/bob/profile", json=GOLD, headers=admin).json()["version"] == 4


def test_others_may_not_write_or_see_another_tenants_profile(api: dict[str, Any]) -> None:
    client, admin = api["client"], api["as"]["admin"]
    client.put("/customers/bob/profile", json=GOLD, headers=admin)
    for role in ("agent", "customer"):
        refused = client.put("/customers/bob/profile", json={"tier": "bronze"}, headers=api["as"][role])
        assert refused.status_code == 403, role
    assert client.get("/customers/bob/profile", headers=api["as"]["customer"]).status_code == 403
    assert client.get("/customers/bob/profile", headers=api["as"]["foreign"]).status_code == 404
    assert client.delete("/customers/bob/profile", headers=api["as"]["foreign"]).status_code == 404
    assert client.get("/customers/bob/profile", headers=admin).json()["tier"] == "gold"


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"tier": "Gold Members"}, "tier"),
        ({"contract_until": "2027-01-01"}, "contract"),
        ({"purchases": ["bad id"]}, "purchase reference"),
        ({"attributes": {f"a{n}": n for n in range(21)}}, "attributes"),
        ({"attributes": {"note": 1.5}}, "attributes"),
        ({"attributes": {"note": "0" * 201}}, "attributes"),  # too long as text, and text is never read as a number
        ({"contract": "c-1", "contract_until": 0}, "contract_until"),  # a number is no day (no Unix time)
        ({"colour": "red"}, "colour"),
    ],
)
def test_a_bad_profile_is_422_and_records_nothing(api: dict[str, Any], body: dict[str, Any], said: str) -> None:
    client, admin = api["client"], api["as"]["admin"]
    refused = client.put("/customers/carol/profile", json=body, headers=admin)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert said in refused.text
    assert client.get("/customers/carol/profile", headers=admin).status_code == 404


def test_a_trigger_on_the_requesters_tier_fires_for_gold_customers_only(api: dict[str, Any]) -> None:
    client, admin, agent = api["client"], api["as"]["admin"], api["as"]["agent"]
    client.put("/customers/bob/profile", json=GOLD, headers=admin)
    client.put("/customers/dave/profile", json={"tier": "silver"}, headers=admin)
    conditions = {"all": [{"field": "customer.tier", "op": "equals", "value": "gold"}]}
    trigger = {"title": "Gold first", "on": ["created"], "conditions": conditions, "actions": [{"set_group": "gold"}]}
    assert client.put("/triggers/gold-first", json=trigger, headers=admin).status_code == 200
    marker = {"title": "Marker", "on": ["created"], "conditions": None, "actions": [{"add_tags": ["seen"]}]}
    assert client.put("/triggers/marker", json={**marker, "position": 99}, headers=admin).status_code == 200

    tickets = {
        who: client.post("/tickets", json={"title": "Help", "requester_id": who}, headers=agent).json()["id"]
        for who in ("bob", "dave", "erin")
    }
    groups = {who: _when_triggered(client, agent, ticket)["group"] for who, ticket in tickets.items()}
    assert groups == {"bob": "gold", "dave": None, "erin": None}


def test_a_change_test_on_a_customer_field_is_refused_with_its_path(api: dict[str, Any]) -> None:
    conditions = {"all": [{"field": "customer.tier", "op": "changed_to", "value": "gold"}]}
    body = {"title": "Never", "on": ["created"], "conditions": conditions, "actions": [{"set_group": "gold"}]}
    refused = api["client"].put("/triggers/never", json=body, headers=api["as"]["admin"])
    assert refused.status_code == 422
    assert "conditions/all/0/op" in refused.text


def _when_triggered(client: TestClient, agent: dict[str, str], ticket: str) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for _ in range(200):
        found = client.get(f"/tickets/{ticket}", headers=agent).json()
        if "seen" in found["tags"]:
            return found
        time.sleep(0.05)
    return found


def test_gold_customers_tickets_run_under_the_gold_policy_through_a_tagging_trigger(api: dict[str, Any]) -> None:
    client, admin, agent = api["client"], api["as"]["admin"], api["as"]["agent"]
    client.put("/customers/bob/profile", json=GOLD, headers=admin)
    gold = {"position": 1, "conditions": {"tags": ["gold"]}, "targets": {"first_response": 15}}
    assert client.put("/sla/policies/gold", json=gold, headers=admin).status_code == 200
    standard = {"position": 9, "targets": {"first_response": 60}}
    assert client.put("/sla/policies/standard", json=standard, headers=admin).status_code == 200
    conditions = {"all": [{"field": "customer.tier", "op": "equals", "value": "gold"}]}
    tagging = {"title": "Gold", "on": ["created"], "conditions": conditions, "actions": [{"add_tags": ["gold"]}]}
    assert client.put("/triggers/gold", json=tagging, headers=admin).status_code == 200
    marker = {"title": "Marker", "on": ["created"], "conditions": None, "actions": [{"add_tags": ["seen"]}]}
    assert client.put("/triggers/marker", json={**marker, "position": 99}, headers=admin).status_code == 200

    for who, expected in (("bob", "gold"), ("dave", "standard")):
        ticket = client.post("/tickets", json={"title": "Help", "requester_id": who}, headers=agent).json()["id"]
        tags = _when_triggered(client, agent, ticket)["tags"]
        assert ("gold" in tags) is (who == "bob")
        assert _policy_reached(client, agent, ticket, expected) == expected


def _policy_reached(client: TestClient, agent: dict[str, str], ticket: str, expected: str) -> str | None:
    # The SLA read model follows the log: the policy is chosen again as the trigger's tag reaches it.
    policy = None
    for _ in range(200):
        targets = client.get(f"/tickets/{ticket}/sla", headers=agent).json().get("targets", [])  # 404: not read yet
        policy = targets[0]["policy"] if targets else None
        if policy == expected:
            break
        time.sleep(0.05)
    return policy
