"""Notifications, pure parts: who is told of what, choices, templates in the sandbox, the SMTP URL, the action."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from jinja2.exceptions import SecurityError
from pydantic import ValidationError

from domain.actors import Actor, ActorKind
from domain.automation.actions import Notify, parse, shown
from domain.directory.directory import Directory
from domain.errors import InvalidRuleError, InvalidValueError
from domain.helpdesk import HelpDesk
from domain.notifications.kinds import Kind
from domain.notifications.preferences import Choice
from domain.notifications.recipients import Audience, Recipient, TicketParties, recipients
from domain.notifications.templates import Template
from domain.tickets.ticket import Ticket
from infrastructure.notifications import rendering
from infrastructure.notifications.defaults import built_in
from infrastructure.notifications.message import mail_domain
from infrastructure.notifications.smtp import SmtpServer
from infrastructure.settings import Settings

PARTIES = TicketParties(requester_id="bob", assignee="alice", group="care")
ADMIN = Actor("root", ActorKind.AGENT, role="admin")


def _members(group: str) -> list[str]:
    return {"care": ["alice", "carol"]}.get(group, [])


def _event(cls: type[Any], actor: str = "alice", kind: str = "agent", **fields: Any) -> Any:
    event = object.__new__(cls)
    object.__setattr__(event, "__dict__", {"actor_id": actor, "actor_kind": kind, **fields})
    return event


def _comment(public: bool, body: str = "hi", mentions: list[str] | None = None, **who: str) -> Any:
    return _event(Ticket.CommentAdded, public=public, body=body, mentions=mentions or [], **who)


def test_the_requester_is_told_of_public_replies_by_agents_only() -> None:
    assert recipients(_comment(True), PARTIES, _members) == [Recipient("bob", Audience.REQUESTER, Kind.PUBLIC_REPLY)]
    assert recipients(_comment(True, actor="bob", kind="requester"), PARTIES, _members) == []


def test_an_internal_note_reaches_the_mentioned_agents_and_never_the_requester() -> None:
    note = _comment(False, mentions=["carol", "alice", "bob"])
    told = recipients(note, PARTIES, _members)
    assert [r.person_id for r in told] == ["carol", "bob"]  # not alice, who wrote it
    assert {r.audience for r in told} == {Audience.AGENT}  # "bob" here is an agent id mentioned, not the requester
    assert all(r.kind is Kind.MENTIONED for r in told)


def test_the_assignee_is_told_unless_they_assigned_themselves() -> None:
    fields = {"group": None, "old_assignee": None, "old_group": None, "reason": None}
    to_carol = _event(Ticket.Assigned, assignee="carol", **fields)
    assert recipients(to_carol, PARTIES, _members) == [Recipient("carol", Audience.AGENT, Kind.ASSIGNED)]
    assert recipients(_event(Ticket.Assigned, actor="carol", assignee="carol", **fields), PARTIES, _members) == []


def test_solving_tells_the_requester_once() -> None:
    moves = {"old_status": "open", "new_status": "solved", "old_category": "open", "new_category": "solved"}
    assert recipients(_event(Ticket.Transitioned, **moves), PARTIES, _members)[0].kind is Kind.SOLVED
    again = {**moves, "old_category": "solved", "new_category": "solved"}
    assert recipients(_event(Ticket.Transitioned, **again), PARTIES, _members) == []


def test_sla_alerts_go_to_the_groups_members_or_else_the_assignee() -> None:
    warning = _event(Ticket.SlaWarningIssued, actor="sla", kind="system")
    assert [r.person_id for r in recipients(warning, PARTIES, _members)] == ["alice", "carol"]
    breach = _event(Ticket.SlaBreached, actor="sla", kind="system")
    lone = TicketParties("bob", "dave", None)
    assert recipients(breach, lone, _members) == [Recipient("dave", Audience.AGENT, Kind.SLA_BREACH)]


def test_a_rules_notify_names_whom() -> None:
    def requested(to: str) -> list[str]:
        event = _event(Ticket.NotificationRequested, actor="trigger:x", kind="system", to=to, template="rule")
        return [r.person_id for r in recipients(event, PARTIES, _members)]

    assert (requested("requester"), requested("assignee"), requested("group"), requested("zoe")) == (
        ["bob"],
        ["alice"],
        ["alice", "carol"],
        ["zoe"],
    )


def test_a_choice_turns_off_all_or_some_kinds() -> None:
    assert Choice().wants(Kind.SOLVED)
    assert not Choice(email=False).wants(Kind.SOLVED)
    some = Choice(kinds={"mentioned": False})
    assert (some.wants(Kind.MENTIONED), some.wants(Kind.ASSIGNED)) == (False, True)


def test_the_notify_action_is_checked_when_the_rule_is_defined() -> None:
    (action,) = parse([{"notify": {"to": "group", "template": "sla_breach"}}])
    assert action.value == Notify("group", "sla_breach")
    assert shown([action]) == [{"notify": {"to": "group", "template": "sla_breach"}}]
    with pytest.raises(InvalidRuleError, match="template"):
        parse([{"notify": {"to": "group", "template": "nonsense"}}])
    with pytest.raises(InvalidRuleError):
        parse([{"notify": {"to": "group"}}])


def test_the_sandbox_refuses_pythons_insides_and_html_is_escaped() -> None:
    unsafe = Template("{{ ''.__class__.__mro__ }}", "x", "x")
    with pytest.raises(SecurityError):
        rendering.render(unsafe, {})
    with pytest.raises(InvalidValueError, match="text template does not compile"):
        rendering.check(Template("ok", "{% for %}", "x"))
    done = rendering.render(Template("A\n  b", "{{ c }}", "<p>{{ c }}</p>"), {"c": "<b>"})
    assert (done.subject, done.text, done.html) == ("A b", "<b>", "<p>&lt;b&gt;</p>")


@pytest.mark.parametrize("kind", list(Kind))
@pytest.mark.parametrize("language", ["en", "zh"])
def test_every_built_in_template_compiles_and_renders(kind: Kind, language: str) -> None:
    template = built_in(kind, language)
    rendering.check(template)
    variables = {
        "ticket": {"title": "T", "status": "open", "priority": "normal"},
        "actor": "alice",
        "comment": "c",
        "sla": {"target": "first_reply", "due_at": "2026-12-07T10:00"},
        "ticket_url": "https://desk.test/tickets/1",
        "rating_url": "https://desk.test/tickets/1/rating",
    }
    assert rendering.render(template, variables).subject


@pytest.mark.parametrize(
    ("url", "server"),
    [
        ("smtp://127.0.0.1:2525", SmtpServer("127.0.0.1", 2525)),
        ("smtp://mail.test", SmtpServer("mail.test", 25)),
        ("smtp://mail.test?starttls=true", SmtpServer("mail.test", 587, starttls=True)),
        ("smtp://u%40x:p%20w@mail.test:2587?starttls=1", SmtpServer("mail.test", 2587, False, True, "u@x", "p w")),
        ("smtps://u:p@mail.test", SmtpServer("mail.test", 465, tls=True, user="u", password="p")),
    ],
)
def test_the_smtp_url_says_where_how_and_as_whom(url: str, server: SmtpServer) -> None:
    assert SmtpServer.parse(url) == server
    assert "p w" not in server.describe()
    assert ":p@" not in server.describe()


def test_an_smtp_url_of_another_scheme_is_refused() -> None:
    with pytest.raises(InvalidValueError):
        SmtpServer.parse("http://mail.test")


def test_the_message_id_domain_is_the_from_addresses() -> None:
    assert mail_domain("Help Desk <help@desk.test>") == "desk.test"
    assert mail_domain("help@desk.test") == "desk.test"


def test_an_agent_defined_before_addresses_reads_with_none() -> None:
    desk = HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))
    state = {"agent": "carol", "groups": [], "skills": {}, "capacity": 5, "available": True}
    Directory.AgentDefined.upcast_v2_v3(state)
    assert state["email"] is None
    desk.define_agent(
        tenant="acme",
        agent="carol",
        groups=[],
        skills={},
        capacity=5,
        available=True,
        email="c@x.test",
        by=ADMIN,
        via="api",
    )
    agent, _ = desk.directory_agent("acme", "carol")
    assert agent.email == "c@x.test"
    with pytest.raises(InvalidValueError):
        desk.define_agent(
            tenant="acme",
            agent="dave",
            groups=[],
            skills={},
            capacity=5,
            available=True,
            email="nope",
            by=ADMIN,
            via="api",
        )


def test_a_bad_smtp_url_is_refused_at_start_up_and_a_good_one_is_kept_secret() -> None:
    with pytest.raises(ValidationError) as refused:
        Settings(smtp_url="http://user:hunter2@mail.test")
    assert "hunter2" not in refused.value.errors()[0]["msg"]  # what `ledgerdesk` prints of it
    kept = Settings(smtp_url="smtp://user:hunter2@mail.test:2525")
    assert "hunter2" not in repr(kept)
