"""The admins' "Users" page over plain HTTP: add a user, refuse a bad form, deactivate; only admins; tokens checked."""

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
from domain.keys.user_account import UserAccount
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}
PAGE = "/admin/users"


def _token(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found is not None
    return found.group(1)


@pytest.fixture
def services(tmp_path: Path) -> Iterator[Services]:
    built = build_services(Settings(database_url=f"sqlite:///{tmp_path / 'desk.sqlite'}", blob_dir=str(tmp_path)))
    yield built
    built.close()


def _signed_in(services: Services, role: Role) -> Iterator[TestClient]:
    email, password = f"{role.value}@acme.example", secrets.token_urlsafe(18)
    services.create_user(
        email=email, password=password, actor_id=role.value, role=role, tenant="acme", by=OPERATOR, via="cli"
    )
    with TestClient(create_app(services=services)) as client:
        token = _token(client.get("/login", headers=HTML).text)
        fields = {"email": email, "password": password, "csrf_token": token}
        assert client.post("/login", data=fields, follow_redirects=False).status_code == 303
        yield client


@pytest.fixture
def admin(services: Services) -> Iterator[TestClient]:
    yield from _signed_in(services, Role.ADMIN)


def test_an_admin_adds_a_user_who_signs_in_and_then_deactivates_them(admin: TestClient, services: Services) -> None:
    page = admin.get(PAGE, headers=HTML)
    assert page.status_code == 200
    assert 'href="/admin/users"' in page.text  # the header links the page for admins
    password = secrets.token_urlsafe(16)
    form = {"email": "Ann@Acme.example", "password": password, "role": "agent", "groups": "it, network"}
    added = admin.post(PAGE, data={**form, "csrf_token": _token(page.text)}, follow_redirects=False)
    assert added.status_code == 303
    listed = admin.get(added.headers["location"], headers=HTML)
    assert "ann@acme.example was added" in listed.text
    ann = services.users.find("ann@acme.example")
    assert ann is not None
    assert ann.principal.actor.groups == frozenset({"it", "network"})
    assert services.users.check_password("ann@acme.example", password) is not None

    gone = admin.post(
        f"{PAGE}/{ann.user_id}/deactivation", data={"csrf_token": _token(listed.text)}, follow_redirects=False
    )
    assert gone.status_code == 303
    assert services.users.check_password("ann@acme.example", password) is None
    assert "Deactivated" in admin.get(PAGE, headers=HTML).text
    events = list(services.desk.events.get(UserAccount.create_id(ann.user_id)))
    assert [(type(e).__name__, e.via) for e in events] == [("UserCreated", "web"), ("UserDeactivated", "web")]


def test_a_refused_form_says_why_keeps_what_was_typed_and_adds_nobody(admin: TestClient, services: Services) -> None:
    page = admin.get(PAGE, headers=HTML)
    form = {"email": "li@acme.example", "password": "short", "role": "customer", "organisation": "initech"}
    refused = admin.post(PAGE, data={**form, "csrf_token": _token(page.text)})
    assert refused.status_code == 422
    assert "The user was not added" in refused.text
    assert 'value="li@acme.example"' in refused.text
    assert "initech" in refused.text
    assert 'value="short"' not in refused.text  # the password is never sent back
    assert services.users.find("li@acme.example") is None


def test_a_form_without_its_token_is_refused(admin: TestClient, services: Services) -> None:
    form = {"email": "li@acme.example", "password": secrets.token_urlsafe(16), "role": "agent"}
    assert admin.post(PAGE, data=form).status_code == 403
    assert services.users.find("li@acme.example") is None


def test_only_admins_get_the_page_and_its_forms(services: Services) -> None:
    for client in _signed_in(services, Role.SUPERVISOR):
        page = client.get(PAGE, headers=HTML)
        assert page.status_code == 403
        assert 'href="/admin/users"' not in client.get("/", headers=HTML).text
        home = client.get("/", headers=HTML).text
        form = {"email": "li@acme.example", "password": secrets.token_urlsafe(16), "role": "admin"}
        assert client.post(PAGE, data={**form, "csrf_token": _token(home)}).status_code == 403
    assert services.users.find("li@acme.example") is None


def test_the_page_speaks_chinese(admin: TestClient) -> None:
    page = admin.get(PAGE, headers={**HTML, "Accept-Language": "zh-CN"})
    admin.get("/language?lang=zh_CN&next=/admin/users")
    chinese = admin.get(PAGE, headers=HTML)
    assert page.status_code == chinese.status_code == 200
    assert "用户" in chinese.text
