"""Triggers and macros over REST on SQLite and PostgreSQL: defined, refused with a path, run, applied, on record."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services

URGENT = {"all": [{"field": "priority", "op": "equals", "value": "urgent"}]}


@pytest.fixture
def api(served: Services) -> Iterator[dict[str, Any]]:
    keys = {
        role: served.keys.create(actor_id=f"{role}1", role=Role(role), tenant="acme").secret
        for role in ("admin", "agent", "customer")
    }
    served.start_triggers()
    with TestClient(create_app(services=served)) as client:
        yield {"client": client, "as": {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}}


def _put_trigger(api: dict[str, Any], name: str, body: dict[str, Any]) -> Any:
    return api["client"].put(f"/triggers/{name}", json=body, headers=api["as"]["admin"])


def _wait_for(api: dict[str, Any], ticket: str, done: Any) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for _ in range(200):
        found = api["client"].get(f"/tickets/{ticket}", headers=api["as"]["agent"]).json()
        if done(found):
            return found
        time.sleep(0.05)
    return found


def test_a_trigger_defined_over_rest_acts_on_new_tickets_and_its_history_names_rule_version_cause(
    api: dict[str, Any],
) -> None:
    body = {"title": "Urgent to tier 2", "on": ["created"], "conditions": URGENT, "actions": [{"set_group": "tier-2"}]}
    defined = _put_trigger(api, "urgent", body)
    assert defined.status_code == 200, defined.text
    assert (defined.json()["version"], defined.json()["enabled"]) == (1, True)
    changed = _put_trigger(api, "urgent", {**body, "actions": [{"set_group": "tier-2"}, {"add_tags": ["vip"]}]})
    assert changed.json()["version"] == 2

    client, agent = api["client"], api["as"]["agent"]
    opened = client.post(
        "/tickets", json={"title": "Cooling", "requester_id": "bob", "priority": "urgent"}, headers=agent
    )
    ticket = opened.json()["id"]
    found = _wait_for(api, ticket, lambda t: t["group"] is not None)
    assert (found["group"], found["tags"]) == ("tier-2", ["vip"])
    items = client.get(f"/tickets/{ticket}/history", headers=agent).json()["items"]
    fired = next(i for i in items if i["event"] == "TriggerFired")
    assert fired["actor"]["id"] == "trigger:urgent"
    assert fired["via"] == "trigger"
    assert fired["causation_id"] == f"{ticket}@1"
    assert {"field": "trigger_version", "old": None, "new": 2} in fired["changes"]
    assert client.get("/triggers/urgent", params={"version": 1}, headers=agent).json()["actions"] == [
        {"set_group": "tier-2"}
    ]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"conditions": {"all": [{"field": "colour", "op": "equals", "value": "red"}]}}, "conditions/all/0/field"),
        ({"conditions": {"all": [{"field": "tags", "op": "in", "value": "vip"}]}}, "conditions/all/0/value"),
        ({"conditions": {"all": [{"field": "status", "op": "is_set", "value": "x"}]}}, "conditions/all/0/value"),
    ],
)
def test_an_invalid_trigger_is_422_with_the_path_of_its_fault_and_stores_nothing(
    api: dict[str, Any], change: dict[str, Any], path: str
) -> None:
    body = {"title": "Bad", "on": ["created"], "actions": [{"add_tags": ["x"]}], **change}
    refused = _put_trigger(api, "bad", body)
    assert refused.status_code == 422, refused.text
    assert refused.json()["path"] == path
    assert api["client"].get("/triggers", headers=api["as"]["agent"]).json() == {"items": []}


def test_a_macro_is_applied_in_one_change_set_via_macro_and_only_by_staff(api: dict[str, Any]) -> None:
    client, agent = api["client"], api["as"]["agent"]
    macro = {"title": "Need info", "actions": [{"add_note": "Asked for the model"}, {"add_tags": ["info"]}]}
    assert client.put("/macros/need-info", json=macro, headers=api["as"]["admin"]).status_code == 200
    ticket = client.post("/tickets", json={"title": "Printer", "requester_id": "bob"}, headers=agent).json()["id"]
    applied = client.post(f"/tickets/{ticket}/macros/need-info", headers={**agent, "If-Match": '"1"'})
    assert applied.status_code == 200, applied.text
    assert (applied.json()["tags"], applied.headers["etag"]) == (["info"], '"3"')
    items = client.get(f"/tickets/{ticket}/history", headers=agent).json()["items"]
    assert {(i["actor"]["id"], i["via"]) for i in items[1:]} == {("agent1", "macro")}
    stale = client.post(f"/tickets/{ticket}/macros/need-info", headers={**agent, "If-Match": '"1"'})
    assert stale.status_code == 412
    assert client.post(f"/tickets/{ticket}/macros/nope", headers=agent).status_code == 404
    customer = client.post(f"/tickets/{ticket}/macros/need-info", headers=api["as"]["customer"])
    assert customer.status_code == 403
