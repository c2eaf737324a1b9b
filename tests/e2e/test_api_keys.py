"""API keys administered over the API (`/keys`): issued, listed, rotated, revoked, on record; SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.keys.api_key import ApiKey
from infrastructure.composition import Services
from tests.support.keys import key


@pytest.fixture
def api(served: Services) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(services=served)) as client:
        yield client, key(served, "boss", Role.ADMIN)


def _bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


def test_a_secret_is_shown_once_and_never_listed(api: tuple[TestClient, dict[str, str]], served: Services) -> None:
    client, admin = api
    made = client.post("/keys", json={"actor": "robot", "role": "agent", "groups": ["it"]}, headers=admin)
    assert made.status_code == 201, made.text
    issued = made.json()
    assert made.headers["cache-control"] == "no-store"
    assert issued["secret"].startswith(f"ldk_{issued['key_id']}_")
    held = (issued["actor_id"], issued["role"], issued["groups"], issued["revoked_at"])
    assert held == ("robot", "agent", ["it"], None)
    me = client.get("/me", headers=_bearer(issued["secret"]))
    assert me.status_code == 200, me.text
    listed = client.get("/keys", headers=admin)
    assert listed.status_code == 200
    assert issued["key_id"] in [k["key_id"] for k in listed.json()["items"]]
    assert issued["secret"] not in listed.text
    assert "secret" not in listed.text
    record = served.desk.events.get(ApiKey.create_id(issued["key_id"]))
    assert [type(e).__name__ for e in record] == ["KeyCreated"]
    assert issued["secret"] not in repr(record)  # the secret is never part of an event


def test_rotation_gives_a_new_secret_and_the_old_one_stops_working(api: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = api
    old = client.post("/keys", json={"actor": "robot", "role": "agent"}, headers=admin).json()
    assert client.get("/me", headers=_bearer(old["secret"])).status_code == 200  # now known to the key cache
    rotated = client.post(f"/keys/{old['key_id']}/rotation", headers=admin)
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()
    assert new["key_id"] == old["key_id"]
    assert new["secret"] != old["secret"]
    assert new["rotated_at"] is not None
    assert client.get("/me", headers=_bearer(old["secret"])).status_code == 401
    assert client.get("/me", headers=_bearer(new["secret"])).json()["actor_id"] == "robot"
    listed = client.get("/keys", headers=admin).json()["items"]
    assert [k["rotated_at"] for k in listed if k["key_id"] == old["key_id"]] == [new["rotated_at"]]


def test_a_revoked_key_is_refused_and_gets_no_new_secret(api: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = api
    made = client.post("/keys", json={"actor": "robot", "role": "supervisor"}, headers=admin).json()
    assert client.get("/me", headers=_bearer(made["secret"])).status_code == 200
    revoked = client.post(f"/keys/{made['key_id']}/revocation", headers=admin)
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    assert client.get("/me", headers=_bearer(made["secret"])).status_code == 401
    again = client.post(f"/keys/{made['key_id']}/revocation", headers=admin)
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]  # revoking again changes nothing
    assert client.post(f"/keys/{made['key_id']}/rotation", headers=admin).status_code == 404


def test_another_tenants_keys_are_neither_listed_nor_reached(
    api: tuple[TestClient, dict[str, str]], served: Services
) -> None:
    client, admin = api
    other = key(served, "root", Role.ADMIN, tenant="globex")
    theirs = client.post("/keys", json={"actor": "robot", "role": "agent"}, headers=other).json()
    assert theirs["key_id"] not in client.get("/keys", headers=admin).text
    for step in ("rotation", "revocation"):
        refused = client.post(f"/keys/{theirs['key_id']}/{step}", headers=admin)
        assert refused.status_code == 404, refused.text
        assert refused.headers["content-type"].startswith("application/problem+json")
    assert client.get("/me", headers=_bearer(theirs["secret"])).status_code == 200
    mine = client.post("/keys", json={"actor": "robot", "role": "admin"}, headers=admin).json()
    assert client.get("/me", headers=_bearer(mine["secret"])).json()["tenant"] == "acme"  # always the caller's


def test_only_admins_administer_keys(api: tuple[TestClient, dict[str, str]], served: Services) -> None:
    client, _ = api
    for role in (Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ANALYST, Role.CUSTOMER):
        caller = key(served, f"{role.value}1", role)
        assert client.get("/keys", headers=caller).status_code == 403
        assert client.post("/keys", json={"actor": "x", "role": "admin"}, headers=caller).status_code == 403


def test_refusals_store_nothing(api: tuple[TestClient, dict[str, str]], served: Services) -> None:
    client, admin = api
    before = client.get("/keys", headers=admin).json()["items"]
    for body in (
        {"actor": "robot", "role": "customer", "groups": ["it"]},  # groups are for agents and supervisors
        {"actor": "robot", "role": "agent", "organisation": "globex"},  # organisations for customers
        {"actor": "robot", "role": "wizard"},
        {"actor": "robot", "role": "agent", "tenant": "globex"},  # the tenant is the caller's, never chosen
    ):
        refused = client.post("/keys", json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)
    assert client.get("/keys", headers=admin).json()["items"] == before


def test_key_administration_is_in_the_privileged_actions_report(
    api: tuple[TestClient, dict[str, str]], served: Services
) -> None:
    client, admin = api
    made = client.post("/keys", json={"actor": "robot", "role": "agent"}, headers=admin).json()
    client.post(f"/keys/{made['key_id']}/rotation", headers=admin)
    last = client.post(f"/keys/{made['key_id']}/revocation", headers=admin)
    assert last.status_code == 200
    today = served.desk.clock().date()  # the test clock's day
    window = {"from": str(today - timedelta(days=1)), "to": str(today + timedelta(days=1))}
    report = client.get(
        "/audit/reports/privileged", params={**window, "min_position": _head(client, admin)}, headers=admin
    ).json()
    assert {"KeyCreated", "KeyRotated", "KeyRevoked"} <= set(report["event_types"])
    counted = {(i["event_type"], i["actor_id"]) for i in report["items"]}
    assert {("KeyCreated", "boss"), ("KeyRotated", "boss"), ("KeyRevoked", "boss")} <= counted


def _head(client: TestClient, admin: dict[str, str]) -> str:
    """A log position at or after every write so far (the answer of a write names its own)."""
    opened = client.post("/tickets", json={"title": "Marker", "requester_id": "bob"}, headers=admin)
    return opened.headers["ledgerdesk-position"]
