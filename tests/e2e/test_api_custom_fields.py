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


# --- searching lists ---------------------------------------------------------------------------------------------


def _titles(client: TestClient, who: dict[str, str], path: str = "/tickets", **params: Any) -> list[str]:
    return sorted(t["title"] for t in _ok(client.get(path, params=params, headers=who))["items"])


@pytest.fixture
def searchable(api: Api) -> tuple[TestClient, dict[str, str], str]:
    """Tickets with fields of every kind (alpha, beta, gamma, delta, epsilon), and the log position after them."""
    client, who = api
    for name, definition in (
        ("severity", SEVERITY),
        ("systems", SYSTEMS),
        ("seats", {"kind": "number"}),
        ("due", {"kind": "date"}),
        ("vip", {"kind": "boolean"}),
        ("note", {"kind": "text"}),
        ("phone", {"kind": "text", "personal": True}),
    ):
        _define(client, who["admin"], name, definition)
    for title, fields in (
        ("alpha", {"severity": "low", "systems": ["vpn", "wifi"], "seats": 3, "due": "2026-01-10", "vip": True}),
        ("beta", {"severity": "high", "systems": ["vpn"], "seats": 10.5, "due": "2026-01-09", "vip": False}),
        ("gamma", {"note": "call back", "phone": "+44 20 7946 0000"}),
    ):
        kinds = {"severity": "enum", "systems": "multi_enum", "seats": "number", "due": "date", "vip": "boolean"}
        typed = {name: {"kind": kinds.get(name, "text"), "value": value} for name, value in fields.items()}
        _open(client, who["agent"], title=title, custom_fields=typed)
    # A value stored before its field was defined may be of another kind: it is not what a search means.
    _open(client, who["agent"], title="delta", custom_fields={"legacy": {"kind": "text", "value": "3"}})
    _define(client, who["admin"], "legacy", {"kind": "number"})
    last = client.post("/tickets", json={"title": "epsilon", "requester_id": "bob"}, headers=who["agent"])
    _ok(last, 201)
    return client, who["agent"], last.headers["ledgerdesk-position"]


#: (filters, the tickets of `searchable` they find).
SEARCHES: list[tuple[dict[str, Any], list[str]]] = [
    ({"field": "severity:low"}, ["alpha"]),
    ({"field": ["severity:low", "severity:high"]}, ["alpha", "beta"]),  # any of one field's values
    ({"field": "systems:vpn"}, ["alpha", "beta"]),  # a multi_enum holds the option
    ({"field": ["systems:vpn", "systems:wifi"]}, ["alpha"]),  # ... every option given
    ({"field": ["systems:vpn", "severity:high"]}, ["beta"]),  # and every field given
    ({"field": "seats:3"}, ["alpha"]),
    ({"field": "seats:3.0"}, ["alpha"]),
    ({"field_gte": "seats:4"}, ["beta"]),
    ({"field_gte": "seats:3", "field_lte": "seats:10.5"}, ["alpha", "beta"]),
    ({"field_lte": "seats:2.5"}, []),
    ({"field_gte": "due:2026-01-10"}, ["alpha"]),
    ({"field_lte": "due:2026-01-09"}, ["beta"]),
    ({"field": "due:2026-01-09"}, ["beta"]),
    ({"field": "vip:true"}, ["alpha"]),
    ({"field": "vip:false"}, ["beta"]),
    ({"field": "note:call back"}, ["gamma"]),
    ({"field": "note:call"}, []),  # text is matched whole
    ({"field": "legacy:3"}, []),  # stored as text before the field was a number
    ({"field": "severity:high", "status": "new"}, ["beta"]),
]
#: (filters, what the 422 says).
REFUSED_SEARCHES: list[tuple[dict[str, Any], str]] = [
    ({"field": "phone:+44 20 7946 0000"}, "custom field 'phone' is personal data, so it cannot be searched"),
    ({"field": "colour:red"}, "custom field 'colour' has no definition, so it cannot be searched"),
    ({"field": "severity:urgent"}, "custom field 'severity' takes only its options: low, medium, high (got urgent)"),
    ({"field": "systems:printer"}, "custom field 'systems' takes only its options: email, vpn, wifi (got printer)"),
    ({"field_gte": "severity:low"}, "cannot be searched with field_gte or field_lte"),
    ({"field": "seats:many"}, "custom field 'seats' is number, so it cannot be searched for 'many'"),
    ({"field": "due:tomorrow"}, "custom field 'due' is date, so it cannot be searched for 'tomorrow'"),
    ({"field": "vip:yes"}, "custom field 'vip' is boolean, so it cannot be searched for 'yes'"),
    ({"field": "severity"}, "query.field.0"),  # not name:value
]


def test_lists_are_searched_by_custom_fields_of_every_kind(searchable: tuple[TestClient, dict[str, str], str]) -> None:
    client, who, position = searchable
    for params, found in SEARCHES:  # one store for all of them: each case costs a request, not a store
        assert _titles(client, who, **params, min_position=position) == found, params


def test_a_search_that_cannot_be_made_is_refused_saying_why(searchable: tuple[TestClient, dict[str, str], str]) -> None:
    client, who, _ = searchable
    for params, said in REFUSED_SEARCHES:
        problem = _problem(client.get("/tickets", params=params, headers=who))
        assert said in problem["detail"], (params, problem)


def test_queues_take_the_same_field_filters(searchable: tuple[TestClient, dict[str, str], str]) -> None:
    client, who, position = searchable
    assert _titles(client, who, "/queues/unassigned", field="systems:wifi", min_position=position) == ["alpha"]


def test_a_saved_view_keeps_field_filters_and_one_that_cannot_be_searched_is_refused(
    searchable: tuple[TestClient, dict[str, str], str], api: Api
) -> None:
    client, who, position = searchable
    admin = api[1]["admin"]
    saving = client.post("/views", json={"name": "vpn", "filters": {"field": ["systems:vpn"]}}, headers=who)
    assert _ok(saving, 201)["filters"] == {"field": ["systems:vpn"]}
    saved_at = {"Ledgerdesk-Min-Position": saving.headers["ledgerdesk-position"]}
    (view,) = _ok(client.get("/views", headers=who | saved_at))["items"]
    assert _titles(client, who, **view["filters"], min_position=position) == ["alpha", "beta"]
    for filters, said in (({"field": ["phone:1"]}, "personal data"), ({"field_lte": ["systems:vpn"]}, "field_gte")):
        problem = _problem(client.post("/views", json={"name": "bad", "filters": filters}, headers=who))
        assert said in problem["detail"]
    assert [v["name"] for v in _ok(client.get("/views", headers=who))["items"]] == ["vpn"]  # nothing more stored

    # A field that becomes personal later cannot be searched from then on: the view's filters say why.
    _define(client, admin, "systems", {**SYSTEMS, "personal": True})
    assert "personal data" in _problem(client.get("/tickets", params=view["filters"], headers=who))["detail"]
