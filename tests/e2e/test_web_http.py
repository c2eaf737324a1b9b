"""The web pages over plain HTTP (what a browser test cannot easily see): https cookies and htmx fragments."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings

OPERATOR = Actor("operator", ActorKind.SYSTEM, role=Role.ADMIN.value)
HTML = {"Accept": "text/html"}


@pytest.fixture
def signed_in(sqlite_settings: Settings) -> Iterator[tuple[TestClient, Services]]:
    """A client over https, signed in as an agent through the form."""
    services = build_services(sqlite_settings)
    password = secrets.token_urlsafe(18)
    who = {"actor_id": "ann", "role": Role.AGENT, "tenant": "acme"}
    services.create_user(email="ann@acme.example", password=password, **who, by=OPERATOR, via="cli")
    with TestClient(create_app(services=services), base_url="https://testserver") as client:
        form = client.get("/login", headers=HTML)
        token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
        assert token is not None
        fields = {"email": "ann@acme.example", "password": password, "csrf_token": token.group(1)}
        answer = client.post("/login", data=fields, follow_redirects=False)
        assert answer.status_code == 303
        yield client, services
    services.close()


def test_over_https_the_session_cookie_is_secure(signed_in: tuple[TestClient, Services]) -> None:
    client, _ = signed_in
    cookie = next(c for c in client.cookies.jar if c.name == "ledgerdesk_session")
    assert cookie.secure
    assert cookie.has_nonstandard_attr("HttpOnly")


def test_htmx_gets_the_list_alone_and_a_browser_the_whole_page(signed_in: tuple[TestClient, Services]) -> None:
    client, _ = signed_in
    page = client.get("/", headers=HTML)
    fragment = client.get("/", headers={**HTML, "HX-Request": "true"})
    assert page.status_code == fragment.status_code == 200
    assert "<html" in page.text
    assert "<html" not in fragment.text
    assert "Assigned to me" in fragment.text


def test_a_page_asked_for_without_a_session_goes_to_sign_in_and_back(sqlite_settings: Settings) -> None:
    services = build_services(sqlite_settings)
    try:
        with TestClient(create_app(services=services)) as client:
            ticket = "/t/00000000-0000-4000-8000-000000000000"
            answer = client.get(ticket, headers=HTML, follow_redirects=False)
            assert answer.status_code == 303
            assert answer.headers["location"] == f"/login?next={ticket}"
            fragment = client.get("/", headers={**HTML, "HX-Request": "true"}, follow_redirects=False)
            assert fragment.headers["hx-redirect"] == "/login"
    finally:
        services.close()
