# ruff: noqa: RUF001  # Chinese templates use full-width punctuation
"""Notifications over REST on SQLite and PostgreSQL, sent by the notifier to a real SMTP server (aiosmtpd).

The sink (tests/support/smtp_sink.py) records every message it accepts. Retries are made fast by
the settings (a fifth of a second, doubling up to a second).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from api.app import create_app
from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.mail.threads import subject_token, thread_root, tickets_referenced
from domain.tickets.sla_alerts import SlaAlert
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.smtp_sink import SmtpSink

BOB = "bob@customer.test"
ALICE = "alice@desk.test"
CAROL = "carol@desk.test"
FAST = {
    "mail_from": "Help Desk <help@desk.test>",
    "public_url": "https://desk.test",
    "notify_retry_base_seconds": 0.2,
    "notify_retry_max_seconds": 1.0,
    "notify_poll_seconds": 0.05,
    "notify_timeout_seconds": 2.0,
}


@dataclass
class Desk:
    """The app, its services, a key per person, and the SMTP sink."""

    client: TestClient
    services: Services
    keys: dict[str, dict[str, str]]
    sink: SmtpSink

    def call(self, method: str, path: str, body: Any = None, who: str = "admin") -> Any:
        return self.client.request(method, path, json=body, headers=self.keys[who])

    def open_ticket(self, title: str = "Printer on fire") -> str:
        body = {"title": title, "requester_id": "bob", "requester_email": BOB, "group": "care"}
        opened = self.call("POST", "/tickets", body, who="alice")
        assert opened.status_code == 201, opened.text
        ticket: str = opened.json()["id"]
        return ticket

    def history(self, ticket: str) -> list[dict[str, Any]]:
        found = self.call("GET", f"/tickets/{ticket}/history", who="alice")
        assert found.status_code == 200, found.text
        entries: list[dict[str, Any]] = found.json()["items"]
        return entries

    def recorded(self, ticket: str, event: str) -> list[dict[str, Any]]:
        return [e for e in self.history(ticket) if e["event"] == event]


@contextmanager
def _desk(settings: Settings, sink: SmtpSink, **overrides: Any) -> Iterator[Desk]:
    services = build_services(settings.model_copy(update={**FAST, "smtp_url": SecretStr(sink.url), **overrides}))
    services.start_projections()
    services.start_notifications()
    people = (("admin", Role.ADMIN), ("alice", Role.AGENT), ("carol", Role.AGENT), ("bob", Role.CUSTOMER))
    keys = {
        name: {"Authorization": f"Bearer {services.keys.create(actor_id=name, role=role, tenant='acme').secret}"}
        for name, role in people
    }
    with TestClient(create_app(services=services)) as client:
        desk = Desk(client, services, keys, sink)
        for agent, address in (("alice", ALICE), ("carol", CAROL)):
            assert desk.call("PUT", f"/agents/{agent}", {"email": address}).status_code == 200
        assert desk.call("PUT", "/groups/care", {"members": ["alice", "carol"]}).status_code == 200
        yield desk
    services.close()


@pytest.fixture
def sink() -> Iterator[SmtpSink]:
    started = SmtpSink().start()
    yield started
    started.stop()


@pytest.fixture
def desk(sql_settings: Settings, sink: SmtpSink) -> Iterator[Desk]:
    with _desk(sql_settings, sink) as made:
        yield made


def _wait(done: Callable[[], bool], within: float = 30) -> None:
    deadline = time.monotonic() + within
    while not done():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def _settle(desk: Desk) -> None:
    """Wait until the notifier has nothing pending and has recorded every outcome on the tickets."""
    _wait(lambda: "pending" not in desk.services.outbox().statuses().values())
    _wait(lambda: _unrecorded(desk.services) == 0)


def _unrecorded(services: Services) -> int:
    return len(services.outbox().unrecorded(limit=1000))


# --- who gets what ---------------------------------------------------------------------------------


def test_the_requester_gets_public_replies_threaded_to_the_ticket_but_never_internal_notes(desk: Desk) -> None:
    ticket = desk.open_ticket()
    assert desk.call("POST", f"/tickets/{ticket}/comments", {"body": "Secret: @carol look", "public": False}, "alice")
    reply = desk.call("POST", f"/tickets/{ticket}/comments", {"body": "We are <on> it", "public": True}, "alice")
    assert reply.status_code == 201, reply.text
    _wait(lambda: len(desk.sink.to(BOB)) == 1 and len(desk.sink.to(CAROL)) == 1)
    _settle(desk)
    (to_bob,) = desk.sink.to(BOB)
    assert "We are <on> it" in to_bob.part("plain")
    assert "We are &lt;on&gt; it" in to_bob.part("html")  # the HTML is escaped
    assert "Secret" not in to_bob.part("plain")
    ticket_id = UUID(ticket)
    assert subject_token(ticket_id) in to_bob.subject
    assert to_bob.message["In-Reply-To"] == thread_root(ticket_id, "desk.test")
    assert tickets_referenced([to_bob.message_id, str(to_bob.message["References"])]) == [ticket_id]
    assert to_bob.message["Auto-Submitted"] == "auto-generated"
    assert to_bob.message.get_content_type() == "multipart/alternative"
    (to_carol,) = desk.sink.to(CAROL)
    assert "Secret: @carol look" in to_carol.part("plain")  # the mention, to the agent mentioned
    assert desk.sink.to(ALICE) == []  # nobody is told of their own action
    sent = desk.recorded(ticket, "NotificationSent")
    assert len(sent) == 2
    said = {c["field"]: c["new"] for c in sent[0]["changes"]} | {c["field"]: c["new"] for c in sent[1]["changes"]}
    assert said["message_id"] in {to_bob.message_id, to_carol.message_id}
    assert all(e["actor"]["id"] == "notifier" and e["via"] == "email" for e in sent)
    assert all(BOB not in str(e["changes"]) for e in sent)  # the record names the person, not the address


def test_the_assignee_is_told_unless_they_assigned_themselves(desk: Desk) -> None:
    ticket = desk.open_ticket()
    assert desk.call("POST", f"/tickets/{ticket}/assignment", {"assignee": "alice"}, "alice").status_code == 200
    assert desk.call("POST", f"/tickets/{ticket}/assignment", {"assignee": "carol"}, "alice").status_code == 200
    _wait(lambda: len(desk.sink.to(CAROL)) == 1)
    _settle(desk)
    assert "Assigned to you" in desk.sink.to(CAROL)[0].subject
    assert desk.sink.to(ALICE) == []


def test_solving_sends_the_requester_a_link_to_rate(desk: Desk) -> None:
    ticket = desk.open_ticket()
    assert desk.call("POST", f"/tickets/{ticket}/transitions", {"to": "solved"}, "alice").status_code == 200
    _wait(lambda: len(desk.sink.to(BOB)) == 1)
    (solved,) = desk.sink.to(BOB)
    assert f"https://desk.test/tickets/{ticket}/rating" in solved.part("plain")
    assert solved.subject.startswith(f"{subject_token(UUID(ticket))} Solved")


def test_an_sla_warning_goes_to_the_groups_members(desk: Desk) -> None:
    ticket_id = UUID(desk.open_ticket())
    ticket = desk.services.desk.get_ticket(ticket_id)
    alert = SlaAlert("first_reply", 1, datetime.now(UTC) + timedelta(minutes=10), "standard", 1)
    watcher = Actor("sla", ActorKind.SYSTEM)
    desk.services.desk.raise_sla_alert(
        ticket_id, alert, breach=False, expected_version=ticket.version, by=watcher, via="sla"
    )
    _wait(lambda: len(desk.sink.to(ALICE)) == 1 and len(desk.sink.to(CAROL)) == 1)
    assert "first_reply" in desk.sink.to(CAROL)[0].part("plain")
    assert desk.sink.to(BOB) == []


# --- choices and templates ---------------------------------------------------------------------------


def test_an_opt_out_is_respected(desk: Desk) -> None:
    chosen = desk.call("PUT", "/me/notifications", {"email": False}, "bob")
    assert chosen.status_code == 200, chosen.text
    assert desk.call("PUT", "/me/notifications", {"kinds": {"mentioned": False}}, "carol").status_code == 200
    assert desk.call("GET", "/me/notifications", who="bob").json()["email"] is False
    ticket = desk.open_ticket()
    desk.call("POST", f"/tickets/{ticket}/comments", {"body": "Reply", "public": True}, "alice")
    desk.call("POST", f"/tickets/{ticket}/comments", {"body": "Hey @carol", "public": False}, "alice")
    desk.call("POST", f"/tickets/{ticket}/assignment", {"assignee": "carol"}, "alice")
    _wait(lambda: len(desk.sink.to(CAROL)) == 1)  # the assignment, which carol still wants
    _settle(desk)
    assert "Assigned" in desk.sink.to(CAROL)[0].subject
    assert desk.sink.to(BOB) == []
    assert desk.call("PUT", "/me/notifications", {"kinds": {"nonsense": False}}, "bob").status_code == 422


def test_a_tenant_template_in_chinese_replaces_the_built_in_one(desk: Desk) -> None:
    template = {
        "subject": "新回复：{{ ticket.title }}",
        "text": "{{ actor }} 说：{{ comment }}",
        "html": "<p>{{ actor }} 说：{{ comment }}</p>",
    }
    put = desk.call("PUT", "/notification-templates/public_reply/zh", template)
    assert put.status_code == 200, put.text
    assert put.json()["built_in"] is False
    broken = {**template, "text": "{% if %}"}
    refused = desk.call("PUT", "/notification-templates/public_reply/zh", broken)
    assert refused.status_code == 422, refused.text
    assert desk.call("PUT", "/notification-templates/nonsense/zh", template).status_code == 422
    assert desk.call("GET", "/notification-templates/solved/zh", who="alice").json()["built_in"] is True
    assert desk.call("PUT", "/me/notifications", {"language": "zh"}, "bob").status_code == 200
    ticket = desk.open_ticket("打印机着火了")
    desk.call("POST", f"/tickets/{ticket}/comments", {"body": "马上处理", "public": True}, "alice")
    desk.call("POST", f"/tickets/{ticket}/transitions", {"to": "solved"}, "alice")
    _wait(lambda: len(desk.sink.to(BOB)) == 2)
    reply, solved = sorted(desk.sink.to(BOB), key=lambda r: int(r.message_id.split(".")[1]))
    assert reply.subject == f"{subject_token(UUID(ticket))} 新回复：打印机着火了"
    assert reply.part("plain").strip() == "alice 说：马上处理"
    assert "已解决" in solved.subject  # the built-in Chinese template where the tenant set none


# --- delivery ----------------------------------------------------------------------------------------


def test_a_server_that_is_down_gets_the_message_once_when_back(desk: Desk) -> None:
    desk.sink.stop()
    ticket = desk.open_ticket()
    desk.call("POST", f"/tickets/{ticket}/comments", {"body": "While down", "public": True}, "alice")
    _wait(lambda: "pending" in desk.services.outbox().statuses().values())
    time.sleep(1.0)  # a few attempts fail meanwhile
    desk.sink.start()
    _wait(lambda: len(desk.sink.to(BOB)) == 1)
    _settle(desk)
    time.sleep(0.5)
    assert len(desk.sink.to(BOB)) == 1
    assert len(desk.recorded(ticket, "NotificationSent")) == 1


def test_a_permanent_refusal_is_failed_and_on_record(desk: Desk) -> None:
    desk.sink.refuse[BOB] = "550 5.1.1 no such user"
    ticket = desk.open_ticket()
    desk.call("POST", f"/tickets/{ticket}/comments", {"body": "To nobody", "public": True}, "alice")
    _wait(lambda: "failed" in desk.services.outbox().statuses().values())
    _settle(desk)
    (failed,) = desk.recorded(ticket, "NotificationFailed")
    said = {c["field"]: c["new"] for c in failed["changes"]}
    assert said["recipient"] == "bob"
    assert "550" in said["error"]
    assert desk.recorded(ticket, "NotificationSent") == []


def test_a_trigger_notifies_with_the_notify_action(desk: Desk) -> None:
    desk.services.start_triggers()
    rule = {"title": "Tell the team", "on": ["created"], "actions": [{"notify": {"to": "group", "template": "rule"}}]}
    assert desk.call("PUT", "/triggers/tell", rule).status_code == 200
    bad = {**rule, "actions": [{"notify": {"to": "group", "template": "nonsense"}}]}
    assert desk.call("PUT", "/triggers/bad", bad).status_code == 422
    ticket = desk.open_ticket()
    _wait(lambda: len(desk.sink.to(CAROL)) == 1)
    assert "Update" in desk.sink.to(CAROL)[0].subject
    _wait(lambda: len(desk.sink.to(ALICE)) == 1)  # alice opened it, but the rule acted, not her
    requested = desk.recorded(ticket, "NotificationRequested")
    assert requested[0]["actor"]["id"] == "trigger:tell"


@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning")  # loopback only
def test_credentials_are_used_with_a_server_that_requires_auth(sql_settings: Settings) -> None:
    sink = SmtpSink(user="desk", password="s3cret pass").start()
    try:
        with _desk(sql_settings, sink, smtp_url=SecretStr(f"smtp://desk:s3cret%20pass@127.0.0.1:{sink.port}")) as desk:
            ticket = desk.open_ticket()
            desk.call("POST", f"/tickets/{ticket}/comments", {"body": "Authenticated", "public": True}, "alice")
            _wait(lambda: len(desk.sink.to(BOB)) == 1)
    finally:
        sink.stop()


def test_without_an_smtp_url_the_notifier_is_off(sql_settings: Settings) -> None:
    services = build_services(sql_settings)
    try:
        off = services.start_notifications()
        assert type(off).__name__ == "NotifierOff"
    finally:
        services.close()


def test_an_agents_address_is_shown_and_stored_encrypted_as_theirs(desk: Desk) -> None:
    assert desk.call("GET", "/agents/carol", who="alice").json()["email"] == CAROL
    assert desk.call("PUT", "/agents/dave", {"email": "not an address"}).status_code == 422
    log = desk.services.desk.recorder.select_notifications(start=1, limit=1000)
    states = [n.state for n in log if n.topic.endswith("Directory.AgentDefined")]
    assert states
    assert all(CAROL.encode() not in state and ALICE.encode() not in state for state in states)
    assert all(b"__pd__" in state for state in states)  # sealed with the agent's data key
