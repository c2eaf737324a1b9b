"""Bounded cost of tenant SLA configuration (issue 13, finding 2), through the API on SQLite and PostgreSQL.

A calendar open one minute a week, stored before the weekly minimum existed, with a 10,000-minute resolution target
used to make the next ticket's projection raise on every retry. Now such a due is "no due" with a reason wherever
the SLA clock computes dues, other tickets and tenants keep flowing, and new definitions below the limits are
refused with 422 naming the field and store nothing.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import InvalidValueError
from domain.provenance import CommandContext, acting
from domain.sla.calendar import WEEKLY_MINUTES_MIN, BeyondHorizonError, BusinessCalendar
from domain.sla.config import SlaPolicy, WorkCalendar
from domain.sla.policy import MINUTES_MAX, TARGET_MINUTES_MAX, PolicyTerms
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from infrastructure.sla_watcher import SlaWatcher
from tests.support.clock import SettableClock

START = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)  # a Monday
#: Open one minute a week: below WEEKLY_MINUTES_MIN, so only a calendar stored before the limit can be like this.
MINUTE_A_WEEK = {"timezone": "Europe/Berlin", "intervals": [{"weekday": 0, "start": "09:00", "end": "09:01"}]}
OFFICE = {
    "timezone": "Europe/Berlin",
    "intervals": [{"weekday": d, "start": "09:00", "end": "17:00"} for d in range(5)],
}
NO_DUE_REASON = "the calendar's working time reaches the target only more than 100 years later"
ADMIN = Actor("boss", ActorKind.AGENT, role="admin")


@pytest.fixture
def services(sql_settings: Settings) -> Iterator[Services]:
    built = build_services(sql_settings, clock=SettableClock(START))
    built.start_projections()
    yield built
    built.close()


@pytest.fixture
def api(services: Services) -> Iterator[tuple[TestClient, dict[str, str], dict[str, str], dict[str, str]]]:
    """A client and the keys of an acme admin, an acme agent and a globex agent."""
    keys = services.keys
    admin = keys.create(actor_id="boss", role=Role.ADMIN, tenant="acme").secret
    agent = keys.create(actor_id="alice", role=Role.AGENT, tenant="acme").secret
    other = keys.create(actor_id="gina", role=Role.AGENT, tenant="globex").secret
    with TestClient(create_app(services=services)) as client:
        yield client, *({"Authorization": f"Bearer {key}"} for key in (admin, agent, other))  # type: ignore[misc]


def _ok(response: Any, status: int = 200) -> Any:
    assert response.status_code == status, response.text
    return response.json()


def _store_legacy_calendar(services: Services, tenant: str, name: str, definition: dict[str, Any]) -> None:
    """Record a calendar as an older release did, without today's checks (such events exist in logs)."""
    context = CommandContext(actor=ADMIN, via="api", at=START - timedelta(days=400))
    with acting(context):
        calendar = WorkCalendar(tenant=tenant, name=name, definition=definition)
    services.desk.save(calendar)


def _open(client: TestClient, headers: dict[str, str], title: str = "VPN down") -> tuple[str, str]:
    response = client.post("/tickets", json={"title": title, "requester_id": "bob"}, headers=headers)
    body = _ok(response, 201)
    return body["id"], response.headers["ledgerdesk-position"]


def _targets(client: TestClient, headers: dict[str, str], ticket: str, **params: Any) -> dict[str, Any]:
    body = _ok(client.get(f"/tickets/{ticket}/sla", params=params, headers=headers))
    return {t["target"]: t for t in body["targets"]}


# --- the regression: a stored minute-a-week calendar and a 10,000-minute target ----------------------------------


def test_a_due_beyond_the_horizon_is_no_due_and_every_other_ticket_keeps_flowing(api: Any, services: Services) -> None:
    client, admin, agent, other = api
    _store_legacy_calendar(services, "acme", "sparse", MINUTE_A_WEEK)
    policy = {"position": 1, "calendar": "sparse", "targets": {"first_response": 30, "resolution": 10_000}}
    _ok(client.put("/sla/policies/slow", json=policy, headers=admin))

    bombed, _ = _open(client, agent)
    later, _ = _open(client, agent, "Printer jam")
    elsewhere, position = _open(client, other, "Disk full")

    # The projection went past the ticket: the other tenant's and the same tenant's later tickets are listed.
    listed = _ok(client.get("/tickets", params={"min_position": position}, headers=other))
    assert [t["id"] for t in listed["items"]] == [elsewhere]
    assert {t["id"] for t in _ok(client.get("/tickets", headers=agent))["items"]} == {bombed, later}
    targets = _targets(client, agent, bombed)
    resolution = targets["resolution"]
    assert resolution["state"] == "active"
    assert resolution["due_at"] is None
    assert resolution["no_due_reason"] == NO_DUE_REASON
    assert targets["first_response"]["due_at"] is not None  # 30 minutes: 30 Mondays later
    assert targets["first_response"]["no_due_reason"] is None
    # Recomputed from the history under the policy, the same answer.
    recomputed = _targets(client, agent, bombed, policy="slow")
    assert recomputed["resolution"]["due_at"] is None
    assert recomputed["resolution"]["no_due_reason"] == resolution["no_due_reason"]
    # The watcher sweeps past it: nothing is due, nothing fails.
    swept = SlaWatcher(services.desk, services.read_models).sweep(START + timedelta(days=365))
    assert swept.failed == 0
    # The ticket moves on: a reply fulfils the first response and the resolution still has no due.
    reply = client.post(f"/tickets/{bombed}/comments", json={"body": "On it", "public": True}, headers=agent)
    _ok(reply, 201)
    after = _targets(client, agent, bombed, min_position=reply.headers["ledgerdesk-position"])
    assert after["first_response"]["state"] == "met"
    assert after["resolution"]["due_at"] is None


