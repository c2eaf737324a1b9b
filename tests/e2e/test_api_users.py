"""Web users administered over the API (`/users`): created, listed, deactivated, on record; on SQLite and PostgreSQL."""

from __future__ import annotations

import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.keys.user_account import UserAccount
from infrastructure.composition import Services
from infrastructure.users import default_actor_id
from tests.support.keys import key


@pytest.fixture
def api(sql_services: Services) -> Iterator[tuple[TestClient, dict[str, str]]]:
    with TestClient(create_app(services=sql_services)) as client:
        yield client, key(sql_services, "boss", Role.ADMIN)


def _new(password: str, **fields: object) -> dict[str, object]:
    return {"email": "ann@acme.example", "password": password, "role": "agent", "groups": ["it"], **fields}


def test_an_admin_creates_lists_and_deactivates_a_user_who_then_cannot_sign_in(
    api: tuple[TestClient, dict[str, str]], sql_services: Services
) -> None:
    client, admin = api
    password = secrets.token_urlsafe(16)
    created = client.post("/users", json=_new(password), headers=admin)
    assert created.status_code == 201, created.text
    user = created.json()
    assert (user["email"], user["role"], user["groups"], user["active"]) == ("ann@acme.example", "agent", ["it"], True)
    assert "password" not in created.text
    listed = client.get("/users", headers=admin).json()["items"]
    assert [u["user_id"] for u in listed] == [user["user_id"]]
    signed_in = sql_services.users.check_password("ann@acme.example", password)
    assert signed_in is not None
    session = sql_services.users.start_session(signed_in, hours=1)

    gone = client.post(f"/users/{user['user_id']}/deactivation", headers=admin)
    assert gone.status_code == 200, gone.text
    assert gone.json()["active"] is False
    assert sql_services.users.check_password("ann@acme.example", password) is None
    assert sql_services.users.session(session.secret) is None  # its sessions ended at once
    again = client.post(f"/users/{user['user_id']}/deactivation", headers=admin)
    assert again.status_code == 200
    record = sql_services.desk.events.get(UserAccount.create_id(user["user_id"]))
    assert [type(e).__name__ for e in record] == ["UserCreated", "UserDeactivated"]  # the second changed nothing
    assert all(e.actor_id == "boss" for e in record)


def test_refusals_store_nothing(api: tuple[TestClient, dict[str, str]], sql_services: Services) -> None:
    client, admin = api
    short = client.post("/users", json=_new("short"), headers=admin)
    assert short.status_code == 422
    assert short.headers["content-type"].startswith("application/problem+json")
    customer_in_group = client.post("/users", json=_new(secrets.token_urlsafe(16), role="customer"), headers=admin)
    assert customer_in_group.status_code == 422
    first = client.post("/users", json=_new(secrets.token_urlsafe(16)), headers=admin)
    taken = client.post("/users", json=_new(secrets.token_urlsafe(16)), headers=admin)
    assert (first.status_code, taken.status_code) == (201, 422)
    assert len(client.get("/users", headers=admin).json()["items"]) == 1


def test_another_tenants_users_are_not_found_nor_listed(
    api: tuple[TestClient, dict[str, str]], sql_services: Services
) -> None:
    client, admin = api
    other = key(sql_services, "root", Role.ADMIN, tenant="globex")
    theirs = client.post("/users", json=_new(secrets.token_urlsafe(16)), headers=other).json()
    assert client.get("/users", headers=admin).json()["items"] == []
    refused = client.post(f"/users/{theirs['user_id']}/deactivation", headers=admin)
    assert refused.status_code == 404
    assert client.get("/users", headers=other).json()["items"][0]["active"] is True


def test_an_address_that_is_no_id_gets_an_actor_id_made_from_it(api: tuple[TestClient, dict[str, str]]) -> None:
    client, admin = api
    made = client.post("/users", json=_new(secrets.token_urlsafe(16), email="Zhāng=San@Example.cn"), headers=admin)
    assert made.status_code == 201, made.text
    assert made.json()["actor_id"] == default_actor_id("zhāng=san@example.cn")
    assert made.json()["actor_id"].startswith("user-")
    assert default_actor_id(" Ann@Acme.example ") == "ann@acme.example"


