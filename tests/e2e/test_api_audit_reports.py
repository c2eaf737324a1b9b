"""Audit reports (`GET /audit/reports/...`) through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from infrastructure.composition import Services
from projections.activity.rows import PRIVILEGED_EVENT_TYPES
from tests.support.clock import TickingClock
from tests.support.keys import key

ALICE = Actor("alice", ActorKind.AGENT)
CAROL = Actor("carol", ActorKind.AGENT)
BOB = Actor("bob", ActorKind.REQUESTER)
OLGA = Actor("olga", ActorKind.AGENT)
REPORTS = ("actors", "organisations", "periods", "privileged")
NOVEMBER = {"from": "2026-10-01", "to": "2026-11-30"}


def at(day: str, hour: int = 10) -> datetime:
    """A moment on a day (UTC)."""
    return datetime.fromisoformat(day).replace(hour=hour, tzinfo=UTC)


@pytest.fixture
def services(served: Services) -> Services:
    return served  # on SQLite and PostgreSQL, projections running (tests/e2e/conftest.py)


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    with TestClient(create_app(services=services)) as test_client:
        yield test_client


@pytest.fixture
def auditor(services: Services) -> dict[str, str]:
    return key(services, "audrey", Role.AUDITOR)


@pytest.fixture
def recorded(services: Services, clock: TickingClock) -> int:
    """acme's changes on three days around a week and month boundary, and one of globex; the last position."""
    desk = services.desk
    clock.now = at("2026-10-30")  # a Friday, ISO week 44
    north = desk.open_ticket(tenant="acme", title="vpn", requester_id="bob", organisation="north", by=ALICE, via="web")
    desk.assign(north.ticket_id, assignee="carol", by=ALICE, via="web")
    clock.now = at("2026-11-02")  # a Monday, ISO week 45
    desk.add_comment(north.ticket_id, "still down", public=True, by=BOB, via="email")
    loose = desk.open_ticket(tenant="acme", title="printer", requester_id="bob", by=BOB, via="email")
    desk.open_ticket(tenant="globex", title="theirs", requester_id="gus", organisation="north", by=OLGA, via="web")
    clock.now = at("2026-11-03")
    desk.save_view(tenant="acme", name="mine", filters={}, by=ALICE, via="web")
    position = desk.transition(loose.ticket_id, "open", by=CAROL, via="web").position
    assert position is not None
    return position


def report(client: TestClient, name: str, headers: dict[str, str], position: int, **params: str) -> Any:
    """A report's body, read once the read models have applied `position`."""
    answer = client.get(f"/audit/reports/{name}", params={"min_position": position, **params}, headers=headers)
    assert answer.status_code == 200, answer.text
    assert int(answer.headers["ledgerdesk-view-position"]) >= position
    return answer.json()


def test_changes_per_actor(client: TestClient, auditor: dict[str, str], recorded: int) -> None:
    body = report(client, "actors", auditor, recorded, **NOVEMBER)
    assert (body["from"], body["to"]) == ("2026-10-01", "2026-11-30")
    assert body["view_position"] >= recorded
    assert body["items"] == [
        {
            "actor_id": "alice",
            "actor_kind": "agent",
            "changes": 3,
            "by_event_type": {"Assigned": 1, "Opened": 1, "SavedView.Created": 1},
        },
        {"actor_id": "bob", "actor_kind": "requester", "changes": 2, "by_event_type": {"CommentAdded": 1, "Opened": 1}},
        {"actor_id": "carol", "actor_kind": "agent", "changes": 1, "by_event_type": {"Transitioned": 1}},
    ]


def test_changes_per_organisation(client: TestClient, auditor: dict[str, str], recorded: int) -> None:
    body = report(client, "organisations", auditor, recorded, **NOVEMBER)
    assert body["items"] == [
        {
            "organisation": None,
            "changes": 3,
            "by_event_type": {"Opened": 1, "SavedView.Created": 1, "Transitioned": 1},
        },
        {
            "organisation": "north",
            "changes": 3,
            "by_event_type": {"Assigned": 1, "CommentAdded": 1, "Opened": 1},
        },
    ]


@pytest.mark.parametrize(
    ("period", "expected"),
    [
        (
            "day",
            [
                ("2026-10-30", "2026-10-30", "2026-10-30", 2),
                ("2026-11-02", "2026-11-02", "2026-11-02", 2),
                ("2026-11-03", "2026-11-03", "2026-11-03", 2),
            ],
        ),
        ("week", [("2026-W44", "2026-10-29", "2026-11-01", 2), ("2026-W45", "2026-11-02", "2026-11-08", 4)]),
        ("month", [("2026-10", "2026-10-29", "2026-10-31", 2), ("2026-11", "2026-11-01", "2026-11-30", 4)]),
    ],
)
def test_changes_per_period(
    client: TestClient,
    auditor: dict[str, str],
    recorded: int,
    period: str,
    expected: list[tuple[str, str, str, int]],
) -> None:
    body = report(client, "periods", auditor, recorded, period=period, **{"from": "2026-10-29", "to": "2026-11-30"})
    assert body["period"] == period
    assert [(p["period"], p["start"], p["end"], p["changes"]) for p in body["items"]] == expected
    assert sum(sum(p["by_event_type"].values()) for p in body["items"]) == 6


