"""SLA through the API on SQLite and PostgreSQL: calendars, policies, the calculator, ticket figures, queues."""

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

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
OFFICE = {
    "timezone": "Europe/Berlin",
    "intervals": [
        *({"weekday": d, "start": "09:00", "end": "12:00"} for d in range(5)),
        *({"weekday": d, "start": "13:00", "end": "18:00"} for d in range(5)),
    ],
    "holidays": [{"day": "2026-12-25", "yearly": True, "name": "Christmas"}],
}
ICS = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//test//EN
BEGIN:VEVENT
UID:1
DTSTART;VALUE=DATE:20261231
SUMMARY:New Year's Eve
END:VEVENT
END:VCALENDAR
"""


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def services(served: Services) -> Services:
    return served  # on SQLite and PostgreSQL, projections running (tests/e2e/conftest.py)


@pytest.fixture
def api(services: Services) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str]]]:
    admin = services.keys.create(actor_id="boss", role=Role.ADMIN, tenant="acme").secret
    agent = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=services)) as client:
        yield client, {"Authorization": f"Bearer {admin}"}, {"Authorization": f"Bearer {agent}"}


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _sla(client: TestClient, agent: dict[str, str], ticket: str, **params: Any) -> dict[str, Any]:
    body = _ok(client.get(f"/tickets/{ticket}/sla", params=params, headers=agent))
    return {t["target"]: t for t in body["targets"]}


def _open(client: TestClient, headers: dict[str, str], **fields: Any) -> tuple[str, str]:
    response = client.post("/tickets", json={"title": "VPN down", "requester_id": "bob", **fields}, headers=headers)
    body = _ok(response, 201)
    return body["id"], response.headers["ledgerdesk-position"]


def test_calendars_are_versioned_and_the_calculator_counts_business_time(api: Any) -> None:
    client, admin, agent = api
    assert _ok(client.put("/sla/calendars/office", json=OFFICE, headers=admin))["version"] == 1
    assert _ok(client.put("/sla/calendars/office", json=OFFICE, headers=admin))["version"] == 1  # no change
    imported = _ok(
        client.post("/sla/calendars/office/holidays", content=ICS, headers={**admin, "Content-Type": "text/calendar"})
    )
    assert imported["version"] == 2
    assert {"day": "2026-12-31", "yearly": False, "name": "New Year's Eve"} in imported["holidays"]
    assert len(_ok(client.get("/sla/calendars/office", params={"version": 1}, headers=agent))["holidays"]) == 1
    assert client.put("/sla/calendars/office", json=OFFICE, headers=agent).status_code == 403
    assert (
        client.put("/sla/calendars/bad", json={**OFFICE, "timezone": "Mars/Olympus"}, headers=admin).status_code == 422
    )
    assert client.get("/sla/calendars/nope", headers=agent).status_code == 404

    # Friday 17:30 Berlin + 60 business minutes: 30 on Friday, then Monday 09:00-09:30.
    friday = {"start": "2026-11-27T16:30:00Z", "minutes": 60}
    assert _ok(client.get("/sla/calendars/office/due", params=friday, headers=agent))["due"] == "2026-11-30T08:30:00Z"
    # ... and counted back from Monday 09:30 Berlin: the same Friday 17:30.
    back = {"start": "2026-11-30T08:30:00Z", "minutes": 60, "direction": "before"}
    assert _ok(client.get("/sla/calendars/office/due", params=back, headers=agent))["due"] == "2026-11-27T16:30:00Z"
    # Over lunch: 11:30-13:30 Berlin is 60 business minutes.
    lunch = {"start": "2026-11-23T10:30:00Z", "end": "2026-11-23T12:30:00Z"}
    assert _ok(client.get("/sla/calendars/office/minutes", params=lunch, headers=agent))["minutes"] == 60
    listed = _ok(client.get("/sla/calendars", params={"min_position": 2}, headers=agent))
    assert [(c["name"], c["version"]) for c in listed["items"]] == [("office", 2)]


def test_policies_are_ordered_versioned_and_checked(api: Any) -> None:
    client, admin, agent = api
    assert (
        client.put(
            "/sla/policies/vip", json={"position": 1, "calendar": "nope", "targets": {"resolution": 60}}, headers=admin
        ).status_code
        == 404
    )
    assert (
        client.put("/sla/policies/vip", json={"position": 1, "targets": {"resolution": 0}}, headers=admin).status_code
        == 422
    )
    assert client.put("/sla/policies/vip", json={"position": 1, "targets": {}}, headers=admin).status_code == 422
    urgent = {"position": 1, "conditions": {"priorities": ["urgent"]}, "targets": {"first_response": 15}}
    _ok(client.put("/sla/policies/urgent", json=urgent, headers=admin))
    response = client.put(
        "/sla/policies/standard", json={"position": 9, "targets": {"first_response": 60}}, headers=admin
    )
    _ok(response)
    revised = _ok(
        client.put("/sla/policies/standard", json={"position": 9, "targets": {"first_response": 90}}, headers=admin)
    )
    assert revised["version"] == 2
    listed = _ok(
        client.get("/sla/policies", params={"min_position": response.headers["ledgerdesk-position"]}, headers=agent)
    )
    assert [p["name"] for p in listed["items"]] == ["urgent", "standard"]
    first = _ok(client.get("/sla/policies/standard", params={"version": 1}, headers=agent))
    assert first["terms"]["targets"] == {"first_response": 60}


def test_a_ticket_breaches_shows_in_queues_and_stays_breached_after_a_late_reply(
    api: Any, clock: SettableClock
) -> None:
    client, admin, agent = api
    policy = {"position": 1, "targets": {"first_response": 60, "resolution": 240}, "warning_minutes": 15}
    _ok(client.put("/sla/policies/standard", json=policy, headers=admin))
    late, _ = _open(client, agent)
    clock.advance(minutes=10)
    calm, position = _open(client, agent)
    client.post(f"/tickets/{late}/comments", json={"body": "looking", "public": False}, headers=agent)

    figures = _sla(client, agent, late, min_position=position)
    assert figures["first_response"]["state"] == "active"  # an internal note is no response
    assert figures["first_response"]["due_at"] == "2026-11-23T10:00:00Z"
    queue = _ok(client.get("/tickets", params={"sort": "sla_due", "min_position": position}, headers=agent))
    assert [t["id"] for t in queue["items"]] == [late, calm]

    clock.advance(minutes=40)  # 09:50: late is within its 15-minute warning lead
    at_risk = _ok(client.get("/tickets", params={"sla": "at_risk"}, headers=agent))
    assert [t["id"] for t in at_risk["items"]] == [late]
    clock.advance(minutes=11)  # 10:01
    assert _sla(client, agent, late)["first_response"]["state"] == "breached"
    breached = _ok(client.get("/queues/unassigned", params={"sla": "breached"}, headers=agent))
    assert [t["id"] for t in breached["items"]] == [late]

    reply = client.post(f"/tickets/{late}/comments", json={"body": "on it"}, headers=agent)
    figures = _sla(client, agent, late, min_position=reply.headers["ledgerdesk-position"])
    assert figures["first_response"]["state"] == "breached"  # a late reply does not make it met
    assert figures["first_response"]["fulfilled_at"] == "2026-11-23T10:01:00Z"


def test_pending_pauses_and_reopen_resumes_resolution(api: Any, clock: SettableClock) -> None:
    client, admin, agent = api
    _ok(client.put("/sla/policies/standard", json={"position": 1, "targets": {"resolution": 120}}, headers=admin))
    ticket, _ = _open(client, agent)
    clock.advance(minutes=30)
    client.post(f"/tickets/{ticket}/transitions", json={"to": "pending"}, headers=agent)
    clock.advance(hours=5)  # waiting on the requester: not counted
    client.post(f"/tickets/{ticket}/transitions", json={"to": "open"}, headers=agent)
    clock.advance(minutes=30)
    solved = client.post(f"/tickets/{ticket}/transitions", json={"to": "solved"}, headers=agent)
    resolution = _sla(client, agent, ticket, min_position=solved.headers["ledgerdesk-position"])["resolution"]
    assert (resolution["state"], resolution["elapsed_minutes"], resolution["pauses"]) == ("met", 60, 1)
    clock.advance(hours=1)
    reopened = client.post(f"/tickets/{ticket}/transitions", json={"to": "open"}, headers=agent)
    resolution = _sla(client, agent, ticket, min_position=reopened.headers["ledgerdesk-position"])["resolution"]
    assert (resolution["state"], resolution["cycle"], resolution["elapsed_minutes"]) == ("active", 2, 60)
    assert resolution["due_at"] == "2026-11-23T17:00:00Z"  # the hour left, from the reopen at 16:00


def test_update_time_counts_from_the_customers_unanswered_message_before_any_reply(
    api: Any, services: Services, clock: SettableClock
) -> None:
    client, admin, agent = api
    customer = {
        "Authorization": f"Bearer {services.keys.create(actor_id='bob', role=Role.CUSTOMER, tenant='acme').secret}"
    }
    policy = {"position": 1, "targets": {"first_response": 240, "update": 30}}
    assert _ok(client.put("/sla/policies/standard", json=policy, headers=admin))["terms"]["targets"]["update"] == 30
    ticket, _ = _open(client, customer)
    clock.advance(minutes=20)
    client.post(f"/tickets/{ticket}/comments", json={"body": "still down"}, headers=customer)  # restarts nothing
    clock.advance(minutes=15)
    reply = client.post(f"/tickets/{ticket}/comments", json={"body": "on it"}, headers=agent)
    figures = _sla(client, agent, ticket, min_position=reply.headers["ledgerdesk-position"])
    assert list(figures) == ["first_response", "update"]
    assert (figures["update"]["state"], figures["update"]["breached_at"]) == ("breached", "2026-11-23T09:30:00Z")
    assert figures["first_response"]["state"] == "met"
    clock.advance(minutes=5)
    asked = client.post(f"/tickets/{ticket}/comments", json={"body": "works now?"}, headers=customer)
    update = _sla(client, agent, ticket, min_position=asked.headers["ledgerdesk-position"])["update"]
    assert (update["state"], update["cycle"], update["due_at"]) == ("active", 2, "2026-11-23T10:10:00Z")


def test_recompute_under_any_policy_version_and_apply_retroactively(api: Any, clock: SettableClock) -> None:
    client, admin, agent = api
    before, _ = _open(client, agent)  # opened before any policy: not tracked
    clock.advance(minutes=90)
    replied = client.post(f"/tickets/{before}/comments", json={"body": "hello"}, headers=agent)
    assert _sla(client, agent, before, min_position=replied.headers["ledgerdesk-position"]) == {}

    _ok(client.put("/sla/policies/standard", json={"position": 1, "targets": {"first_response": 60}}, headers=admin))
    _ok(client.put("/sla/policies/standard", json={"position": 1, "targets": {"first_response": 120}}, headers=admin))
    v1 = _sla(client, agent, before, policy="standard", policy_version=1)["first_response"]
    v2 = _sla(client, agent, before, policy="standard", policy_version=2)["first_response"]
    assert (v1["state"], v1["breached_at"], v2["state"]) == ("breached", "2026-11-23T10:00:00Z", "met")
    assert client.get(f"/tickets/{before}/sla", params={"policy_version": 1}, headers=agent).status_code == 422
    assert client.get(f"/tickets/{before}/sla", params={"policy": "nope"}, headers=agent).status_code == 404

    applied = _ok(client.post("/sla/policies/standard/applications", json={"version": 1}, headers=admin))
    assert (applied["version"], applied["tickets"]) == (1, 1)
    stored = _sla(client, agent, before, min_position=applied["position"])["first_response"]
    assert (stored["state"], stored["policy_version"]) == ("breached", 1)
    history = _ok(client.get(f"/tickets/{before}/history", headers=agent))["items"]
    assert history[-1]["event"] == "SlaRecomputed"
    assert history[-1]["actor"]["id"] == "boss"
