"""The read-model endpoints through the real app, with the projection worker running, on SQLite and PostgreSQL."""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

PROBLEM = "application/problem+json"


@pytest.fixture
def services(read_settings: Settings) -> Iterator[Services]:
    built = build_services(read_settings.model_copy(update={"read_wait_seconds": 0.5}), clock=TickingClock())
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def client(services: Services) -> Iterator[TestClient]:
    key = services.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    with TestClient(create_app(services=services), headers={"Authorization": f"Bearer {key}"}) as test_client:
        yield test_client


def _open(client: TestClient, title: str, **fields: Any) -> tuple[str, int]:
    response = client.post("/tickets", json={"title": title, "requester_id": "bob", **fields})
    assert response.status_code == 201, response.text
    return response.json()["id"], int(response.headers["ledgerdesk-position"])


def _titles(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["title"] for item in response.json()["items"]]


def test_new_tickets_show_up_in_the_queues_at_once(client: TestClient) -> None:
    first, _ = _open(client, "Printer jam", priority="low")
    _, _ = _open(client, "Server down", priority="urgent")
    response = client.post(f"/tickets/{first}/assignment", json={"group": "it"})
    position = int(response.headers["ledgerdesk-position"])

    started = time.monotonic()
    unassigned = client.get("/queues/unassigned", params={"min_position": position})
    assert time.monotonic() - started < 0.5
    assert _titles(unassigned) == ["Server down", "Printer jam"]
    assert int(unassigned.headers["ledgerdesk-view-position"]) >= position
    assert unassigned.json()["view_position"] >= position
    assert _titles(client.get("/queues/groups/it", headers={"Ledgerdesk-Min-Position": str(position)})) == [
        "Printer jam"
    ]
    assert _titles(client.get("/queues/unassigned", params={"group": "it"})) == ["Printer jam"]


def test_a_list_tells_the_position_its_page_was_read_at_even_when_empty(client: TestClient, services: Services) -> None:
    _open(client, "Printer jam", priority="low")
    _, position = _open(client, "Server down", priority="urgent", tags=["hardware"])
    services.read_models.wait_for(position, timeout=5)
    settled = services.read_models.position()  # nothing is written now: every answer below is read at it
    asked = [
        ("/tickets", {"limit": 1}, ["Server down"]),
        ("/tickets", {"sort": "created_at"}, ["Printer jam", "Server down"]),
        ("/tickets", {"q": "server", "sort": "relevance"}, ["Server down"]),
        ("/queues/unassigned", {"tag": "hardware"}, ["Server down"]),
        ("/queues/groups/nobody", {}, []),
        ("/tickets", {"q": "no such words", "sort": "relevance"}, []),
    ]
    for path, params, titles in asked:
        answer = client.get(path, params=params)
        assert _titles(answer) == titles, (path, params)
        assert int(answer.headers["ledgerdesk-view-position"]) == settled == answer.json()["view_position"]
    second = client.get(
        "/tickets", params={"limit": 1, "after": client.get("/tickets", params={"limit": 1}).json()["next_cursor"]}
    )
    assert _titles(second) == ["Printer jam"]
    assert second.json()["next_cursor"] is None


def test_queues_follow_assignment_and_status(client: TestClient) -> None:
    ticket, _ = _open(client, "VPN flaky")
    client.post(f"/tickets/{ticket}/assignment", json={"assignee": "carol", "group": "network"})
    response = client.post(f"/tickets/{ticket}/transitions", json={"to": "pending"})
    position = response.headers["ledgerdesk-position"]

    mine = client.get("/queues/assignees/carol", params={"min_position": position})
    assert _titles(mine) == ["VPN flaky"]
    assert mine.json()["items"][0]["status"] == "pending"
    assert _titles(client.get("/queues/unassigned")) == []
    assert _titles(client.get("/queues/assignees/carol", params={"status": "open"})) == []

    client.post(f"/tickets/{ticket}/transitions", json={"to": "solved"})
    solved = client.post(f"/tickets/{ticket}/transitions", json={"to": "closed"})
    position = solved.headers["ledgerdesk-position"]
    assert _titles(client.get("/queues/assignees/carol", params={"min_position": position})) == []
    listed = client.get("/tickets", params={"assignee": "carol", "min_position": position}).json()["items"]
    assert [(t["status"], t["solved_at"] is not None, t["closed_at"] is not None) for t in listed] == [
        ("closed", True, True)
    ]


