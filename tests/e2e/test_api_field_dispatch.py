"""Dispatch by location through the API and the router, on SQLite and PostgreSQL: the nearest agent is sent."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.directory.geo import Place, distance_km
from infrastructure.composition import Services
from infrastructure.router import Router

Who = dict[str, dict[str, str]]
PEOPLES_SQUARE = {"latitude": 31.2304, "longitude": 121.4737, "address": "人民广场"}
PUDONG_AIRPORT = {"latitude": 31.1443, "longitude": 121.8083}
HONGQIAO = {"latitude": 31.1979, "longitude": 121.3363}
BEIJING = {"latitude": 39.9042, "longitude": 116.4074}


@pytest.fixture
def api(served: Services) -> Iterator[tuple[TestClient, Who, Services]]:
    keys = {
        "ann": served.keys.create(actor_id="ann", role=Role.AGENT, tenant="acme").secret,
        "cat": served.keys.create(actor_id="cat", role=Role.AGENT, tenant="acme").secret,
        "bob": served.keys.create(actor_id="bob", role=Role.CUSTOMER, tenant="acme").secret,
        "boss": served.keys.create(actor_id="boss", role=Role.ADMIN, tenant="acme").secret,
    }
    with TestClient(create_app(services=served)) as client:
        yield client, {name: {"Authorization": f"Bearer {secret}"} for name, secret in keys.items()}, served


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _field_group(client: TestClient, who: Who) -> None:
    """ann based at Hongqiao, cat at Pudong airport, eve nowhere; group `field` sends within 60 km at 40 km/h."""
    for agent, home in (("ann", HONGQIAO), ("cat", PUDONG_AIRPORT), ("eve", None)):
        body = {"capacity": 5, "home_base": home}
        _ok(client.put(f"/agents/{agent}", json=body, headers=who["boss"]))
    group = {"members": ["ann", "cat", "eve"], "routing": "nearest", "radius_km": 60, "speed_kmh": 40}
    shown = _ok(client.put("/groups/field", json=group, headers=who["boss"]))
    assert (shown["routing"], shown["radius_km"], shown["speed_kmh"]) == ("nearest", 60, 40)


def _sweep(served: Services) -> None:
    served.read_models.wait_for(served.read_models.head(), 10)
    Router(served.desk, served.read_models).sweep()


def _open(client: TestClient, who: Who, location: dict[str, Any] | None) -> dict[str, Any]:
    body = {"title": "Boiler makes a noise", "requester_id": "bob", "group": "field", "location": location}
    opened: dict[str, Any] = _ok(client.post("/tickets", json=body, headers=who["boss"]), 201)
    return opened


def test_the_nearest_agent_is_sent_with_the_distance_and_an_estimated_arrival(api: Any) -> None:
    client, who, served = api
    _field_group(client, who)
    opened = _open(client, who, PEOPLES_SQUARE)
    assert opened["location"] == PEOPLES_SQUARE
    _sweep(served)

    ticket = _ok(client.get(f"/tickets/{opened['id']}", headers=who["boss"]))
    near = distance_km(Place(**HONGQIAO), Place(**PEOPLES_SQUARE))  # about 14 km; Pudong airport about 34 km
    assert ticket["assignee"] == "ann"
    dispatch = ticket["dispatch"]
    assert (dispatch["agent"], dispatch["speed_kmh"]) == ("ann", 40)
    assert dispatch["distance_km"] == pytest.approx(near, abs=0.001)
    history = _ok(client.get(f"/tickets/{opened['id']}/history", headers=who["boss"]))["items"]
    routed = next(e for e in history if e["event"] == "Assigned" and e["via"] == "routing")
    assert routed["actor"]["id"] == "routing:nearest"
    assert routed["reason"] == f"nearest: {near:.1f} km, 0 open"
    sent = next(e for e in history if e["event"] == "Dispatched")
    assert sent["version"] == routed["version"] + 1  # recorded with the decision, in one save
    due = datetime.fromisoformat(dispatch["arrival_due"])
    assert due - datetime.fromisoformat(sent["at"]) == timedelta(seconds=round(near / 40 * 3600))
    # The customer sees who is coming and when.
    assert _ok(client.get(f"/tickets/{opened['id']}", headers=who["bob"]))["dispatch"]["arrival_due"]


def test_an_agent_s_reported_location_comes_before_their_home_base_and_is_their_own(api: Any) -> None:
    client, who, served = api
    _field_group(client, who)
    near_square = {"latitude": 31.2290, "longitude": 121.4700}
    shown = _ok(client.put("/agents/cat/location", json=near_square, headers=who["cat"]))
    assert (shown["location"], shown["home_base"]) == (
        {**near_square, "address": None},
        {**PUDONG_AIRPORT, "address": None},
    )
    refused = client.put("/agents/cat/location", json=BEIJING, headers=who["ann"])
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")

    opened = _open(client, who, PEOPLES_SQUARE)
    _sweep(served)
    assert _ok(client.get(f"/tickets/{opened['id']}", headers=who["boss"]))["assignee"] == "cat"


def test_a_ticket_beyond_every_agent_s_radius_or_without_a_place_waits(api: Any) -> None:
    client, who, served = api
    _field_group(client, who)
    far, nowhere = _open(client, who, BEIJING), _open(client, who, None)
    _sweep(served)
    for opened in (far, nowhere):
        ticket = _ok(client.get(f"/tickets/{opened['id']}", headers=who["boss"]))
        assert (ticket["assignee"], ticket["dispatch"]) == (None, None)

    # Said later, the place lets routing send someone.
    moved = _ok(client.patch(f"/tickets/{nowhere['id']}", json={"location": HONGQIAO}, headers=who["boss"]))
    assert moved["location"] == {**HONGQIAO, "address": None}
    _sweep(served)
    assert _ok(client.get(f"/tickets/{nowhere['id']}", headers=who["boss"]))["assignee"] == "ann"
    cleared = _ok(client.patch(f"/tickets/{far['id']}", json={"location": None}, headers=who["boss"]))
    assert cleared["location"] is None


@pytest.mark.parametrize(
    "location",
    [
        {"latitude": 91, "longitude": 0},
        {"latitude": 0, "longitude": -181},
        {"latitude": 1},
        {"latitude": 0, "longitude": 0, "x": 1},
    ],
)
def test_a_place_off_the_earth_is_refused_and_nothing_is_stored(api: Any, location: dict[str, Any]) -> None:
    client, who, served = api
    before = served.desk.recorder.max_notification_id()
    refused = client.post(
        "/tickets", json={"title": "x", "requester_id": "bob", "location": location}, headers=who["boss"]
    )
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert served.desk.recorder.max_notification_id() == before


def test_erasing_the_requester_erases_the_ticket_s_place(api: Any) -> None:
    client, who, _ = api
    opened = _ok(
        client.post(
            "/tickets", json={"title": "x", "requester_id": "bob", "location": PEOPLES_SQUARE}, headers=who["boss"]
        ),
        201,
    )
    _ok(client.post("/privacy/erasures", json={"person_id": "bob"}, headers=who["boss"]))
    assert _ok(client.get(f"/tickets/{opened['id']}", headers=who["boss"]))["location"] is None
    history = _ok(client.get(f"/tickets/{opened['id']}/history", headers=who["boss"]))["items"]
    placed = next(e for e in history if e["event"] == "LocationSet")
    assert placed["changes"][0]["new"] == "[erased]"


def test_check_in_and_out_give_time_to_arrive_and_time_on_site(api: Any) -> None:
    client, who, served = api
    _field_group(client, who)
    opened = _open(client, who, PEOPLES_SQUARE)
    _sweep(served)
    sent = datetime.fromisoformat(
        _ok(client.get(f"/tickets/{opened['id']}", headers=who["ann"]))["dispatch"]["arrival_due"]
    )
    assert sent

    arrived = _ok(client.post(f"/tickets/{opened['id']}/check-in", json=PEOPLES_SQUARE, headers=who["ann"]))
    on_site = arrived["on_site"]
    assert (on_site["visits"][0]["agent"], on_site["on_site_now"], on_site["visits"][0]["left_at"]) == (
        "ann",
        "ann",
        None,
    )
    assert on_site["time_to_arrive_seconds"] > 0
    twice = client.post(f"/tickets/{opened['id']}/check-in", json=PEOPLES_SQUARE, headers=who["cat"])
    assert twice.status_code == 409, twice.text
    assert twice.headers["content-type"].startswith("application/problem+json")
    not_in = client.post(f"/tickets/{opened['id']}/check-out", json=PEOPLES_SQUARE, headers=who["cat"])
    assert not_in.status_code == 409, not_in.text

    left = _ok(client.post(f"/tickets/{opened['id']}/check-out", json=PEOPLES_SQUARE, headers=who["ann"]))["on_site"]
    visit = left["visits"][0]
    spent = datetime.fromisoformat(visit["left_at"]) - datetime.fromisoformat(visit["arrived_at"])
    assert left["on_site_now"] is None
    assert left["time_on_site_seconds"] == spent.total_seconds() > 0
    assert left["time_to_arrive_seconds"] == on_site["time_to_arrive_seconds"]
    history = _ok(client.get(f"/tickets/{opened['id']}/history", headers=who["boss"]))["items"]
    assert [e["event"] for e in history if e["event"].startswith("Checked")] == ["CheckedIn", "CheckedOut"]
    assert next(e for e in history if e["event"] == "CheckedIn")["changes"][0]["new"]["position"] == PEOPLES_SQUARE


def test_a_customer_does_not_check_in(api: Any) -> None:
    client, who, served = api
    opened = _ok(client.post("/tickets", json={"title": "x"}, headers=who["bob"]), 201)
    before = served.desk.recorder.max_notification_id()
    refused = client.post(f"/tickets/{opened['id']}/check-in", json=PEOPLES_SQUARE, headers=who["bob"])
    assert refused.status_code == 403, refused.text
    assert served.desk.recorder.max_notification_id() == before