def test_an_admin_changes_a_users_role_and_groups_on_record(
    api: tuple[TestClient, dict[str, str]], sql_services: Services
) -> None:
    client, admin = api
    user = client.post("/users", json=_new(secrets.token_urlsafe(16)), headers=admin).json()
    changed = client.put(
        f"/users/{user['user_id']}/access", json={"role": "supervisor", "groups": ["it", "billing"]}, headers=admin
    )
    assert changed.status_code == 200, changed.text
    assert (changed.json()["role"], changed.json()["groups"]) == ("supervisor", ["billing", "it"])
    found = sql_services.users.get(user["user_id"])
    assert found is not None
    assert found.principal.role is Role.SUPERVISOR  # their next request acts as a supervisor
    same = client.put(
        f"/users/{user['user_id']}/access", json={"role": "supervisor", "groups": ["billing", "it"]}, headers=admin
    )
    assert same.status_code == 200
    every = client.put(f"/users/{user['user_id']}/access", json={"role": "agent", "groups": None}, headers=admin)
    assert every.json()["groups"] is None
    record = list(sql_services.desk.events.get(UserAccount.create_id(user["user_id"])))
    assert [type(e).__name__ for e in record] == ["UserCreated", "UserAccessChanged", "UserAccessChanged"]
    assert [getattr(e, "groups", None) for e in record][1:] == [["billing", "it"], None]


def test_a_change_that_does_not_fit_is_refused_and_stores_nothing(
    api: tuple[TestClient, dict[str, str]], sql_services: Services
) -> None:
    client, admin = api
    user = client.post("/users", json=_new(secrets.token_urlsafe(16)), headers=admin).json()
    for body in ({"role": "customer", "groups": None}, {"role": "admin", "groups": ["it"]}, {"role": "wizard"}):
        refused = client.put(f"/users/{user['user_id']}/access", json=body, headers=admin)
        assert refused.status_code == 422, (body, refused.text)
    other = key(sql_services, "root", Role.ADMIN, tenant="globex")
    foreign = client.put(f"/users/{user['user_id']}/access", json={"role": "admin", "groups": None}, headers=other)
    assert foreign.status_code == 404
    assert client.post(f"/users/{user['user_id']}/password-reset", headers=other).status_code == 404
    record = sql_services.desk.events.get(UserAccount.create_id(user["user_id"]))
    assert [type(e).__name__ for e in record] == ["UserCreated"]


def test_a_password_reset_shows_the_new_password_once_and_ends_the_sessions(
    api: tuple[TestClient, dict[str, str]], sql_services: Services
) -> None:
    client, admin = api
    first = secrets.token_urlsafe(16)
    user = client.post("/users", json=_new(first), headers=admin).json()
    signed_in = sql_services.users.check_password("ann@acme.example", first)
    assert signed_in is not None
    session = sql_services.users.start_session(signed_in, hours=1)
    reset = client.post(f"/users/{user['user_id']}/password-reset", headers=admin)
    assert reset.status_code == 200, reset.text
    new = reset.json()["password"]
    assert len(new) >= 20
    assert sql_services.users.session(session.secret) is None
    assert sql_services.users.check_password("ann@acme.example", first) is None
    assert sql_services.users.check_password("ann@acme.example", new) is not None
    assert new not in client.get("/users", headers=admin).text
    record = list(sql_services.desk.events.get(UserAccount.create_id(user["user_id"])))
    assert [type(e).__name__ for e in record] == ["UserCreated", "UserPasswordReset"]
    assert new not in repr(record)
    client.post(f"/users/{user['user_id']}/deactivation", headers=admin)
    assert client.post(f"/users/{user['user_id']}/password-reset", headers=admin).status_code == 422
