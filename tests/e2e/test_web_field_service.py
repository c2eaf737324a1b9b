"""The ticket page shows a chat's handed-over messages, the service location and the sent agent's arrival."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.directory.geo import Place
from domain.tickets.transcripts import Speaker, TranscriptMessage
from infrastructure.composition import Services, build_services
from infrastructure.router import Router
from infrastructure.settings import Settings
from tests.e2e.test_web_ticket_http import HTML, OPERATOR, sign_in
from tests.support.clock import TickingClock

ADMIN = Actor("boss", ActorKind.AGENT, role=Role.ADMIN.value)
BOT = Actor("chatbot", ActorKind.AGENT, role=Role.AGENT.value)


@pytest.fixture
def site(sqlite_settings: Settings) -> Iterator[tuple[Services, TestClient, TestClient]]:
    services = build_services(sqlite_settings, clock=TickingClock())
    services.start_projections()
    password = secrets.token_urlsafe(18)
    common = {"password": password, "tenant": "acme", "by": OPERATOR, "via": "cli"}
    services.create_user(email="ann@acme.example", actor_id="ann", role=Role.AGENT, **common)
    services.create_user(email="cathy@acme.example", actor_id="cathy", role=Role.CUSTOMER, **common)
    with TestClient(create_app(services=services)) as ann, TestClient(create_app(services=services)) as cathy:
        sign_in(ann, "ann@acme.example", password)
        sign_in(cathy, "cathy@acme.example", password)
        yield services, ann, cathy
    services.close()


def test_the_page_shows_the_place_who_was_sent_and_when_they_arrive(
    site: tuple[Services, TestClient, TestClient],
) -> None:
    services, ann, cathy = site
    desk = services.desk
    desk.define_agent(
        tenant="acme",
        agent="ann",
        groups=[],
        skills={},
        capacity=5,
        available=True,
        home_base=Place(31.1979, 121.3363),
        by=ADMIN,
        via="api",
    )
    desk.define_group(
        tenant="acme", name="field", members=["ann"], routing="nearest", speed_kmh=40, by=ADMIN, via="api"
    )
    ticket = desk.open_ticket(
        tenant="acme",
        title="Boiler",
        requester_id="cathy",
        group="field",
        location=Place(31.2304, 121.4737, "人民广场"),
        by=ADMIN,
        via="phone",
    ).ticket_id
    services.read_models.wait_for(services.read_models.head(), 10)
    Router(desk, services.read_models).sweep()

    for client in (ann, cathy):
        page = client.get(f"/t/{ticket}", headers=HTML).text
        assert "Service location: <strong>人民广场</strong>" in page
        assert "ann sent, 13.6 km away" in page
        assert "Arrival due: <strong>" in page
    chinese = ann.get(f"/t/{ticket}", headers={**HTML, "Accept-Language": "zh-CN"}).text
    assert "预计到达" in chinese or "Arrival due" in chinese  # the language follows the user's setting


def test_the_page_shows_a_handed_over_chat_in_order(site: tuple[Services, TestClient, TestClient]) -> None:
    services, ann, _ = site
    said = [
        TranscriptMessage(Speaker.CUSTOMER, datetime(2026, 11, 23, 8, 0, tzinfo=UTC), "我的订单没到"),
        TranscriptMessage(Speaker.BOT, datetime(2026, 11, 23, 8, 1, tzinfo=UTC), "A person will take over."),
    ]
    ticket = services.desk.open_ticket(
        tenant="acme", title="Order", requester_id="cathy", transcript=said, by=BOT, via="chat"
    ).ticket_id
    page = ann.get(f"/t/{ticket}", headers=HTML).text
    assert page.index("我的订单没到") < page.index("A person will take over.")
    assert "bot · " in page