def test_search_filters(client: TestClient) -> None:
    _open(client, "Laptop battery swollen", priority="high", type="incident", tags=["hardware", "vip"], channel="phone")
    _open(client, "Password reset", type="question", tags=["account"], organisation="acme-sales")
    _, position = _open(client, "Laptop keyboard", priority="low", tags=["hardware"], requester_id="dora")
    search = {"min_position": position}

    assert _titles(client.get("/tickets", params={**search, "tag": "hardware", "sort": "created_at"})) == [
        "Laptop battery swollen",
        "Laptop keyboard",
    ]
    assert _titles(client.get("/tickets", params={"tag": ["hardware", "vip"]})) == ["Laptop battery swollen"]
    assert _titles(client.get("/tickets", params={"q": "LAPTOP", "priority": "low"})) == ["Laptop keyboard"]
    assert _titles(client.get("/tickets", params={"type": "question"})) == ["Password reset"]
    assert _titles(client.get("/tickets", params={"organisation": "acme-sales"})) == ["Password reset"]
    assert _titles(client.get("/tickets", params={"requester_id": "dora"})) == ["Laptop keyboard"]
    assert _titles(client.get("/tickets", params={"channel": "phone"})) == ["Laptop battery swollen"]
    assert _titles(client.get("/tickets", params={"status": ["new", "open"], "sort": "priority"})) == [
        "Laptop battery swollen",
        "Password reset",
        "Laptop keyboard",
    ]
    assert _titles(client.get("/tickets", params={"q": "100%_"})) == []


def test_cursor_pagination_covers_every_ticket_once(client: TestClient) -> None:
    position = 0
    for n in range(23):
        _, position = _open(client, f"Ticket {n:02}", priority=["low", "normal", "high", "urgent"][n % 4])
    seen: list[str] = []
    url: str | None = f"/queues/unassigned?limit=5&min_position={position}"
    pages = 0
    while url is not None:
        response = client.get(url)
        assert response.status_code == 200, response.text
        body = response.json()
        seen += [item["title"] for item in body["items"]]
        if body["next"] is not None:
            assert response.headers["link"] == f'<{body["next"]}>; rel="next"'
        url = body["next"]
        pages += 1
    assert pages == 5
    assert sorted(seen) == sorted(f"Ticket {n:02}" for n in range(23))
    ranks = ["urgent", "high", "normal", "low"]
    expected = sorted(seen, key=lambda t: (ranks.index(["low", "normal", "high", "urgent"][int(t[-2:]) % 4]), t))
    assert seen == expected


def test_bad_read_requests_are_problems(client: TestClient) -> None:
    for params in (
        {"limit": 0},
        {"limit": 501},
        {"colour": "blue"},
        {"status": "Not A State"},  # states are slugs; one no workflow has simply matches nothing
        {"status_category": "archived"},
        {"sort": "title"},
        {"after": "not-a-cursor"},
        {"tag": "Not A Tag"},
        {"min_position": -1},
    ):
        response = client.get("/tickets", params=params)
        assert response.status_code == 422, (params, response.text)
        assert response.headers["content-type"] == PROBLEM
    assert client.get("/queues/groups/it", params={"assignee": "x"}).status_code == 422
    assert client.get("/events", params={"after": "nope"}).status_code == 422
    assert client.get("/agents/carol/workload", params={"days": 0}).status_code == 422


def test_a_position_beyond_the_log_is_refused_without_waiting(client: TestClient) -> None:
    # A wait that times out: tests/e2e/test_api_position_waits.py.
    _, position = _open(client, "Lonely")
    response = client.get("/queues/unassigned", params={"min_position": position + 1000})
    assert response.status_code == 422
    assert response.json()["type"] == "urn:ledgerdesk:problem:position-beyond-head"


