"""Schedules over REST on SQLite and PostgreSQL: defined by admins, versioned, refused with a path, previewed, run."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services
from infrastructure.recurrence import LibraryRecurrence
from infrastructure.schedules import ScheduleRunner
from tests.support.clock import SettableClock

INSPECTION: dict[str, Any] = {
    "title": "Server-room inspection",
    "rrule": "FREQ=MONTHLY;BYDAY=1MO;BYHOUR=8;BYMINUTE=0",
    "timezone": "Asia/Shanghai",
    "start": "2026-01-01T08:00:00",
    "catch_up": "latest",
    "template": {"title": "巡检: server room", "requester_id": "facilities", "type": "task", "tags": ["rounds"]},
}


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(datetime(2026, 2, 20, tzinfo=UTC))


@pytest.fixture
def api(served: Services) -> Iterator[dict[str, Any]]:
    keys = {
        role: served.keys.create(actor_id=f"{role}1", role=Role(role), tenant="acme").secret
        for role in ("admin", "agent", "supervisor", "customer", "auditor")
    }
    with TestClient(create_app(services=served)) as client:
        yield {"client": client, "as": {r: {"Authorization": f"Bearer {k}"} for r, k in keys.items()}}


def _put(api: dict[str, Any], body: dict[str, Any], role: str = "admin", name: str = "inspection") -> Any:
    return api["client"].put(f"/schedules/{name}", json=body, headers=api["as"][role])


def test_a_schedule_is_versioned_shows_its_next_occurrences_and_disabling_keeps_its_history(
    api: dict[str, Any],
) -> None:
    client, agent = api["client"], api["as"]["agent"]
    defined = _put(api, INSPECTION)
    assert defined.status_code == 200, defined.text
    shown = defined.json()
    assert (shown["version"], shown["enabled"], shown["rrule"], shown["cron"]) == (1, True, INSPECTION["rrule"], None)
    assert shown["next"][:3] == ["2026-03-02T08:00:00+08:00", "2026-04-06T08:00:00+08:00", "2026-05-04T08:00:00+08:00"]
    assert len(shown["next"]) == 5
    assert "Ledgerdesk-Position" in defined.headers

    same = _put(api, INSPECTION)
    assert (same.json()["version"], "Ledgerdesk-Position" in same.headers) == (1, False)  # records nothing
    weekly = _put(api, {**INSPECTION, "rrule": None, "cron": "0 9 * * MON"})
    assert (weekly.json()["version"], weekly.json()["cron"], weekly.json()["rrule"]) == (2, "0 9 * * MON", None)
    disabled = _put(api, {**INSPECTION, "enabled": False})
    assert (disabled.json()["version"], disabled.json()["enabled"], disabled.json()["next"]) == (3, False, [])

    first = client.get("/schedules/inspection?version=1", headers=agent).json()
    assert (first["version"], first["rrule"], first["enabled"]) == (1, INSPECTION["rrule"], True)
    assert client.get("/schedules/inspection?version=2", headers=agent).json()["cron"] == "0 9 * * MON"
    assert client.get("/schedules/inspection?version=9", headers=agent).status_code == 404
    listed = client.get("/schedules", headers=api["as"]["auditor"]).json()["items"]
    assert [(s["name"], s["version"]) for s in listed] == [("inspection", 3)]


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"rrule": "FREQ=FORTNIGHTLY"}, "rrule/FREQ"),
        ({"rrule": "FREQ=WEEKLY;BYDAY=XX"}, "rrule"),
        ({"rrule": None, "cron": "0 25 * * *"}, "cron/hour"),
        ({"rrule": None, "cron": "0 8 * *"}, "cron"),
        ({"rrule": None}, "rrule"),
        ({"timezone": "Europe/Atlantis"}, "timezone"),
        ({"end": "2025-12-31T08:00:00"}, "end"),
        (
            {"template": {"title": "巡检", "requester_id": "facilities", "priority": "whenever"}},
            "body/template/priority",
        ),
        ({"template": {"title": "巡检", "requester_id": "facilities", "group": "nobody"}}, None),
    ],
)
def test_a_schedule_that_cannot_be_recorded_is_422_with_the_path_and_stores_nothing(
    api: dict[str, Any], change: dict[str, Any], path: str | None
) -> None:
    refused = _put(api, {**INSPECTION, **change})
    if path is None:  # no directory: any group goes
        assert refused.status_code == 200
        return
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"].startswith("application/problem+json")
    problem = refused.json()
    where = problem.get("path") or "/".join(str(part) for part in problem["errors"][0]["loc"])
    assert where == path, problem
    assert api["client"].get("/schedules/inspection", headers=api["as"]["agent"]).status_code == 404


def test_only_admins_write_schedules_and_staff_read_them(api: dict[str, Any]) -> None:
    for role in ("agent", "supervisor", "customer", "auditor"):
        refused = _put(api, INSPECTION, role=role)
        assert refused.status_code == 403, (role, refused.text)
    assert _put(api, INSPECTION).status_code == 200
    assert api["client"].get("/schedules/inspection", headers=api["as"]["customer"]).status_code == 403
    assert api["client"].get("/schedules/inspection", headers=api["as"]["supervisor"]).status_code == 200


def test_the_preview_lists_what_comes_and_stores_nothing(api: dict[str, Any], served: Services) -> None:
    _put(api, {**INSPECTION, "rrule": None, "cron": "0 8 * * MON-FRI", "timezone": "Europe/Berlin"})
    head = served.desk.recorder.max_notification_id()
    preview = api["client"].get("/schedules/inspection/preview?count=7", headers=api["as"]["agent"])
    assert preview.status_code == 200
    assert preview.json()["occurrences"] == [
        "2026-02-20T08:00:00+01:00",
        "2026-02-23T08:00:00+01:00",
        "2026-02-24T08:00:00+01:00",
        "2026-02-25T08:00:00+01:00",
        "2026-02-26T08:00:00+01:00",
        "2026-02-27T08:00:00+01:00",
        "2026-03-02T08:00:00+01:00",
    ]
    assert served.desk.recorder.max_notification_id() == head
    too_many = api["client"].get("/schedules/inspection/preview?count=1000", headers=api["as"]["agent"])
    assert too_many.status_code == 422


def test_an_occurrence_opens_a_ticket_whose_history_names_schedule_version_and_occurrence(
    api: dict[str, Any], served: Services, clock: SettableClock
) -> None:
    _put(api, INSPECTION)
    clock.now = datetime(2026, 3, 2, 0, 1, tzinfo=UTC)  # 08:01 in Shanghai
    assert ScheduleRunner(served.desk, LibraryRecurrence()).run_once().opened == 1
    client, agent = api["client"], api["as"]["agent"]
    served.read_models.wait_for(served.read_models.head(), 10)
    listed = client.get("/tickets", headers=agent).json()["items"]
    (ticket,) = [t for t in listed if t["title"] == "巡检: server room"]
    history = client.get(f"/tickets/{ticket['id']}/history", headers=agent).json()["items"]
    noted = next(e for e in history if e["event"] == "OpenedOnSchedule")
    assert {c["field"]: c["new"] for c in noted["changes"]} == {
        "schedule": "inspection",
        "schedule_version": 1,
        "occurrence": "2026-03-02T00:00:00+00:00",
    }
    assert (noted["actor"]["id"], noted["actor"]["kind"], noted["via"]) == ("schedule:inspection", "system", "schedule")
    assert noted["causation_id"].endswith("@2")  # the schedule book's event that recorded version 1