def test_the_calculator_answers_422_with_the_reason_for_a_due_beyond_the_horizon(api: Any, services: Services) -> None:
    client, _, agent, _ = api
    _store_legacy_calendar(services, "acme", "sparse", MINUTE_A_WEEK)

    response = client.get(
        "/sla/calendars/sparse/due", params={"start": "2026-11-23T09:00:00Z", "minutes": 10_000}, headers=agent
    )

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    problem = response.json()
    assert problem["type"] == "urn:ledgerdesk:problem:no-due"
    assert "more than 100 years later" in problem["detail"]
    near = {"start": "2026-11-23T09:00:00Z", "minutes": 2}  # 10:00 in Berlin: that Monday's minute has passed
    assert _ok(client.get("/sla/calendars/sparse/due", params=near, headers=agent))["due"] == "2026-12-07T08:01:00Z"


# --- the limits on new definitions ---------------------------------------------------------------------------------


def test_a_calendar_open_less_than_the_weekly_minimum_is_refused_and_nothing_is_stored(api: Any) -> None:
    client, admin, agent, _ = api
    short = {"timezone": "UTC", "intervals": [{"weekday": 2, "start": "10:00", "end": "10:59"}]}

    response = client.put("/sla/calendars/short", json=short, headers=admin)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == ["body", "intervals"]
    assert f"at least {WEEKLY_MINUTES_MIN} minutes a week" in response.json()["detail"]
    assert client.get("/sla/calendars/short", headers=agent).status_code == 404
    # A calendar that exists keeps its version when a change below the minimum is refused.
    assert _ok(client.put("/sla/calendars/office", json=OFFICE, headers=admin))["version"] == 1
    assert client.put("/sla/calendars/office", json=short, headers=admin).status_code == 422
    assert _ok(client.get("/sla/calendars/office", headers=agent))["version"] == 1
    hour = {"timezone": "UTC", "intervals": [{"weekday": 2, "start": "10:00", "end": "11:00"}]}
    assert _ok(client.put("/sla/calendars/hour", json=hour, headers=admin))["version"] == 1


@pytest.mark.parametrize(
    ("terms", "field"),
    [
        ({"targets": {"resolution": TARGET_MINUTES_MAX + 1}}, ["body", "targets", "resolution"]),
        ({"targets": {"first_response": 5_256_000}}, ["body", "targets", "first_response"]),
        ({"targets": {"next_response": 60}, "warning_minutes": TARGET_MINUTES_MAX + 1}, ["body", "warning_minutes"]),
    ],
)
def test_a_target_longer_than_a_year_of_minutes_is_refused_and_nothing_is_stored(
    api: Any, terms: dict[str, Any], field: list[str]
) -> None:
    client, admin, agent, _ = api

    response = client.put("/sla/policies/long", json={"position": 1, **terms}, headers=admin)

    assert response.status_code == 422
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["errors"][0]["loc"] == field
    assert client.get("/sla/policies/long", headers=agent).status_code == 404
    year = {"position": 1, "targets": {"resolution": TARGET_MINUTES_MAX}}
    assert _ok(client.put("/sla/policies/long", json=year, headers=admin))["version"] == 1


# --- the domain, for callers other than the API ----------------------------------------------------------------------


def test_the_domain_refuses_new_definitions_below_the_limits_naming_the_field() -> None:
    context = CommandContext(actor=ADMIN, via="api", at=START)
    with (
        pytest.raises(InvalidValueError, match=r"^intervals: .* at least 60 minutes a week \(got 1\)"),
        acting(context),
    ):
        WorkCalendar.define(tenant="acme", name="sparse", definition=MINUTE_A_WEEK)
    with acting(context):
        calendar = WorkCalendar.define(tenant="acme", name="office", definition=OFFICE)
    with pytest.raises(InvalidValueError, match=r"^intervals: "), acting(context):
        calendar.change(MINUTE_A_WEEK)
    assert calendar.version == 1
    with pytest.raises(InvalidValueError, match=r"^targets\.resolution: .* at most 525600 minutes"), acting(context):
        SlaPolicy.define(tenant="acme", name="long", position=1, terms={"targets": {"resolution": 525_601}})


def test_configurations_stored_before_the_limits_still_load() -> None:
    stored = PolicyTerms.from_dict({"name": "decade", "targets": {"resolution": MINUTES_MAX}})
    assert stored.targets
    sparse = BusinessCalendar.from_dict(MINUTE_A_WEEK)
    assert sparse.weekly_minutes == 1
    with pytest.raises(BeyondHorizonError):
        sparse.add_business_minutes(START, 10_000)
    # Bounded: a week of working time is stepped over at once, so the full century is walked quickly (not timed).
    assert sparse.add_business_minutes(START, 5_000) > START + timedelta(days=5_000 * 7 - 7)


def test_a_read_model_from_before_no_due_reason_gains_the_column_and_keeps_projecting(
    api: Any, services: Services
) -> None:
    client, admin, agent, _ = api
    view = services.read_models.active_view()
    with view.datastore.transaction(commit=True) as cursor:
        cursor.execute(f"ALTER TABLE {view.names.sla_targets} DROP COLUMN no_due_reason")  # as an older release made it

    view.add_missing_columns()
    view.add_missing_columns()  # on every start: a second time changes nothing

    _ok(client.put("/sla/policies/standard", json={"position": 1, "targets": {"resolution": 60}}, headers=admin))
    ticket, position = _open(client, agent)
    targets = _targets(client, agent, ticket, min_position=position)
    assert (targets["resolution"]["due_at"], targets["resolution"]["no_due_reason"]) == ("2026-11-23T10:00:00Z", None)