def test_saved_views(client: TestClient) -> None:
    created = client.post(
        "/views", json={"name": "vip-hardware", "filters": {"tag": ["vip", "hardware"], "priority": ["high"]}}
    )
    assert created.status_code == 201, created.text
    assert created.headers["location"] == "/views/vip-hardware"
    assert created.json()["filters"] == {"priority": ["high"], "tag": ["vip", "hardware"]}
    position = created.headers["ledgerdesk-position"]

    duplicate = client.post("/views", json={"name": "vip-hardware", "filters": {}})
    assert duplicate.status_code == 409
    assert client.post("/views", json={"name": "Bad Name", "filters": {}}).status_code == 422
    assert client.post("/views", json={"name": "x", "filters": {"colour": "red"}}).status_code == 422

    listed = client.get("/views", params={"min_position": position}).json()
    assert [(v["name"], v["created_by"]) for v in listed["items"]] == [("vip-hardware", "alice")]


def test_workload(client: TestClient) -> None:
    tickets = [_open(client, f"Job {n}")[0] for n in range(4)]
    for ticket in tickets:
        client.post(f"/tickets/{ticket}/assignment", json={"assignee": "carol"})
    client.post(f"/tickets/{tickets[0]}/transitions", json={"to": "pending"})
    client.post(f"/tickets/{tickets[1]}/transitions", json={"to": "on_hold"})
    client.post(f"/tickets/{tickets[2]}/transitions", json={"to": "solved"})
    done = client.post(f"/tickets/{tickets[3]}/transitions", json={"to": "open"})

    load = client.get("/agents/carol/workload", params={"min_position": done.headers["ledgerdesk-position"]})
    assert load.status_code == 200
    body = load.json()
    assert (body["new"], body["open"], body["pending"], body["on_hold"]) == (0, 1, 1, 1)
    assert [day["solved"] for day in body["solved_per_day"]] == [1]


def test_the_feed_shows_each_event_once_and_only_the_tenants_own(client: TestClient, services: Services) -> None:
    other = services.keys.create(actor_id="zed", role=Role.AGENT, tenant="globex").secret
    as_other = {"Authorization": f"Bearer {other}"}
    client.post("/tickets", json={"title": "Theirs", "requester_id": "yan"}, headers=as_other)
    ticket, _ = _open(client, "Ours")
    last = client.post(f"/tickets/{ticket}/comments", json={"body": "on it"}).headers["ledgerdesk-position"]

    first = client.get("/events", params={"limit": 2, "min_position": last}).json()
    rest = client.get("/events", params={"after": first["next_cursor"]}).json()
    items = first["items"] + rest["items"]
    assert [(i["type"], i["ticket_id"]) for i in items] == [("Ticket.Opened", ticket), ("Ticket.CommentAdded", ticket)]
    assert items[1]["payload"]["body"] == "on it"
    assert items[1]["actor"] == {"id": "alice", "kind": "agent", "role": "agent"}
    at_head = client.get("/events", params={"after": rest["next_cursor"]}).json()
    assert at_head["items"] == []
    assert at_head["next_cursor"] == rest["next_cursor"]

    theirs = client.get("/events", headers=as_other).json()["items"]
    assert [i["payload"]["title"] for i in theirs] == ["Theirs"]
    assert _titles(client.get("/tickets", headers=as_other)) == ["Theirs"]


def test_numbers_beyond_64_bits_are_refused_not_crashed_on(client: TestClient) -> None:
    import base64

    huge = str(2**70)
    ticket, _ = _open(client, "Edge")
    cursor = base64.urlsafe_b64encode(f"p1:{huge}".encode()).decode().rstrip("=")
    for path, params in (
        (f"/tickets/{ticket}/diff", {"from_version": huge, "to_version": 1}),
        (f"/tickets/{ticket}", {"version": huge}),
        ("/tickets", {"min_position": huge}),
        ("/events", {"after": cursor}),
    ):
        response = client.get(path, params=params)
        assert response.status_code == 422, (path, response.text)
