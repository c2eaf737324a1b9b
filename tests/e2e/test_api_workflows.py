"""Workflows through the API on SQLite and PostgreSQL: publish, versions, moves, errors, queues and SLA by category."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services
from tests.support.clock import SettableClock
from tests.unit.test_workflows import REPAIR

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def api(served: Services) -> Iterator[tuple[TestClient, dict[str, dict[str, str]]]]:
    keys = {
        name: served.keys.create(actor_id=f"{name}1", role=role, tenant="acme").secret
        for name, role in (("admin", Role.ADMIN), ("agent", Role.AGENT), ("supervisor", Role.SUPERVISOR))
    }
    keys["customer"] = served.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret
    with TestClient(create_app(services=served)) as client:
        yield client, {name: {"Authorization": f"Bearer {secret}"} for name, secret in keys.items()}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _open(client: TestClient, who: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "Pump broken", "requester_id": "bob", **fields}
    return _ok(client.post("/tickets", json=body, headers=who), 201)


def _move(client: TestClient, who: dict[str, str], ticket: str, to: str, **fields: Any) -> Any:
    return client.post(f"/tickets/{ticket}/transitions", json={"to": to, **fields}, headers=who)


def test_a_published_workflow_runs_new_tickets_of_its_types_and_versions_are_kept(api: Any) -> None:
    client, who = api
    assert [w["name"] for w in _ok(client.get("/workflows", headers=who["agent"]))["items"]] == ["default"]
    published = _ok(client.put("/workflows/repair", json=REPAIR, headers=who["admin"]))
    assert (published["version"], published["initial"], published["transitions"][0]["from"]) == (
        1,
        "reported",
        "reported",
    )
    assert client.put("/workflows/repair", json=REPAIR, headers=who["agent"]).status_code == 403
    broken = {**REPAIR, "transitions": [{"from": "archived", "to": "reported"}]}
    assert client.put("/workflows/repair", json=broken, headers=who["admin"]).status_code == 422
    _ok(client.put("/workflows/repair", json={**REPAIR, "initial": "in_repair"}, headers=who["admin"]))

    ticket = _open(client, who["agent"], type="repair")
    assert (ticket["workflow"], ticket["workflow_version"], ticket["status"], ticket["status_category"]) == (
        "repair",
        2,
        "in_repair",
        "open",
    )
    assert _open(client, who["agent"])["workflow"] == "default"
    assert _ok(client.get("/workflows/repair", params={"version": 1}, headers=who["agent"]))["initial"] == "reported"
    assert client.get("/workflows/repair", params={"version": 3}, headers=who["agent"]).status_code == 404
    assert _ok(client.get("/workflows/default", headers=who["agent"]))["version"] == 1


def test_moves_are_listed_for_the_caller_and_refused_as_the_workflow_says(api: Any) -> None:
    client, who = api
    _ok(client.put("/workflows/repair", json=REPAIR, headers=who["admin"]))
    ticket = _open(client, who["agent"], type="repair")["id"]
    _ok(_move(client, who["agent"], ticket, "in_repair"))

    moves = _ok(client.get(f"/tickets/{ticket}/transitions", headers=who["agent"]))
    assert [(m["to"], m["category"], m["missing"]) for m in moves["moves"]] == [
        ("waiting_for_parts", "pending", []),
        ("repaired", "solved", ["resolution_code"]),
    ]
    illegal = _move(client, who["agent"], ticket, "archived")
    assert (illegal.status_code, illegal.json()["allowed"]) == (409, ["waiting_for_parts", "repaired"])
    missing = _move(client, who["agent"], ticket, "repaired")
    assert (missing.status_code, missing.json()["missing"]) == (422, ["resolution_code"])
    assert _move(client, who["agent"], ticket, "nowhere").status_code == 422
    version = _ok(client.get(f"/tickets/{ticket}", headers=who["agent"]))["version"]

    code = {"resolution_code": {"kind": "text", "value": "replaced seal"}}
    solved = _ok(_move(client, who["agent"], ticket, "repaired", fields=code))
    assert (solved["version"], solved["status_category"]) == (version + 2, "solved")  # the field, then the move
    assert _move(client, who["agent"], ticket, "archived").status_code == 403  # supervisors and admins only
    customer = _ok(client.get(f"/tickets/{ticket}/transitions", headers=who["customer"]))
    assert [m["to"] for m in customer["moves"]] == ["in_repair"]  # a requester may reopen, nothing else
    _ok(_move(client, who["supervisor"], ticket, "archived"))
    assert _ok(client.get(f"/tickets/{ticket}/transitions", headers=who["agent"]))["moves"] == []


def test_a_state_requires_its_fields_of_every_move_into_it_and_a_refused_move_stores_nothing(api: Any) -> None:
    client, who = api
    states = [
        {**s, "required_fields": ["part_number", "supplier"]} if s["name"] == "waiting_for_parts" else s
        for s in REPAIR["states"]
    ]
    _ok(client.put("/fields/supplier", json={"kind": "enum", "options": ["acme", "globex"]}, headers=who["admin"]))
    published = _ok(client.put("/workflows/repair", json={**REPAIR, "states": states}, headers=who["admin"]))
    assert published["states"][0] == {"name": "reported", "category": "new", "required_fields": []}
    assert published["states"][2]["required_fields"] == ["part_number", "supplier"]
    at_start = [{**states[0], "required_fields": ["part_number"]}, *states[1:]]
    refused = client.put("/workflows/repair", json={**REPAIR, "states": at_start}, headers=who["admin"])
    assert refused.status_code == 422
    assert "initial state 'reported' cannot require fields" in refused.json()["detail"]

    ticket = _open(client, who["agent"], type="repair")["id"]
    _ok(_move(client, who["agent"], ticket, "in_repair"))
    moves = _ok(client.get(f"/tickets/{ticket}/transitions", headers=who["agent"]))["moves"]
    assert [(m["to"], m["requires"], m["missing"]) for m in moves] == [
        ("waiting_for_parts", ["part_number", "supplier"], ["part_number", "supplier"]),
        ("repaired", ["resolution_code"], ["resolution_code"]),
    ]
    before = _ok(client.get(f"/tickets/{ticket}/history", headers=who["agent"]))["items"]
    part = {"part_number": {"kind": "text", "value": "P-1138"}}
    missing = _move(client, who["agent"], ticket, "waiting_for_parts", fields=part)
    assert missing.status_code == 422, missing.text
    assert missing.headers["content-type"].startswith("application/problem+json")
    assert (missing.json()["type"], missing.json()["missing"]) == ("urn:ledgerdesk:problem:invalid-value", ["supplier"])
    wrong = _move(client, who["agent"], ticket, "waiting_for_parts", fields={**part, "supplier": _enum("initech")})
    assert "takes only its options: acme, globex" in wrong.json()["detail"]
    assert _ok(client.get(f"/tickets/{ticket}/history", headers=who["agent"]))["items"] == before  # nothing stored

    _ok(client.patch(f"/tickets/{ticket}", json={"custom_fields": {"supplier": _enum("acme")}}, headers=who["agent"]))
    waiting = _ok(_move(client, who["agent"], ticket, "waiting_for_parts", fields=part))
    assert (waiting["status"], waiting["custom_fields"]["part_number"]["value"]) == ("waiting_for_parts", "P-1138")


def _enum(option: str) -> dict[str, str]:
    return {"kind": "enum", "value": option}


def test_queues_reports_and_sla_read_categories(api: Any, clock: SettableClock) -> None:
    client, who = api
    _ok(
        client.put("/sla/policies/standard", json={"position": 1, "targets": {"resolution": 120}}, headers=who["admin"])
    )
    _ok(client.put("/workflows/repair", json=REPAIR, headers=who["admin"]))
    ticket = _open(client, who["agent"], type="repair")["id"]
    _ok(_move(client, who["agent"], ticket, "in_repair"))
    clock.advance(minutes=30)
    waiting = _move(client, who["agent"], ticket, "waiting_for_parts")
    assert waiting.status_code == 200, waiting.text
    position = waiting.headers["ledgerdesk-position"]
    clock.advance(minutes=300)  # waiting for parts (pending) pauses the resolution clock

    params = {"min_position": position}
    queue = _ok(client.get("/queues/unassigned", params=params, headers=who["agent"]))["items"]
    assert [(t["status"], t["status_category"]) for t in queue] == [("waiting_for_parts", "pending")]
    by_state = _ok(client.get("/tickets", params={**params, "status": "waiting_for_parts"}, headers=who["agent"]))
    by_category = _ok(client.get("/tickets", params={**params, "status_category": "pending"}, headers=who["agent"]))
    assert [t["id"] for t in by_state["items"]] == [t["id"] for t in by_category["items"]] == [ticket]
    (resolution,) = _ok(client.get(f"/tickets/{ticket}/sla", params=params, headers=who["agent"]))["targets"]
    assert (resolution["state"], resolution["elapsed_minutes"]) == ("paused", 30)


def test_a_migration_needs_a_complete_mapping_and_moves_open_tickets(api: Any) -> None:
    client, who = api
    _ok(client.put("/workflows/repair", json=REPAIR, headers=who["admin"]))
    ticket = _open(client, who["agent"], type="repair")["id"]
    _ok(_move(client, who["agent"], ticket, "in_repair"))
    waiting = _move(client, who["agent"], ticket, "waiting_for_parts")
    moved, position = _ok(waiting), waiting.headers["ledgerdesk-position"]
    states = [
        s if s["name"] != "waiting_for_parts" else {"name": "on_order", "category": "on_hold"} for s in REPAIR["states"]
    ]
    moves = [t for t in REPAIR["transitions"] if "waiting_for_parts" not in (t["from"], t["to"])]
    _ok(client.put("/workflows/repair", json={**REPAIR, "states": states, "transitions": moves}, headers=who["admin"]))

    refused = client.post("/workflows/repair/migrations", json={"from_version": 1}, headers=who["admin"])
    assert refused.status_code == 422
    assert "waiting_for_parts" in refused.json()["detail"]
    assert _ok(client.get(f"/tickets/{ticket}", headers=who["agent"]))["version"] == moved["version"]
    body = {"from_version": 1, "mapping": {"waiting_for_parts": "on_order"}}
    migration = client.post(
        "/workflows/repair/migrations", json=body, headers={**who["admin"], "Ledgerdesk-Min-Position": position}
    )
    done = _ok(migration)
    assert (done["to_version"], done["migrated"]) == (2, 1)
    after = _ok(client.get(f"/tickets/{ticket}", headers=who["agent"]))
    assert (after["workflow_version"], after["status"], after["status_category"]) == (2, "on_order", "on_hold")
    history = _ok(client.get(f"/tickets/{ticket}/history", headers=who["agent"]))["items"]
    assert history[-1]["event"] == "WorkflowMigrated"
