"""Webhooks over REST on SQLite and PostgreSQL, delivered by the webhook process to a real receiver.

The receiver (tests/support/receiver.py) verifies every delivery with the `standardwebhooks`
package. Retries are made fast by the settings (a fifth of a second, doubling up to a second).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.access.policy import Role
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.receiver import Receiver

ENUM_SAID = "event_types.0: Input should be '*', 'Ticket.*', 'Ticket."  # then every event type, by name
FAST = {
    "webhook_allowlist": "127.0.0.0/8",
    "webhook_retry_base_seconds": 0.2,
    "webhook_retry_max_seconds": 1.0,
    "webhook_poll_seconds": 0.05,
    "webhook_timeout_seconds": 2.0,
}


@dataclass
class Desk:
    """The app, its services and a key per role."""

    client: TestClient
    services: Services
    keys: dict[str, dict[str, str]]

    def post(self, path: str, body: Any = None, role: str = "admin") -> Any:
        return self.client.post(path, json=body, headers=self.keys[role])

    def get(self, path: str, role: str = "admin", **params: Any) -> Any:
        return self.client.get(path, headers=self.keys[role], params=params)

    def patch(self, path: str, body: Any, role: str = "admin") -> Any:
        return self.client.patch(path, json=body, headers=self.keys[role])

    def register(self, receiver: Receiver, **body: Any) -> dict[str, Any]:
        made = self.post("/webhooks", {"url": receiver.url, "event_types": ["Ticket.*"], **body})
        assert made.status_code == 201, made.text
        found: dict[str, Any] = made.json()
        receiver.secrets.append(found["secret"])
        return found

    def open_ticket(self, title: str) -> str:
        opened = self.post("/tickets", {"title": title, "requester_id": "bob"}, role="agent")
        assert opened.status_code == 201, opened.text
        ticket: str = opened.json()["id"]
        return ticket


@contextmanager
def _desk(settings: Settings, **overrides: Any) -> Iterator[Desk]:
    services = build_services(settings.model_copy(update={**FAST, **overrides}))
    services.start_projections()
    services.start_webhooks()
    keys = {
        role: {"Authorization": f"Bearer {services.keys.create(actor_id=f'{role}1', role=Role(role), tenant=t).secret}"}
        for role, t in (("admin", "acme"), ("agent", "acme"), ("supervisor", "acme"))
    }
    keys["foreign"] = {
        "Authorization": f"Bearer {services.keys.create(actor_id='zed', role=Role.ADMIN, tenant='globex').secret}"
    }
    keys["foreign_agent"] = {
        "Authorization": f"Bearer {services.keys.create(actor_id='zoe', role=Role.AGENT, tenant='globex').secret}"
    }
    with TestClient(create_app(services=services)) as client:
        yield Desk(client, services, keys)
    services.close()


@pytest.fixture
def desk(sql_settings: Settings) -> Iterator[Desk]:
    with _desk(sql_settings) as made:
        yield made


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    started = Receiver().start()
    yield started
    started.stop()


def _wait(done: Callable[[], bool], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


# --- endpoints -------------------------------------------------------------------------------------


def test_the_secret_is_shown_once_and_never_again(desk: Desk, receiver: Receiver) -> None:
    made = desk.register(receiver, description="CRM")
    assert made["secret"].startswith("whsec_")
    assert (made["enabled"], made["event_types"], made["consecutive_failures"]) == (True, ["Ticket.*"], 0)
    for answer in (desk.get(f"/webhooks/{made['id']}"), desk.get("/webhooks")):
        assert answer.status_code == 200, answer.text
        assert made["secret"] not in answer.text
        assert "secret" not in answer.json()
        assert all("secret" not in i for i in answer.json().get("items", []))
    history = desk.get("/events", role="admin")
    assert made["secret"] not in history.text


@pytest.mark.parametrize(
    ("body", "said"),
    [
        ({"url": "ftp://example.com/x", "event_types": ["*"]}, "http or https"),
        ({"url": "http://169.254.169.254/latest", "event_types": ["*"]}, "link-local"),
        ({"url": "http://10.0.0.8/hook", "event_types": ["*"]}, "private"),
        ({"url": "https://hooks.example.com/", "event_types": ["Ticket.Nope"]}, ENUM_SAID),
        ({"url": "https://hooks.example.com/", "event_types": []}, "event_types"),
        (
            {
                "url": "https://hooks.example.com/",
                "event_types": ["*"],
                "filter": {"all": [{"field": "x", "op": "equals", "value": 1}]},
            },
            "filter/all/0/field",
        ),
    ],
)
def test_a_bad_url_event_type_or_filter_is_422_saying_why_and_stores_nothing(
    desk: Desk, body: dict[str, Any], said: str
) -> None:
    refused = desk.post("/webhooks", body)
    assert refused.status_code == 422, refused.text
    assert refused.headers["content-type"] == "application/problem+json"
    assert said in refused.json()["detail"]
    assert desk.get("/webhooks").json()["items"] == []


def test_only_admins_manage_webhooks_and_tenants_never_see_each_others(desk: Desk, receiver: Receiver) -> None:
    made = desk.register(receiver)
    for role in ("agent", "supervisor"):
        assert desk.get("/webhooks", role=role).status_code == 403
        assert desk.post("/webhooks", {"url": receiver.url, "event_types": ["*"]}, role=role).status_code == 403
    assert desk.get(f"/webhooks/{made['id']}", role="foreign").status_code == 404
    assert desk.get("/webhooks", role="foreign").json()["items"] == []
    assert desk.patch(f"/webhooks/{made['id']}", {"enabled": False}, role="foreign").status_code == 404


def test_changes_are_on_record_and_a_patch_keeps_what_it_does_not_name(desk: Desk, receiver: Receiver) -> None:
    made = desk.register(receiver, filter={"all": [{"field": "via", "op": "equals", "value": "email"}]})
    changed = desk.patch(f"/webhooks/{made['id']}", {"event_types": ["Ticket.Opened"], "enabled": False})
    assert changed.status_code == 200, changed.text
    found = changed.json()
    assert (found["event_types"], found["enabled"], found["url"]) == (["Ticket.Opened"], False, receiver.url)
    assert found["filter"] == made["filter"]
    assert found["disabled_reason"] == "disabled by admin1"
    cleared = desk.patch(f"/webhooks/{made['id']}", {"filter": None, "enabled": True}).json()
    assert (cleared["filter"], cleared["enabled"], cleared["disabled_reason"]) == (None, True, None)
    assert desk.client.delete(f"/webhooks/{made['id']}", headers=desk.keys["admin"]).status_code == 204
    assert desk.get(f"/webhooks/{made['id']}").status_code == 404


# --- deliveries ------------------------------------------------------------------------------------


def test_a_delivery_is_the_event_as_the_feed_shows_it_signed_and_listed(desk: Desk, receiver: Receiver) -> None:
    made = desk.register(receiver)
    ticket = desk.open_ticket("Printer on fire")
    _wait(lambda: len(receiver.unique()) == 1)
    (got,) = receiver.received
    feed = desk.get("/events").json()["items"]
    (shown,) = [item for item in feed if item["type"] == "Ticket.Opened" and item["ticket_id"] == ticket]
    assert got.event == shown
    assert got.id.startswith("msg_")
    assert got.headers["webhook-timestamp"].isdigit()
    listed = desk.get(f"/webhooks/{made['id']}/deliveries").json()["items"]
    assert [(d["id"], d["status"], d["attempts"], d["response_status"]) for d in listed] == [
        (got.id, "delivered", 1, 204)
    ]
    assert listed[0]["latency_ms"] >= 0
    assert listed[0]["event_position"] == shown["position"]


def test_a_tenant_receives_only_its_own_events_of_the_types_and_filter_it_chose(desk: Desk, receiver: Receiver) -> None:
    desk.register(
        receiver,
        event_types=["Ticket.CommentAdded"],
        filter={"all": [{"field": "payload.public", "op": "equals", "value": True}]},
    )
    ticket = desk.open_ticket("Mine")
    foreign = desk.post("/tickets", {"title": "Theirs", "requester_id": "eve"}, role="foreign_agent").json()["id"]
    desk.post(f"/tickets/{foreign}/comments", {"body": "theirs"}, role="foreign_agent")
    desk.post(f"/tickets/{ticket}/comments", {"body": "internal", "public": False}, role="agent")
    desk.post(f"/tickets/{ticket}/comments", {"body": "public"}, role="agent")
    _wait(lambda: len(receiver.unique()) >= 1)
    time.sleep(0.5)  # anything else that would come
    events = list(receiver.unique().values())
    assert [(e["type"], e["ticket_id"], e["payload"]["public"]) for e in events] == [
        ("Ticket.CommentAdded", ticket, True)
    ]


def _statuses(desk: Desk, endpoint: str) -> set[str]:
    return {d["status"] for d in desk.get(f"/webhooks/{endpoint}/deliveries").json()["items"]}


def test_a_stopped_receiver_gets_every_event_once_in_order_per_ticket_when_back(
    sql_settings: Settings, receiver: Receiver
) -> None:
    with _desk(sql_settings) as desk:
        made = desk.register(receiver)
        receiver.stop()
        tickets = [desk.open_ticket(f"t{n}") for n in range(3)]
        for n in range(2):
            for ticket in tickets:
                desk.post(f"/tickets/{ticket}/comments", {"body": f"c{n}"}, role="agent")
        _wait(lambda: any(d["attempts"] >= 2 for d in desk.get(f"/webhooks/{made['id']}/deliveries").json()["items"]))
        failing = desk.get(f"/webhooks/{made['id']}/deliveries").json()["items"]
        assert {d["status"] for d in failing} == {"pending"}
        assert any(d["last_error"] and "no answer" in d["last_error"] for d in failing)
        assert all(d["next_attempt_at"] for d in failing)
        receiver.start()
        _wait(lambda: len(receiver.unique()) == 9)
        events = receiver.unique()
        for ticket in tickets:
            versions = [e["aggregate_version"] for e in events.values() if e["ticket_id"] == ticket]
            assert versions == [1, 2, 3]  # in order per ticket, each once
        arrived = [r.event["aggregate_version"] for r in receiver.received]
        assert len(arrived) == len(receiver.ids())
        # The last answer may reach the receiver a moment before its sender records it as delivered.
        _wait(lambda: _statuses(desk, made["id"]) == {"delivered"})
        delivered = desk.get(f"/webhooks/{made['id']}/deliveries").json()["items"]
        assert len(delivered) == 9


def test_after_n_failures_in_a_row_the_endpoint_is_disabled_on_record_and_visible(
    sql_settings: Settings, receiver: Receiver
) -> None:
    with _desk(sql_settings, webhook_disable_after=3) as desk:
        receiver.status = 500
        made = desk.register(receiver)
        desk.open_ticket("Failing")
        _wait(lambda: not desk.get(f"/webhooks/{made['id']}").json()["enabled"])
        found = desk.get(f"/webhooks/{made['id']}").json()
        assert found["disabled_reason"].startswith("3 consecutive failed deliveries; the last: HTTP 500")
        assert found["consecutive_failures"] >= 3
        (held,) = desk.get(f"/webhooks/{made['id']}/deliveries").json()["items"]
        assert (held["status"], held["response_status"]) == ("paused", 500)
        redelivered = desk.post(f"/webhooks/{made['id']}/deliveries/{held['id']}/redeliver")
        assert redelivered.status_code == 409, redelivered.text
        registry = desk.services.desk.webhook_registry("acme")
        assert registry is not None
        events = list(desk.services.desk.events.get(registry.id))
        (disabled,) = [e for e in events if type(e).__name__ == "EndpointDisabled"]
        assert (disabled.actor_id, disabled.via, disabled.failures) == ("webhooks", "webhook", 3)
        receiver.status = 204
        enabled = desk.patch(f"/webhooks/{made['id']}", {"enabled": True}).json()
        assert (enabled["enabled"], enabled["consecutive_failures"]) == (True, 0)
        _wait(lambda: len(receiver.received) >= 4 and receiver.received[-1].id == held["id"])
        after = desk.get(f"/webhooks/{made['id']}/deliveries").json()["items"][0]
        assert (after["status"], after["attempts"]) == ("delivered", 4)


def test_a_redelivery_sends_the_same_webhook_id_again(desk: Desk, receiver: Receiver) -> None:
    made = desk.register(receiver)
    desk.open_ticket("Again")
    _wait(lambda: len(receiver.received) == 1)
    delivery = receiver.received[0].id
    again = desk.post(f"/webhooks/{made['id']}/deliveries/{delivery}/redeliver")
    assert again.status_code == 202, again.text
    _wait(lambda: len(receiver.received) == 2)
    assert receiver.ids() == [delivery, delivery]
    missing = desk.post(f"/webhooks/{made['id']}/deliveries/msg_{'0' * 32}/redeliver")
    assert missing.status_code == 404


def test_a_rotated_secret_signs_beside_the_old_one_for_the_grace_period(desk: Desk, receiver: Receiver) -> None:
    made = desk.register(receiver)
    rotated = desk.post(f"/webhooks/{made['id']}/rotate-secret", {"grace_seconds": 3600})
    assert rotated.status_code == 200, rotated.text
    new = rotated.json()["secret"]
    assert new != made["secret"]
    assert rotated.json()["webhook"]["previous_secret_valid_until"]
    receiver.secrets = [new]  # a receiver that changed over at once
    desk.open_ticket("Rotated")
    _wait(lambda: len(receiver.received) == 1)
    assert len(receiver.received[0].headers["webhook-signature"].split(" ")) == 2
    receiver.secrets = [made["secret"]]  # one that has not changed over yet
    desk.open_ticket("Still old")
    _wait(lambda: len(receiver.received) == 2)
    assert receiver.refused == 0
    desk.post(f"/webhooks/{made['id']}/rotate-secret", {"grace_seconds": 0})
    desk.open_ticket("Old no more")
    _wait(lambda: receiver.refused >= 1)


def test_a_trigger_calls_a_webhook_with_call_webhook(desk: Desk, receiver: Receiver) -> None:
    made = desk.register(receiver, event_types=["SavedView.Created"])  # takes no ticket event but those asked
    desk.services.start_triggers()
    rule = {"title": "Tell the CRM", "on": ["created"], "actions": [{"call_webhook": made["id"]}]}
    assert desk.client.put("/triggers/crm", json=rule, headers=desk.keys["admin"]).status_code == 200
    ticket = desk.open_ticket("Call out")
    _wait(lambda: len(receiver.unique()) == 1)
    (event,) = receiver.unique().values()
    assert (event["type"], event["ticket_id"], event["payload"]["webhook_id"]) == (
        "Ticket.WebhookRequested",
        ticket,
        made["id"],
    )
    assert event["actor"]["id"] == "trigger:crm"
    unknown = {**rule, "actions": [{"call_webhook": "00000000-0000-4000-8000-000000000000"}]}
    assert desk.client.put("/triggers/crm", json=unknown, headers=desk.keys["admin"]).status_code == 200
    other = desk.open_ticket("Nowhere")
    history = desk.get(f"/tickets/{other}/history", role="agent")
    _wait(lambda: "no webhook" in desk.get(f"/tickets/{other}/history", role="agent").text)
    assert history.status_code == 200
