"""Customer profiles over REST on SQLite and PostgreSQL: set, read, removed, refused; triggers and policies on tiers."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services
from infrastructure.readmodels.rebuild import rebuild

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


def _tiered_policies(client: TestClient, admin: dict[str, str]) -> None:
    gold = {"position": 1, "conditions": {"customer_tiers": ["gold", "platinum"]}, "targets": {"first_response": 15}}
    assert client.put("/sla/policies/gold", json=gold, headers=admin).status_code == 200
    standard = {"position": 9, "targets": {"first_response": 60}}
    assert client.put("/sla/policies/standard", json=standard, headers=admin).status_code == 200


def test_a_policy_names_customer_tiers_and_covers_only_those_customers_tickets(
    api: dict[str, Any], served: Services
) -> None:
    client, admin, agent = api["client"], api["as"]["admin"], api["as"]["agent"]
    client.put("/customers/bob/profile", json=GOLD, headers=admin)
    client.put("/customers/dave/profile", json={"tier": "silver"}, headers=admin)
    client.put("/customers/frank/profile", json={"contract": "C-1"}, headers=admin)  # a profile without a tier
    _tiered_policies(client, admin)
    stored = client.get("/sla/policies/gold", headers=admin).json()
    assert stored["terms"]["conditions"]["customer_tiers"] == ["gold", "platinum"]

    expected = {"bob": "gold", "dave": "standard", "erin": "standard", "frank": "standard"}
    tickets = {
        who: client.post("/tickets", json={"title": "Help", "requester_id": who}, headers=agent).json()["id"]
        for who in expected
    }
    reached = {who: _policy_reached(client, agent, tickets[who], policy) for who, policy in expected.items()}
    assert reached == expected

    # The choice is a fold of the log: a rebuild of the read models from the events answers the same.
    rebuild(served.desk, served.read_models)
    assert {who: _policy_reached(client, agent, tickets[who], policy) for who, policy in expected.items()} == expected


def test_a_tier_set_later_counts_from_the_tickets_next_event(api: dict[str, Any]) -> None:
    client, admin, agent = api["client"], api["as"]["admin"], api["as"]["agent"]
    _tiered_policies(client, admin)
    ticket = client.post("/tickets", json={"title": "Help", "requester_id": "dave"}, headers=agent).json()["id"]
    assert _policy_reached(client, agent, ticket, "standard") == "standard"

    client.put("/customers/dave/profile", json={"tier": "platinum"}, headers=admin)
    noted = client.post(f"/tickets/{ticket}/comments", json={"body": "Looking", "public": False}, headers=agent)
    assert noted.status_code == 201, noted.text
    assert _policy_reached(client, agent, ticket, "gold") == "gold"

    client.delete("/customers/dave/profile", headers=admin)
    client.post(f"/tickets/{ticket}/comments", json={"body": "Still", "public": False}, headers=agent)
    assert _policy_reached(client, agent, ticket, "standard") == "standard"


def test_applying_a_tiered_policy_picks_the_unsolved_tickets_of_those_customers(api: dict[str, Any]) -> None:
    client, admin, agent = api["client"], api["as"]["admin"], api["as"]["agent"]
    opened = {
        who: client.post("/tickets", json={"title": "Help", "requester_id": who}, headers=agent).json()["id"]
        for who in ("bob", "dave")
    }
    client.put("/customers/bob/profile", json=GOLD, headers=admin)
    _tiered_policies(client, admin)
    applied = client.post("/sla/policies/gold/applications", json={}, headers=admin)
    assert applied.status_code == 200, applied.text
    assert applied.json()["tickets"] == 1
    assert _policy_reached(client, agent, opened["bob"], "gold") == "gold"


def test_a_tier_that_is_not_a_slug_is_refused_in_a_policy(api: dict[str, Any]) -> None:
    bad = {"position": 1, "conditions": {"customer_tiers": ["Gold Members"]}, "targets": {"first_response": 15}}
    refused = api["client"].put("/sla/policies/gold", json=bad, headers=api["as"]["admin"])
    assert refused.status_code == 422
    assert "customer tier must be a lowercase slug" in refused.json()["detail"]
