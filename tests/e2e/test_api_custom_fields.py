"""Typed custom fields through the API on SQLite and PostgreSQL: definitions with options, values set by PATCH."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings

SEVERITY = {"kind": "enum", "options": ["low", "medium", "high"]}
SYSTEMS = {"kind": "multi_enum", "options": ["email", "vpn", "wifi"]}

Api = tuple[TestClient, dict[str, dict[str, str]]]


@pytest.fixture
def api(served: Services) -> Iterator[Api]:
    keys = {
        name: served.keys.create(actor_id=f"{name}1", role=role, tenant="acme").secret
        for name, role in (("admin", Role.ADMIN), ("agent", Role.AGENT))
    }
    with TestClient(create_app(services=served)) as client:
        yield client, {name: {"Authorization": f"Bearer {secret}"} for name, secret in keys.items()}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _problem(response: Any, status: int = 422) -> dict[str, Any]:
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    problem: dict[str, Any] = response.json()
    return problem


def _define(client: TestClient, who: dict[str, str], name: str, definition: dict[str, Any]) -> dict[str, Any]:
    return _ok(client.put(f"/fields/{name}", json=definition, headers=who))


def _open(client: TestClient, who: dict[str, str], **fields: Any) -> dict[str, Any]:
    body = {"title": "VPN drops", "requester_id": "bob", **fields}
    return _ok(client.post("/tickets", json=body, headers=who), 201)


def _patch(client: TestClient, who: dict[str, str], ticket: str, **fields: Any) -> Any:
    return client.patch(f"/tickets/{ticket}", json={"custom_fields": fields}, headers=who)


def test_enum_and_multi_enum_fields_name_their_options(api: Api) -> None:
    client, who = api
    assert _define(client, who["admin"], "severity", SEVERITY) == {
        "name": "severity",
        "kind": "enum",
        "options": ["low", "medium", "high"],
        "personal": False,
        "version": 1,
    }
    assert _define(client, who["admin"], "systems", SYSTEMS)["options"] == ["email", "vpn", "wifi"]
    assert _define(client, who["admin"], "seats", {"kind": "number"})["options"] is None
    for bad, said in (
        ({"kind": "enum"}, "names its options"),
        ({"kind": "multi_enum", "options": []}, None),
        ({"kind": "enum", "options": ["low", "low"]}, None),
        ({"kind": "enum", "options": ["Low"]}, None),
        ({"kind": "text", "options": ["low"]}, "only enum and multi_enum fields name options"),
    ):
        problem = _problem(client.put("/fields/other", json=bad, headers=who["admin"]))
        assert said is None or said in problem["detail"], problem
    assert client.get("/fields/other", headers=who["agent"]).status_code == 404
    listed = _ok(client.get("/fields", headers=who["agent"]))["items"]
    assert [(d["name"], d["options"]) for d in listed] == [
        ("seats", None),
        ("severity", ["low", "medium", "high"]),
        ("systems", ["email", "vpn", "wifi"]),
    ]


def test_values_are_set_by_patch_old_to_new_and_refused_outside_the_options(api: Api) -> None:
    client, who = api
    _define(client, who["admin"], "severity", SEVERITY)
    _define(client, who["admin"], "systems", SYSTEMS)
    ticket = _open(client, who["agent"], custom_fields={"severity": {"kind": "enum", "value": "low"}})
    url = f"/tickets/{ticket['id']}"

    refused = _problem(_patch(client, who["agent"], ticket["id"], severity={"kind": "enum", "value": "urgent"}))
    assert refused["detail"] == "custom field 'severity' takes only its options: low, medium, high (got urgent)"
    refused = _problem(
        _patch(
            client,
            who["agent"],
            ticket["id"],
            severity={"kind": "enum", "value": "high"},  # valid, but the patch is refused whole
            systems={"kind": "multi_enum", "value": ["vpn", "printer"]},
        )
    )
    assert "'systems' takes only its options: email, vpn, wifi (got printer)" in refused["detail"]
    _problem(_patch(client, who["agent"], ticket["id"], systems={"kind": "multi_enum", "value": ["vpn", "vpn"]}))
    _problem(_patch(client, who["agent"], ticket["id"], systems={"kind": "enum", "value": "vpn"}))
    assert _ok(client.get(url, headers=who["agent"]))["version"] == 1  # nothing stored

    patched = _ok(
        _patch(
            client,
            who["agent"],
            ticket["id"],
            severity={"kind": "enum", "value": "high"},
            systems={"kind": "multi_enum", "value": ["wifi", "vpn"]},
        )
    )
    assert patched["custom_fields"] == {
        "severity": {"kind": "enum", "value": "high"},
        "systems": {"kind": "multi_enum", "value": ["vpn", "wifi"]},
    }
    same_options = _patch(client, who["agent"], ticket["id"], systems={"kind": "multi_enum", "value": ["vpn", "wifi"]})
    assert _ok(same_options)["version"] == patched["version"]  # the same options, another order: nothing to record
    history = _ok(client.get(f"{url}/history", headers=who["agent"]))["items"]
    changes = [c for entry in history[1:] for c in entry["changes"]]
    assert changes == [
        {
            "field": "custom_fields.severity",
            "old": {"kind": "enum", "value": "low"},
            "new": {"kind": "enum", "value": "high"},
        },
        {"field": "custom_fields.systems", "old": None, "new": {"kind": "multi_enum", "value": ["vpn", "wifi"]}},
    ]


def test_a_definition_stored_before_options_existed_reads_as_any_option(sqlite_settings: Settings) -> None:
    """A stored version-2 `FieldDefined` (no options) is upcast on reading: the enum takes any option, as before."""
    services = build_services(sqlite_settings.model_copy(update={"aggregate_cache_size": 0}))
    try:
        admin = services.keys.create(actor_id="admin1", role=Role.ADMIN, tenant="acme").secret
        who = {"Authorization": f"Bearer {admin}"}
        with TestClient(create_app(services=services)) as client:
            _define(client, who, "region", {"kind": "enum", "options": ["emea"]})
            with sqlite3.connect(sqlite_settings.database_url.removeprefix("sqlite:///")) as db:
                rows = db.execute("SELECT rowid, state FROM stored_events WHERE topic LIKE '%FieldDefined'").fetchall()
                assert len(rows) == 1
                state = json.loads(rows[0][1])
                del state["options"]
                state["class_version"] = 2  # as version 2 stored it
                db.execute(
                    "UPDATE stored_events SET state = ? WHERE rowid = ?", (json.dumps(state).encode(), rows[0][0])
                )
            assert _ok(client.get("/fields/region", headers=who))["options"] is None
            opened = _open(client, who, custom_fields={"region": {"kind": "enum", "value": "apac"}})
            assert opened["custom_fields"]["region"] == {"kind": "enum", "value": "apac"}
    finally:
        services.close()


def test_erased_personal_fields_of_every_kind_read_as_erased(api: Api) -> None:
    # A personal date, number or multi_enum field of an erased requester used to fail the ticket's read with 500:
    # its value, `[erased]`, is no longer of the kind's form.
    client, who = api
    values = {
        "born": {"kind": "date", "value": "1990-01-01"},
        "seats": {"kind": "number", "value": 3},
        "likes": {"kind": "multi_enum", "value": ["vpn"]},
        "plan": {"kind": "enum", "value": "gold"},
        "vip": {"kind": "boolean", "value": True},
        "contact": {"kind": "text", "value": "+44 20 7946 0000"},
    }
    for name, value in values.items():
        definition = {"kind": value["kind"], "personal": True}
        if value["kind"] in ("enum", "multi_enum"):
            definition["options"] = value["value"] if isinstance(value["value"], list) else [value["value"]]
        _define(client, who["admin"], name, definition)
    ticket = _open(client, who["agent"], custom_fields=values)
    assert ticket["custom_fields"] == values

    erased = _ok(client.post("/privacy/erasures", json={"person_id": "bob"}, headers=who["admin"]))
    shown = _ok(client.get(f"/tickets/{ticket['id']}", headers=who["agent"]))["custom_fields"]
    assert shown == {name: {"kind": value["kind"], "value": "[erased]"} for name, value in values.items()}
    listed = client.get("/tickets", headers=who["agent"] | {"Ledgerdesk-Min-Position": str(erased["position"])})
    assert _ok(listed)["items"][0]["custom_fields"]["born"]["value"] == "[erased]"
