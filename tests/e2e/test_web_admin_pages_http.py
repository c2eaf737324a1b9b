"""The admins' Keys, Users (role, groups, password) and Groups pages over plain HTTP: what they store, what they
refuse, and who may use them."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(Settings(database_url=f"sqlite:///{tmp_path / 'desk.sqlite'}", blob_dir=str(tmp_path)))
    yield built
    built.close()


def _signed_in(services: Services, role: Role) -> Iterator[tuple[TestClient, str]]:
    email, password = f"{role.value}@acme.example", secrets.token_urlsafe(18)
    services.create_user(
        email=email, password=password, actor_id=role.value, role=role, tenant="acme", by=OPERATOR, via="cli"
    )
    with TestClient(create_app(services=services)) as client:
        token = _token(client.get("/login", headers=HTML).text)
        fields = {"email": email, "password": password, "csrf_token": token}
        assert client.post("/login", data=fields, follow_redirects=False).status_code == 303
        yield client, _token(client.get("/admin/keys" if role is Role.ADMIN else "/", headers=HTML).text)


@pytest.fixture
def admin(services: Services) -> Iterator[tuple[TestClient, str]]:
    yield from _signed_in(services, Role.ADMIN)


def test_a_key_issued_on_the_page_is_shown_once_and_a_refused_one_stores_nothing(
    admin: tuple[TestClient, str], services: Services
) -> None:
    client, token = admin
    made = client.post("/admin/keys", data={"csrf_token": token, "actor": "robot", "role": "agent"})
    assert made.status_code == 201
    secret = re.search(r'id="new-secret">([^<]+)<', made.text)
    assert secret is not None
    assert services.keys.authenticate(secret.group(1)) is not None
    assert secret.group(1) not in client.get("/admin/keys", headers=HTML).text
    refused = client.post(
        "/admin/keys", data={"csrf_token": token, "actor": "robot", "role": "customer", "groups": "it"}
    )
    assert refused.status_code == 422
    assert "only agent and supervisor keys may be limited to groups" in refused.text
    assert len(services.keys.records()) == 1
    no_token = client.post("/admin/keys", data={"actor": "robot", "role": "agent"})
    assert no_token.status_code == 403
    assert len(services.keys.records()) == 1


def test_an_admin_changes_a_users_role_and_resets_their_password_on_the_page(
    admin: tuple[TestClient, str], services: Services
) -> None:
    client, token = admin
    first = secrets.token_urlsafe(16)
    user = services.create_user(
        email="ann@acme.example", password=first, actor_id="ann", role=Role.AGENT, tenant="acme", by=OPERATOR, via="cli"
    )
    changed = client.post(
        f"/admin/users/{user.user_id}/access", data={"csrf_token": token, "role": "supervisor", "groups": "it"}
    )
    assert changed.status_code == 200
    found = services.users.get(user.user_id)
    assert found is not None
    assert (found.principal.role, found.principal.actor.groups) == (Role.SUPERVISOR, frozenset({"it"}))
    unfit = client.post(f"/admin/users/{user.user_id}/access", data={"csrf_token": token, "role": "customer"})
    assert unfit.status_code == 422
    reset = client.post(f"/admin/users/{user.user_id}/password-reset", data={"csrf_token": token})
    assert reset.status_code == 200
    password = re.search(r'id="new-password">([^<]+)<', reset.text)
    assert password is not None
    assert services.users.check_password("ann@acme.example", password.group(1)) is not None
    assert services.users.check_password("ann@acme.example", first) is None


def test_groups_and_agents_are_defined_on_the_page_and_a_bad_skill_is_refused(
    admin: tuple[TestClient, str], services: Services
) -> None:
    client, token = admin
    assert (
        client.post("/admin/groups", data={"csrf_token": token, "name": "vpn", "routing": "skills"}).status_code == 200
    )
    agent = {"csrf_token": token, "agent": "ann", "groups": "vpn", "skills": "vpn:3, printers", "capacity": "4"}
    assert client.post("/admin/groups/agents", data=agent).status_code == 200
    entry, groups = services.desk.directory_agent("acme", "ann")
    assert (dict(entry.skills), entry.capacity, entry.available, groups) == (
        {"vpn": 3, "printers": 1},
        4,
        False,
        ["vpn"],
    )
    bad = client.post("/admin/groups/agents", data={**agent, "skills": "vpn:x"})
    assert bad.status_code == 422
    unknown = client.post("/admin/groups/agents", data={**agent, "groups": "nowhere", "skills": ""})
    assert unknown.status_code == 422
    assert dict(services.desk.directory_agent("acme", "ann")[0].skills) == {"vpn": 3, "printers": 1}


@pytest.mark.parametrize("role", [Role.AGENT, Role.SUPERVISOR, Role.AUDITOR, Role.ANALYST])
def test_only_admins_see_the_admin_pages(services: Services, role: Role) -> None:
    for client, _ in _signed_in(services, role):
        for path in ("/admin/keys", "/admin/users", "/admin/groups"):
            assert client.get(path, headers=HTML).status_code == 403, path
        assert 'href="/admin/keys"' not in client.get("/", headers=HTML).text