def test_the_window_bounds_the_days_counted(client: TestClient, auditor: dict[str, str], recorded: int) -> None:
    body = report(client, "periods", auditor, recorded, **{"from": "2026-11-02", "to": "2026-11-02"})
    assert [(p["period"], p["by_event_type"]) for p in body["items"]] == [
        ("2026-11-02", {"CommentAdded": 1, "Opened": 1})
    ]
    before = report(client, "actors", auditor, recorded, **{"from": "2026-01-01", "to": "2026-10-29"})
    assert before["items"] == []


def test_privileged_actions_are_listed_apart(client: TestClient, auditor: dict[str, str], recorded: int) -> None:
    body = report(client, "privileged", auditor, recorded, **NOVEMBER)
    assert body["event_types"] == sorted(PRIVILEGED_EVENT_TYPES)
    assert "SavedView.Created" not in body["event_types"]
    assert body["items"] == []  # no ticket or saved-view event is privileged


def test_the_default_window_is_the_last_30_days(
    services: Services, clock: TickingClock, client: TestClient, auditor: dict[str, str]
) -> None:
    now = datetime.now(UTC)
    clock.now = now - timedelta(days=40)
    services.desk.open_ticket(tenant="acme", title="old", requester_id="bob", by=CAROL, via="web")
    clock.now = now - timedelta(days=1)
    position = services.desk.open_ticket(tenant="acme", title="new", requester_id="bob", by=ALICE, via="web").position
    assert position is not None
    body = report(client, "actors", auditor, position)
    today = datetime.now(UTC).date()
    assert (body["from"], body["to"]) == ((today - timedelta(days=29)).isoformat(), today.isoformat())
    assert [(a["actor_id"], a["changes"]) for a in body["items"]] == [("alice", 1)]


def test_another_tenants_auditor_sees_nothing_of_acme(services: Services, client: TestClient, recorded: int) -> None:
    outsider = key(services, "oscar", Role.AUDITOR, tenant="globex")
    actors = report(client, "actors", outsider, recorded, **NOVEMBER)
    assert actors["items"] == [
        {"actor_id": "olga", "actor_kind": "agent", "changes": 1, "by_event_type": {"Opened": 1}}
    ]
    organisations = report(client, "organisations", outsider, recorded, **NOVEMBER)
    assert [(o["organisation"], o["changes"]) for o in organisations["items"]] == [("north", 1)]
    periods = report(client, "periods", outsider, recorded, **NOVEMBER)
    assert [(p["period"], p["changes"]) for p in periods["items"]] == [("2026-11-02", 1)]
    assert report(client, "privileged", outsider, recorded, **NOVEMBER)["items"] == []
    nobody = key(services, "ivy", Role.AUDITOR, tenant="initech")
    for name in REPORTS:
        assert report(client, name, nobody, recorded, **NOVEMBER)["items"] == [], name


def test_reports_are_for_auditors_and_admins(services: Services, client: TestClient) -> None:
    agent, admin = key(services, "alice", Role.AGENT), key(services, "root", Role.ADMIN)
    for name in REPORTS:
        forbidden = client.get(f"/audit/reports/{name}", headers=agent)
        assert forbidden.status_code == 403, name
        assert forbidden.headers["content-type"] == "application/problem+json"
        assert client.get(f"/audit/reports/{name}").status_code == 401, name
        assert client.get(f"/audit/reports/{name}", headers=admin).status_code == 200, name


@pytest.mark.parametrize(
    "params",
    [
        {"colour": "red"},
        {"since": "2026-11-01"},
        {"from": "yesterday"},
        {"to": "2026-13-01"},
        {"from": "2026-11-02", "to": "2026-11-01"},
        {"min_position": "-1"},
    ],
)
def test_bad_report_requests(client: TestClient, auditor: dict[str, str], params: dict[str, str]) -> None:
    for name in REPORTS:
        answer = client.get(f"/audit/reports/{name}", params=params, headers=auditor)
        assert answer.status_code == 422, (name, answer.text)
        assert answer.headers["content-type"] == "application/problem+json"


def test_unknown_periods_and_period_elsewhere_are_rejected(client: TestClient, auditor: dict[str, str]) -> None:
    assert client.get("/audit/reports/periods", params={"period": "year"}, headers=auditor).status_code == 422
    assert client.get("/audit/reports/actors", params={"period": "week"}, headers=auditor).status_code == 422


def test_the_reports_are_described_in_openapi(client: TestClient) -> None:
    schema = client.get("/openapi.json").json()
    for name, model in zip(
        REPORTS, ("ActorReport", "OrganisationReport", "PeriodReport", "PrivilegedReport"), strict=True
    ):
        operation = schema["paths"][f"/audit/reports/{name}"]["get"]
        assert operation["description"], name
        assert {p["name"] for p in operation["parameters"]} >= {"from", "to"}, name
        assert schema["components"]["schemas"][model]["description"], model
