"""Unit tests of the Ticket aggregate and the HelpDesk application on the in-memory event store."""

from __future__ import annotations

import copy
import math
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from uuid import UUID, uuid4

import pytest
from eventsourcing.application import project_aggregate

from domain.actors import Actor, ActorKind
from domain.errors import (
    ExpectedVersion,
    IllegalTransitionError,
    InvalidValueError,
    NotPermittedError,
    TicketClosedError,
    TicketNotFoundError,
    VersionMismatchError,
)
from domain.helpdesk import HelpDesk
from domain.pipeline import Receipt
from domain.provenance import CommandContext, acting
from domain.tickets.history import FieldChange
from domain.tickets.workflow import DEFAULT_TRANSITIONS, Status, Workflow
from domain.values import ATTACHMENTS_MAX, CUSTOM_FIELDS_MAX, TAGS_MAX, TITLE_MAX, Attachment, FieldValue, Priority

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)

AGENT = Actor("alice", ActorKind.AGENT)
REQUESTER = Actor("bob", ActorKind.REQUESTER)
ROUTER = Actor("round-robin", ActorKind.SYSTEM)
INTEGRATION = Actor("crm-sync", ActorKind.API_CLIENT)


class ManualClock:
    """A clock that stands still until a test moves it, so every recorded moment is known in advance."""

    def __init__(self, start: datetime = START) -> None:
        self.now = start
        self.readings = 0

    def __call__(self) -> datetime:
        self.readings += 1
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def app(clock: ManualClock) -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock)


@pytest.fixture
def ticket_id(app: HelpDesk) -> UUID:
    return open_ticket(app).ticket_id


def open_ticket(app: HelpDesk, **overrides: Any) -> Receipt:
    arguments: dict[str, Any] = {
        "tenant": "acme",
        "title": "Printer on floor 3 jams",
        "requester_id": "bob",
        "by": AGENT,
        "via": "web",
    }
    arguments.update(overrides)
    return app.open_ticket(**arguments)


def stored(app: HelpDesk, ticket_id: UUID) -> int:
    return len(list(app.events.get(ticket_id)))


def path_to(target: Status) -> list[Status]:
    """The shortest sequence of legal moves that takes a new ticket to `target`."""
    paths: dict[Status, list[Status]] = {Status.NEW: []}
    queue = deque([Status.NEW])
    while queue:
        current = queue.popleft()
        for following in sorted(DEFAULT_TRANSITIONS[current]):
            if following not in paths:
                paths[following] = [*paths[current], following]
                queue.append(following)
    return paths[target]


def move_to(app: HelpDesk, ticket_id: UUID, target: Status) -> None:
    for step in path_to(target):
        app.transition(ticket_id, step.value, by=AGENT, via="web")


LEGAL_MOVES = [(source, target) for source, targets in DEFAULT_TRANSITIONS.items() for target in sorted(targets)]
ILLEGAL_MOVES = [
    (source, target)
    for source in Status
    if source is not Status.CLOSED
    for target in Status
    if target not in DEFAULT_TRANSITIONS[source]
]


# --- opening -----------------------------------------------------------------------------------------


def test_opening_a_ticket_records_one_event_with_defaults(app: HelpDesk, clock: ManualClock) -> None:
    receipt = open_ticket(app, title="  Printer jams  ")
    ticket = app.get_ticket(receipt.ticket_id)

    assert receipt.version == 1
    assert receipt.position is not None
    assert stored(app, receipt.ticket_id) == 1
    assert ticket == receipt.ticket
    assert ticket.title == "Printer jams"
    assert ticket.description == ""
    assert ticket.tenant == "acme"
    assert ticket.requester_id == "bob"
    assert ticket.organisation is None
    assert ticket.channel == "web"
    assert ticket.opened_by == "alice"
    assert ticket.status == Status.NEW
    assert ticket.priority is Priority.NORMAL
    assert ticket.ticket_type is None
    assert ticket.tags == []
    assert ticket.custom_fields == {}
    assert ticket.assignee is None
    assert ticket.group is None
    assert ticket.comments == []
    assert ticket.created_on == START
    assert ticket.modified_on == START


def test_opening_a_ticket_records_every_given_fact(app: HelpDesk) -> None:
    receipt = open_ticket(
        app,
        description="Paper jam error E-13 since this morning.",
        organisation="acme-emea",
        priority="high",
        ticket_type="incident",
        tags=["printer", "floor-3", "printer"],
        custom_fields={"seats": FieldValue.parse("number", 12), "plan": FieldValue.parse("enum", "gold")},
        by=REQUESTER,
        via="email",
    )
    ticket = app.get_ticket(receipt.ticket_id)

    assert ticket.description == "Paper jam error E-13 since this morning."
    assert ticket.organisation == "acme-emea"
    assert ticket.priority is Priority.HIGH
    assert ticket.ticket_type == "incident"
    assert ticket.tags == ["floor-3", "printer"]
    assert ticket.custom_fields == {
        "plan": FieldValue.parse("enum", "gold"),
        "seats": FieldValue.parse("number", 12),
    }
    assert ticket.channel == "email"
    assert ticket.opened_by == "bob"


def test_each_opening_gets_a_new_id(app: HelpDesk) -> None:
    first = open_ticket(app).ticket_id
    second = open_ticket(app).ticket_id

    assert first != second
    assert app.recorder.max_notification_id() == 2


def test_a_title_of_the_longest_allowed_length_is_accepted(app: HelpDesk) -> None:
    receipt = open_ticket(app, title=" " + "t" * TITLE_MAX + " ")

    assert receipt.ticket.title == "t" * TITLE_MAX


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"title": ""}, id="empty-title"),
        pytest.param({"title": " \t\n "}, id="blank-title"),
        pytest.param({"title": "t" * (TITLE_MAX + 1)}, id="long-title"),
        pytest.param({"tags": ["Printer"]}, id="uppercase-tag"),
        pytest.param({"tags": ["floor 3"]}, id="tag-with-space"),
        pytest.param({"tags": [""]}, id="empty-tag"),
        pytest.param({"tags": [f"tag-{n}" for n in range(TAGS_MAX + 1)]}, id="too-many-tags"),
        pytest.param({"priority": "critical"}, id="unknown-priority"),
        pytest.param({"priority": "HIGH"}, id="uppercase-priority"),
        pytest.param({"via": "Web"}, id="uppercase-channel"),
        pytest.param({"via": ""}, id="empty-channel"),
        pytest.param({"via": "e mail"}, id="channel-with-space"),
        pytest.param({"tenant": ""}, id="empty-tenant"),
        pytest.param({"requester_id": "bob smith"}, id="requester-with-space"),
        pytest.param({"organisation": ""}, id="empty-organisation"),
        pytest.param({"ticket_type": "Incident"}, id="uppercase-type"),
        pytest.param({"description": "d" * 65_537}, id="long-description"),
        pytest.param({"custom_fields": {"Seats": FieldValue.parse("number", 1)}}, id="bad-custom-field-name"),
        pytest.param(
            {"custom_fields": {f"field-{n}": FieldValue.parse("boolean", True) for n in range(CUSTOM_FIELDS_MAX + 1)}},
            id="too-many-custom-fields",
        ),
    ],
)
def test_opening_with_an_invalid_value_is_rejected_and_stores_nothing(app: HelpDesk, overrides: dict[str, Any]) -> None:
    with pytest.raises(InvalidValueError):
        open_ticket(app, **overrides)

    assert app.recorder.max_notification_id() is None


@pytest.mark.parametrize(
    "overrides",
    [
        pytest.param({"tags": ["printer\n"]}, id="tag"),
        pytest.param({"ticket_type": "incident\n"}, id="type"),
        pytest.param({"via": "web\n"}, id="channel"),
        pytest.param({"requester_id": "bob\n"}, id="requester-id"),
    ],
)
def test_a_trailing_newline_is_not_part_of_a_valid_slug_or_identifier(app: HelpDesk, overrides: dict[str, Any]) -> None:
    # Otherwise "printer" and "printer\n" are two different tags on one ticket.
    with pytest.raises(InvalidValueError):
        open_ticket(app, **overrides)

    assert app.recorder.max_notification_id() is None


def test_the_most_tags_and_custom_fields_allowed_are_accepted(app: HelpDesk) -> None:
    receipt = open_ticket(
        app,
        tags=[f"tag-{n:02}" for n in range(TAGS_MAX)],
        custom_fields={f"field-{n:02}": FieldValue.parse("boolean", True) for n in range(CUSTOM_FIELDS_MAX)},
    )

    assert len(receipt.ticket.tags) == TAGS_MAX
    assert len(receipt.ticket.custom_fields) == CUSTOM_FIELDS_MAX


@pytest.mark.parametrize(
    ("kind", "value", "expected"),
    [
        ("text", "Ground floor, near the lifts", "Ground floor, near the lifts"),
        ("text", "", ""),
        ("text", "x" * 1024, "x" * 1024),
        ("number", 42, 42),
        ("number", -2.5, -2.5),
        ("number", 0, 0),
        ("date", "2026-11-23", "2026-11-23"),
        ("date", "20261123", "2026-11-23"),
        ("enum", "gold", "gold"),
        ("boolean", True, True),
        ("boolean", False, False),
    ],
)
def test_custom_fields_of_every_kind_are_stored_as_given(
    app: HelpDesk, kind: str, value: object, expected: object
) -> None:
    receipt = open_ticket(app, custom_fields={"field": FieldValue.parse(kind, value)})
    stored_value = app.get_ticket(receipt.ticket_id).custom_fields["field"]

    assert stored_value.kind.value == kind
    assert stored_value.value == expected
    assert type(stored_value.value) is type(expected)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("text", "x" * 1025),
        ("text", 7),
        ("text", None),
        ("number", math.nan),
        ("number", math.inf),
        ("number", -math.inf),
        ("number", True),
        ("number", False),
        ("number", "42"),
        ("date", "2026-02-30"),
        ("date", "23/11/2026"),
        ("date", ""),
        ("date", 20261123),
        ("enum", "Gold"),
        ("enum", "gold plan"),
        ("enum", "gold\n"),
        ("enum", 1),
        ("boolean", "true"),
        ("boolean", 1),
        ("boolean", None),
        ("colour", "red"),
        ("", "x"),
    ],
)
def test_invalid_custom_field_values_are_rejected(kind: str, value: object) -> None:
    with pytest.raises(InvalidValueError):
        FieldValue.parse(kind, value)


# --- assignment --------------------------------------------------------------------------------------


def test_assigning_an_agent_only_keeps_the_group(app: HelpDesk, ticket_id: UUID) -> None:
    app.assign(ticket_id, group="hardware", by=AGENT, via="web")
    receipt = app.assign(ticket_id, assignee="carol", by=AGENT, via="web")

    assert (receipt.ticket.assignee, receipt.ticket.group) == ("carol", "hardware")
    assert app.history(ticket_id)[-1].changes == (FieldChange("assignee", None, "carol"),)


def test_naming_only_a_group_clears_the_agent(app: HelpDesk, ticket_id: UUID) -> None:
    app.assign(ticket_id, assignee="carol", group="hardware", by=AGENT, via="web")
    receipt = app.assign(ticket_id, group="network", by=AGENT, via="web")

    assert (receipt.ticket.assignee, receipt.ticket.group) == (None, "network")
    assert app.history(ticket_id)[-1].changes == (
        FieldChange("assignee", "carol", None),
        FieldChange("group", "hardware", "network"),
    )


def test_naming_only_the_current_group_still_returns_the_ticket_to_its_queue(app: HelpDesk, ticket_id: UUID) -> None:
    app.assign(ticket_id, assignee="carol", group="hardware", by=AGENT, via="web")
    receipt = app.assign(ticket_id, group="hardware", by=AGENT, via="web")

    assert receipt.position is not None
    assert (receipt.ticket.assignee, receipt.ticket.group) == (None, "hardware")


def test_assigning_agent_and_group_together_records_one_event(app: HelpDesk, ticket_id: UUID) -> None:
    receipt = app.assign(ticket_id, assignee="carol", group="hardware", by=ROUTER, via="system")

    assert (receipt.ticket.assignee, receipt.ticket.group) == ("carol", "hardware")
    assert receipt.version == 2
    assert stored(app, ticket_id) == 2
    entry = app.history(ticket_id)[-1]
    assert entry.event == "Assigned"
    assert (entry.actor_id, entry.actor_kind, entry.via) == ("round-robin", "system", "system")
    assert entry.changes == (FieldChange("assignee", None, "carol"), FieldChange("group", None, "hardware"))


@pytest.mark.parametrize(
    "assignment",
    [{"assignee": "carol"}, {"group": "hardware"}, {"assignee": "carol", "group": "hardware"}],
    ids=["agent", "group", "both"],
)
def test_repeating_an_assignment_records_nothing(app: HelpDesk, ticket_id: UUID, assignment: dict[str, Any]) -> None:
    first = app.assign(ticket_id, **assignment, by=AGENT, via="web")
    again = app.assign(ticket_id, **assignment, by=AGENT, via="web")

    assert first.position is not None
    assert again.position is None
    assert again.version == first.version == 2
    assert stored(app, ticket_id) == 2


@pytest.mark.parametrize(
    "assignment",
    [{}, {"assignee": "carol smith"}, {"group": ""}, {"assignee": "carol", "group": "hard ware"}],
    ids=["neither", "bad-agent", "empty-group", "bad-group"],
)
def test_an_invalid_assignment_is_rejected_and_stores_nothing(
    app: HelpDesk, ticket_id: UUID, assignment: dict[str, Any]
) -> None:
    with pytest.raises(InvalidValueError):
        app.assign(ticket_id, **assignment, by=AGENT, via="web")

    assert stored(app, ticket_id) == 1
    assert app.get_ticket(ticket_id).assignee is None


def test_unassigning_keeps_the_group(app: HelpDesk, ticket_id: UUID) -> None:
    app.assign(ticket_id, assignee="carol", group="hardware", by=AGENT, via="web")
    receipt = app.unassign(ticket_id, by=AGENT, via="web")

    assert (receipt.ticket.assignee, receipt.ticket.group) == (None, "hardware")
    entry = app.history(ticket_id)[-1]
    assert entry.event == "Unassigned"
    assert entry.changes == (FieldChange("assignee", "carol", None),)


def test_unassigning_an_unassigned_ticket_records_nothing(app: HelpDesk, ticket_id: UUID) -> None:
    receipt = app.unassign(ticket_id, by=AGENT, via="web")

    assert receipt.position is None
    assert receipt.version == 1
    assert stored(app, ticket_id) == 1


# --- workflow ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("source", "target"), LEGAL_MOVES, ids=[f"{s}->{t}" for s, t in LEGAL_MOVES])
def test_every_legal_move_of_the_default_workflow_succeeds(
    app: HelpDesk, ticket_id: UUID, source: Status, target: Status
) -> None:
    move_to(app, ticket_id, source)
    before = stored(app, ticket_id)

    receipt = app.transition(ticket_id, target.value, by=AGENT, via="web")

    assert receipt.ticket.status == target
    assert app.get_ticket(ticket_id).status == target
    assert stored(app, ticket_id) == before + 1
    entry = app.history(ticket_id)[-1]
    assert entry.event == "Transitioned"
    assert entry.changes == (FieldChange("status", source.value, target.value),)


@pytest.mark.parametrize(("source", "target"), ILLEGAL_MOVES, ids=[f"{s}->{t}" for s, t in ILLEGAL_MOVES])
def test_every_illegal_move_is_rejected_and_stores_nothing(
    app: HelpDesk, ticket_id: UUID, source: Status, target: Status
) -> None:
    move_to(app, ticket_id, source)
    before = stored(app, ticket_id)

    with pytest.raises(IllegalTransitionError):
        app.transition(ticket_id, target.value, by=AGENT, via="web")

    assert stored(app, ticket_id) == before
    assert app.get_ticket(ticket_id).status == source


def test_an_unknown_status_is_rejected_and_stores_nothing(app: HelpDesk, ticket_id: UUID) -> None:
    with pytest.raises(InvalidValueError):
        app.transition(ticket_id, "archived", by=AGENT, via="web")

    assert stored(app, ticket_id) == 1


def test_a_solved_ticket_can_be_reopened(app: HelpDesk, ticket_id: UUID) -> None:
    app.transition(ticket_id, "solved", by=AGENT, via="web")
    receipt = app.transition(ticket_id, "open", by=REQUESTER, via="email")

    assert receipt.ticket.status == Status.OPEN
    entry = app.history(ticket_id)[-1]
    assert (entry.actor_id, entry.actor_kind, entry.via) == ("bob", "requester", "email")
    assert entry.changes == (FieldChange("status", "solved", "open"),)


CLOSED_TICKET_COMMANDS: dict[str, Callable[[HelpDesk, UUID], Receipt]] = {
    "assign-agent": lambda app, tid: app.assign(tid, assignee="carol", by=AGENT, via="web"),
    "assign-group": lambda app, tid: app.assign(tid, group="hardware", by=AGENT, via="web"),
    "unassign": lambda app, tid: app.unassign(tid, by=AGENT, via="web"),
    "reopen": lambda app, tid: app.transition(tid, "open", by=AGENT, via="web"),
    "public-reply": lambda app, tid: app.add_comment(tid, "Any news?", public=True, by=REQUESTER, via="email"),
    "internal-note": lambda app, tid: app.add_comment(tid, "Checked the logs", public=False, by=AGENT, via="web"),
    "priority": lambda app, tid: app.update_ticket(tid, priority="urgent", by=AGENT, via="web"),
    "type": lambda app, tid: app.update_ticket(tid, ticket_type="problem", by=AGENT, via="web"),
    "add-tags": lambda app, tid: app.update_ticket(tid, add_tags=["vip"], by=AGENT, via="web"),
    "remove-tags": lambda app, tid: app.update_ticket(tid, remove_tags=["printer"], by=AGENT, via="web"),
    "custom-field": lambda app, tid: app.update_ticket(
        tid, custom_fields={"seats": FieldValue.parse("number", 3)}, by=AGENT, via="web"
    ),
    "no-op-update": lambda app, tid: app.update_ticket(tid, by=AGENT, via="web"),
}


@pytest.mark.parametrize("command", CLOSED_TICKET_COMMANDS.values(), ids=CLOSED_TICKET_COMMANDS.keys())
def test_closed_is_final_every_command_on_a_closed_ticket_is_rejected(
    app: HelpDesk, command: Callable[[HelpDesk, UUID], Receipt]
) -> None:
    ticket_id = open_ticket(app, tags=["printer"]).ticket_id
    app.assign(ticket_id, assignee="carol", group="hardware", by=AGENT, via="web")
    move_to(app, ticket_id, Status.CLOSED)
    before = stored(app, ticket_id)

    with pytest.raises(TicketClosedError):
        command(app, ticket_id)

    assert stored(app, ticket_id) == before
    assert app.get_ticket(ticket_id).status == Status.CLOSED


def test_a_configured_workflow_decides_which_moves_are_legal(clock: ManualClock) -> None:
    strict = Workflow(
        {
            Status.NEW: frozenset({Status.OPEN}),
            Status.OPEN: frozenset({Status.SOLVED}),
            Status.SOLVED: frozenset({Status.CLOSED}),
        }
    )
    app = HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=clock, workflow=strict)
    ticket_id = open_ticket(app).ticket_id

    with pytest.raises(IllegalTransitionError):
        app.transition(ticket_id, "solved", by=AGENT, via="web")
    app.transition(ticket_id, "open", by=AGENT, via="web")
    app.transition(ticket_id, "solved", by=AGENT, via="web")
    with pytest.raises(IllegalTransitionError):
        app.transition(ticket_id, "open", by=AGENT, via="web")

    assert app.get_ticket(ticket_id).status == Status.SOLVED
    assert stored(app, ticket_id) == 3


def test_a_workflow_may_not_allow_leaving_closed() -> None:
    with pytest.raises(InvalidValueError):
        Workflow({**DEFAULT_TRANSITIONS, Status.CLOSED: frozenset({Status.OPEN})})


# --- conversation ------------------------------------------------------------------------------------


def test_comments_are_numbered_in_order_across_replies_and_notes(app: HelpDesk, ticket_id: UUID) -> None:
    first = app.add_comment(ticket_id, "We are looking into it.", public=True, by=AGENT, via="web")
    second = app.add_comment(ticket_id, "Probably the fuser.", public=False, by=AGENT, via="web")
    third = app.add_comment(ticket_id, "Still jammed.", public=True, by=REQUESTER, via="email")

    comments = app.get_ticket(ticket_id).comments
    assert [c.number for c in comments] == [1, 2, 3]
    assert [c.public for c in comments] == [True, False, True]
    assert [(c.author_id, c.author_kind) for c in comments] == [
        ("alice", "agent"),
        ("alice", "agent"),
        ("bob", "requester"),
    ]
    assert [c.body for c in comments] == ["We are looking into it.", "Probably the fuser.", "Still jammed."]
    assert [r.version for r in (first, second, third)] == [2, 3, 4]
    assert [e.changes for e in app.history(ticket_id)[1:]] == [
        (FieldChange("comments.1", None, {"kind": "public_reply", "body": "We are looking into it."}),),
        (FieldChange("comments.2", None, {"kind": "internal_note", "body": "Probably the fuser."}),),
        (FieldChange("comments.3", None, {"kind": "public_reply", "body": "Still jammed."}),),
    ]


def test_the_last_contacts_are_public_messages_of_each_side(app: HelpDesk, clock: ManualClock) -> None:
    opened = open_ticket(app, by=REQUESTER, via="email").ticket_id
    on_behalf = open_ticket(app).ticket_id
    assert app.get_ticket(opened).last_contact_customer_at == START  # the request itself is the first contact
    assert app.get_ticket(on_behalf).last_contact_customer_at is None  # an agent wrote it down
    replied = clock.advance(minutes=5)
    app.add_comment(opened, "Which printer?", public=True, by=AGENT, via="web")
    clock.advance(minutes=5)
    app.add_comment(opened, "Probably the fuser.", public=False, by=AGENT, via="web")  # a note is no contact
    wrote = clock.advance(minutes=5)
    app.add_comment(opened, "The one on floor 3.", public=True, by=REQUESTER, via="email")

    ticket = app.get_ticket(opened)
    assert (ticket.last_contact_customer_at, ticket.last_contact_agent_at) == (wrote, replied)


def test_a_snapshot_taken_before_the_last_contacts_were_kept_derives_them(app: HelpDesk, clock: ManualClock) -> None:
    ticket_id = open_ticket(app, by=REQUESTER, via="email").ticket_id
    replied = clock.advance(minutes=5)
    app.add_comment(ticket_id, "Which printer?", public=True, by=AGENT, via="web")
    ticket = app.get_ticket(ticket_id)
    older = {k: v for k, v in ticket.Snapshot.take(ticket).state.items() if not k.startswith("last_contact")}

    restored = ticket.Snapshot(
        originator_id=ticket.id, originator_version=ticket.version, timestamp=START, topic="", state=older
    ).mutate(None)

    assert (restored.last_contact_customer_at, restored.last_contact_agent_at) == (START, replied)


def test_a_comment_records_the_moment_from_the_clock(app: HelpDesk, clock: ManualClock, ticket_id: UUID) -> None:
    moment = clock.advance(minutes=7)
    app.add_comment(ticket_id, "On my way.", public=True, by=AGENT, via="web")

    assert app.get_ticket(ticket_id).comments[0].at == moment


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("@carol please look", ("carol",)),
        ("Thanks @carol, cc @dave.k and @carol again", ("carol", "dave.k")),
        ("Reply to bob@example.com", ()),
        ("mail bob@example.com and ping @erin.", ("erin",)),
        ("(@frank) [@grace] @heidi_", ("frank", "grace", "heidi")),
        ("@@ivan and @ alone", ()),
        ("no mentions here", ()),
    ],
)
def test_mentions_are_parsed_from_the_comment_body(
    app: HelpDesk, ticket_id: UUID, body: str, expected: tuple[str, ...]
) -> None:
    app.add_comment(ticket_id, body, public=False, by=AGENT, via="web")

    assert app.get_ticket(ticket_id).comments[0].mentions == expected


def test_a_requester_cannot_write_an_internal_note(app: HelpDesk, ticket_id: UUID) -> None:
    with pytest.raises(NotPermittedError):
        app.add_comment(ticket_id, "Let me see the notes", public=False, by=REQUESTER, via="web")

    assert stored(app, ticket_id) == 1


@pytest.mark.parametrize("actor", [AGENT, ROUTER, INTEGRATION], ids=lambda a: a.kind.value)
def test_other_actors_can_write_internal_notes(app: HelpDesk, ticket_id: UUID, actor: Actor) -> None:
    app.add_comment(ticket_id, "Routing note", public=False, by=actor, via="api")

    comment = app.get_ticket(ticket_id).comments[0]
    assert (comment.public, comment.author_kind) == (False, actor.kind.value)


@pytest.mark.parametrize("body", ["", "   ", "\n\t", "b" * 65_537], ids=["empty", "spaces", "whitespace", "long"])
def test_a_blank_or_oversized_comment_is_rejected_and_stores_nothing(app: HelpDesk, ticket_id: UUID, body: str) -> None:
    with pytest.raises(InvalidValueError):
        app.add_comment(ticket_id, body, public=True, by=AGENT, via="web")

    assert stored(app, ticket_id) == 1


def test_attachment_metadata_is_kept_with_the_comment(app: HelpDesk, ticket_id: UUID) -> None:
    files = [Attachment("error.png", 48_213, "image/png"), Attachment("printer.log", 0, "text/plain")]
    app.add_comment(ticket_id, "Screenshot attached", public=True, attachments=files, by=REQUESTER, via="web")

    assert app.get_ticket(ticket_id).comments[0].attachments == (
        {"name": "error.png", "size": 48_213, "content_type": "image/png"},
        {"name": "printer.log", "size": 0, "content_type": "text/plain"},
    )


def test_too_many_attachments_are_rejected_and_store_nothing(app: HelpDesk, ticket_id: UUID) -> None:
    files = [Attachment(f"page-{n}.pdf", 100, "application/pdf") for n in range(ATTACHMENTS_MAX + 1)]

    with pytest.raises(InvalidValueError):
        app.add_comment(ticket_id, "Scans", public=True, attachments=files, by=AGENT, via="web")

    assert stored(app, ticket_id) == 1


@pytest.mark.parametrize(("name", "size"), [("", 1), ("  ", 1), ("n" * 256, 1), ("scan.pdf", -1)])
def test_invalid_attachment_metadata_is_rejected(name: str, size: int) -> None:
    with pytest.raises(InvalidValueError):
        Attachment(name, size, "application/pdf")


# --- classification ----------------------------------------------------------------------------------


def test_update_changes_priority_type_tags_and_custom_fields_together(
    app: HelpDesk, clock: ManualClock, ticket_id: UUID
) -> None:
    moment = clock.advance(hours=1)
    readings = clock.readings

    receipt = app.update_ticket(
        ticket_id,
        priority="urgent",
        ticket_type="incident",
        add_tags=["printer", "floor-3"],
        custom_fields={"seats": FieldValue.parse("number", 40), "renewal": FieldValue.parse("date", "2026-12-31")},
        by=AGENT,
        via="web",
    )

    ticket = app.get_ticket(ticket_id)
    assert ticket == receipt.ticket
    assert ticket.priority is Priority.URGENT
    assert ticket.ticket_type == "incident"
    assert ticket.tags == ["floor-3", "printer"]
    assert ticket.custom_fields == {
        "renewal": FieldValue.parse("date", "2026-12-31"),
        "seats": FieldValue.parse("number", 40),
    }
    new_entries = app.history(ticket_id)[1:]
    assert [e.event for e in new_entries] == [
        "PriorityChanged",
        "TypeChanged",
        "TagsChanged",
        "CustomFieldChanged",
        "CustomFieldChanged",
    ]
    assert {e.at for e in new_entries} == {moment}
    assert clock.readings == readings + 1
    assert receipt.version == 6
    assert receipt.position == app.recorder.max_notification_id()


def test_an_update_is_all_or_nothing(app: HelpDesk, ticket_id: UUID) -> None:
    with pytest.raises(InvalidValueError):
        app.update_ticket(
            ticket_id,
            priority="urgent",
            ticket_type="incident",
            add_tags=["printer", "Not A Slug"],
            by=AGENT,
            via="web",
        )
    with pytest.raises(InvalidValueError):
        app.update_ticket(
            ticket_id,
            priority="urgent",
            custom_fields={"seats": FieldValue.parse("number", 4), "Bad Name": None},
            by=AGENT,
            via="web",
        )

    ticket = app.get_ticket(ticket_id)
    assert stored(app, ticket_id) == 1
    assert ticket.priority is Priority.NORMAL
    assert ticket.ticket_type is None
    assert ticket.tags == []
    assert ticket.custom_fields == {}


@pytest.mark.parametrize(
    "update",
    [
        {"priority": "critical"},
        {"ticket_type": "Bad Type"},
        {"add_tags": ["Bad Tag"]},
        {"remove_tags": ["Bad Tag"]},
        {"custom_fields": {"Bad Name": FieldValue.parse("text", "x")}},
    ],
    ids=["priority", "type", "add-tag", "remove-tag", "custom-field-name"],
)
def test_an_update_with_an_invalid_value_is_rejected(app: HelpDesk, ticket_id: UUID, update: dict[str, Any]) -> None:
    with pytest.raises(InvalidValueError):
        app.update_ticket(ticket_id, **update, by=AGENT, via="web")

    assert stored(app, ticket_id) == 1


def test_leaving_out_the_type_keeps_it_and_none_clears_it(app: HelpDesk) -> None:
    ticket_id = open_ticket(app, ticket_type="question").ticket_id

    kept = app.update_ticket(ticket_id, priority="low", by=AGENT, via="web")
    assert kept.ticket.ticket_type == "question"

    cleared = app.update_ticket(ticket_id, ticket_type=None, by=AGENT, via="web")
    assert cleared.ticket.ticket_type is None
    assert app.history(ticket_id)[-1].changes == (FieldChange("type", "question", None),)


def test_tags_are_added_and_removed_and_history_shows_both_lists(app: HelpDesk) -> None:
    ticket_id = open_ticket(app, tags=["printer"]).ticket_id

    app.update_ticket(ticket_id, add_tags=["vip", "floor-3"], by=AGENT, via="web")
    receipt = app.update_ticket(ticket_id, remove_tags=["printer", "never-there"], by=AGENT, via="web")

    assert receipt.ticket.tags == ["floor-3", "vip"]
    assert [e.changes for e in app.history(ticket_id)[1:]] == [
        (FieldChange("tags", ["printer"], ["floor-3", "printer", "vip"]),),
        (FieldChange("tags", ["floor-3", "printer", "vip"], ["floor-3", "vip"]),),
    ]


def test_a_custom_field_can_be_changed_and_cleared(app: HelpDesk, ticket_id: UUID) -> None:
    app.update_ticket(ticket_id, custom_fields={"vip": FieldValue.parse("boolean", False)}, by=AGENT, via="web")
    app.update_ticket(ticket_id, custom_fields={"vip": FieldValue.parse("boolean", True)}, by=AGENT, via="web")
    receipt = app.update_ticket(ticket_id, custom_fields={"vip": None}, by=AGENT, via="web")

    assert receipt.ticket.custom_fields == {}
    assert [e.changes for e in app.history(ticket_id)[1:]] == [
        (FieldChange("custom_fields.vip", None, {"kind": "boolean", "value": False}),),
        (FieldChange("custom_fields.vip", {"kind": "boolean", "value": False}, {"kind": "boolean", "value": True}),),
        (FieldChange("custom_fields.vip", {"kind": "boolean", "value": True}, None),),
    ]


def test_an_update_that_changes_nothing_records_nothing(app: HelpDesk) -> None:
    ticket_id = open_ticket(
        app,
        priority="high",
        ticket_type="task",
        tags=["printer"],
        custom_fields={"seats": FieldValue.parse("number", 3)},
    ).ticket_id

    receipt = app.update_ticket(
        ticket_id,
        priority="high",
        ticket_type="task",
        add_tags=["printer"],
        remove_tags=["absent"],
        custom_fields={"seats": FieldValue.parse("number", 3), "never-set": None},
        by=AGENT,
        via="web",
    )

    assert receipt.position is None
    assert receipt.version == 1
    assert stored(app, ticket_id) == 1


# --- optimistic concurrency ----------------------------------------------------------------------------


VERSIONED_COMMANDS: dict[str, Callable[[HelpDesk, UUID, ExpectedVersion], Receipt]] = {
    "assign": lambda app, tid, v: app.assign(tid, assignee="carol", by=AGENT, via="web", expected_version=v),
    "unassign": lambda app, tid, v: app.unassign(tid, by=AGENT, via="web", expected_version=v),
    "transition": lambda app, tid, v: app.transition(tid, "solved", by=AGENT, via="web", expected_version=v),
    "comment": lambda app, tid, v: app.add_comment(tid, "Done", public=True, by=AGENT, via="web", expected_version=v),
    "update": lambda app, tid, v: app.update_ticket(tid, priority="low", by=AGENT, via="web", expected_version=v),
}


@pytest.mark.parametrize("command", VERSIONED_COMMANDS.values(), ids=VERSIONED_COMMANDS.keys())
@pytest.mark.parametrize("expected_version", [1, 3, 0])
def test_a_stale_expected_version_is_rejected_and_stores_nothing(
    app: HelpDesk, ticket_id: UUID, command: Callable[[HelpDesk, UUID, ExpectedVersion], Receipt], expected_version: int
) -> None:
    app.assign(ticket_id, assignee="dave", by=AGENT, via="web")

    with pytest.raises(VersionMismatchError) as caught:
        command(app, ticket_id, expected_version)

    assert (caught.value.expected, caught.value.actual) == (expected_version, 2)
    assert stored(app, ticket_id) == 2


@pytest.mark.parametrize("command", VERSIONED_COMMANDS.values(), ids=VERSIONED_COMMANDS.keys())
def test_the_current_expected_version_is_accepted(
    app: HelpDesk, ticket_id: UUID, command: Callable[[HelpDesk, UUID, ExpectedVersion], Receipt]
) -> None:
    app.assign(ticket_id, assignee="dave", by=AGENT, via="web")

    receipt = command(app, ticket_id, 2)

    assert receipt.version == 3
    assert stored(app, ticket_id) == 3


@pytest.mark.parametrize("command", VERSIONED_COMMANDS.values(), ids=VERSIONED_COMMANDS.keys())
def test_any_of_several_expected_versions_is_accepted(
    app: HelpDesk, ticket_id: UUID, command: Callable[[HelpDesk, UUID, ExpectedVersion], Receipt]
) -> None:
    app.assign(ticket_id, assignee="dave", by=AGENT, via="web")

    assert command(app, ticket_id, frozenset({1, 2})).version == 3


@pytest.mark.parametrize("expected", [frozenset({1, 3}), frozenset()], ids=["others", "none"])
def test_several_expected_versions_none_current_are_rejected(
    app: HelpDesk, ticket_id: UUID, expected: frozenset[int]
) -> None:
    app.assign(ticket_id, assignee="dave", by=AGENT, via="web")

    with pytest.raises(VersionMismatchError) as caught:
        app.transition(ticket_id, "solved", by=AGENT, via="web", expected_version=expected)

    assert (caught.value.expected, caught.value.actual) == (expected, 2)
    assert "current version is 2" in str(caught.value)
    assert stored(app, ticket_id) == 2


# --- command context ---------------------------------------------------------------------------------


def test_a_malformed_channel_is_rejected_and_stores_nothing(app: HelpDesk, ticket_id: UUID) -> None:
    with pytest.raises(InvalidValueError):
        app.assign(ticket_id, assignee="carol", by=AGENT, via="Phone Call")

    assert stored(app, ticket_id) == 1


@pytest.mark.parametrize("actor_id", ["", "alice smith", "-alice", "a" * 129])
def test_an_actor_needs_a_usable_id(actor_id: str) -> None:
    with pytest.raises(InvalidValueError):
        Actor(actor_id, ActorKind.AGENT)


def test_a_clock_without_a_time_zone_is_refused() -> None:
    app = HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime(2026, 3, 2, 9, 0))

    with pytest.raises(InvalidValueError):
        open_ticket(app)

    assert app.recorder.max_notification_id() is None


@pytest.mark.parametrize(
    "make_text",
    [
        lambda value: {"title": value},
        lambda value: {"description": value},
        lambda value: {"custom_fields": {"note": FieldValue.parse("text", value)}},
    ],
    ids=["title", "description", "text-custom-field"],
)
def test_text_that_cannot_be_stored_is_rejected_as_an_invalid_value(
    app: HelpDesk, make_text: Callable[[str], dict[str, Any]]
) -> None:
    # A lone surrogate is valid in a Python str (and in a JSON request body) but has no UTF-8 encoding.
    with pytest.raises(InvalidValueError):
        open_ticket(app, **make_text("jammed \ud800"))

    assert app.recorder.max_notification_id() is None


def test_a_comment_that_cannot_be_stored_is_rejected_as_an_invalid_value(app: HelpDesk, ticket_id: UUID) -> None:
    with pytest.raises(InvalidValueError):
        app.add_comment(ticket_id, "still jammed \udfff", public=True, by=REQUESTER, via="email")

    assert stored(app, ticket_id) == 1


# --- history -----------------------------------------------------------------------------------------


def test_history_records_who_when_via_and_what_for_every_event(app: HelpDesk, clock: ManualClock) -> None:
    opened_at = clock.now
    ticket_id = open_ticket(
        app, description="Jams on every page", ticket_type="incident", tags=["printer"], by=REQUESTER, via="email"
    ).ticket_id
    assigned_at = clock.advance(minutes=2)
    app.assign(ticket_id, assignee="carol", group="hardware", by=ROUTER, via="system")
    replied_at = clock.advance(minutes=30)
    app.add_comment(ticket_id, "On my way", public=True, by=AGENT, via="web")
    pending_at = clock.advance(minutes=1)
    app.transition(ticket_id, "pending", by=AGENT, via="web")
    prioritised_at = clock.advance(days=1)
    app.update_ticket(ticket_id, priority="high", by=INTEGRATION, via="api")

    history = app.history(ticket_id)

    assert [(e.version, e.event, e.at, e.actor_id, e.actor_kind, e.via) for e in history] == [
        (1, "Opened", opened_at, "bob", "requester", "email"),
        (2, "Assigned", assigned_at, "round-robin", "system", "system"),
        (3, "CommentAdded", replied_at, "alice", "agent", "web"),
        (4, "Transitioned", pending_at, "alice", "agent", "web"),
        (5, "PriorityChanged", prioritised_at, "crm-sync", "api_client", "api"),
    ]
    assert history[0].changes == (
        FieldChange("title", None, "Printer on floor 3 jams"),
        FieldChange("description", None, "Jams on every page"),
        FieldChange("requester_id", None, "bob"),
        FieldChange("channel", None, "email"),
        FieldChange("status", None, "new"),
        FieldChange("priority", None, "normal"),
        FieldChange("type", None, "incident"),
        FieldChange("tags", None, ["printer"]),
    )
    assert history[3].changes == (FieldChange("status", "new", "pending"),)
    assert history[4].changes == (FieldChange("priority", "normal", "high"),)
    assert len(history) == app.get_ticket(ticket_id).version


def test_the_opening_entry_lists_organisation_and_custom_fields(app: HelpDesk) -> None:
    ticket_id = open_ticket(
        app,
        organisation="acme-emea",
        custom_fields={"vip": FieldValue.parse("boolean", True), "seats": FieldValue.parse("number", 3)},
    ).ticket_id

    changes = app.history(ticket_id)[0].changes

    assert FieldChange("organisation", None, "acme-emea") in changes
    assert changes[-2:] == (
        FieldChange("custom_fields.seats", None, {"kind": "number", "value": 3}),
        FieldChange("custom_fields.vip", None, {"kind": "boolean", "value": True}),
    )


# --- the past ----------------------------------------------------------------------------------------


def test_a_ticket_at_each_version_shows_the_state_after_that_event(app: HelpDesk, ticket_id: UUID) -> None:
    app.assign(ticket_id, assignee="carol", by=AGENT, via="web")
    app.transition(ticket_id, "open", by=AGENT, via="web")
    app.update_ticket(ticket_id, priority="urgent", by=AGENT, via="web")

    states = [app.ticket_at_version(ticket_id, v) for v in range(1, 5)]

    assert [t.version for t in states] == [1, 2, 3, 4]
    assert [(t.assignee, t.status, t.priority) for t in states] == [
        (None, Status.NEW, Priority.NORMAL),
        ("carol", Status.NEW, Priority.NORMAL),
        ("carol", Status.OPEN, Priority.NORMAL),
        ("carol", Status.OPEN, Priority.URGENT),
    ]
    assert states[-1] == app.get_ticket(ticket_id)


@pytest.mark.parametrize(
    ("version", "error"), [(0, InvalidValueError), (-1, InvalidValueError), (3, TicketNotFoundError)]
)
def test_a_version_outside_the_ticket_s_history_is_an_error(
    app: HelpDesk, ticket_id: UUID, version: int, error: type[Exception]
) -> None:
    app.assign(ticket_id, assignee="carol", by=AGENT, via="web")

    with pytest.raises(error):
        app.ticket_at_version(ticket_id, version)


def test_a_ticket_as_of_a_moment_shows_its_last_version_recorded_by_then(
    app: HelpDesk, clock: ManualClock, ticket_id: UUID
) -> None:
    assigned_at = clock.advance(hours=1)
    app.assign(ticket_id, assignee="carol", by=AGENT, via="web")
    clock.advance(hours=1)
    app.transition(ticket_id, "solved", by=AGENT, via="web")

    assert app.ticket_as_of(ticket_id, START).version == 1
    assert app.ticket_as_of(ticket_id, assigned_at - timedelta(microseconds=1)).version == 1
    assert app.ticket_as_of(ticket_id, assigned_at).assignee == "carol"
    assert app.ticket_as_of(ticket_id, assigned_at + timedelta(minutes=59)).status == Status.NEW
    assert app.ticket_as_of(ticket_id, datetime(2030, 1, 1, tzinfo=UTC)) == app.get_ticket(ticket_id)


def test_as_of_compares_moments_across_time_zones(app: HelpDesk, clock: ManualClock, ticket_id: UUID) -> None:
    clock.advance(hours=1)
    app.assign(ticket_id, assignee="carol", by=AGENT, via="web")
    shanghai = timezone(timedelta(hours=8))

    assert app.ticket_as_of(ticket_id, datetime(2026, 3, 2, 17, 30, tzinfo=shanghai)).version == 1
    assert app.ticket_as_of(ticket_id, datetime(2026, 3, 2, 18, 0, tzinfo=shanghai)).version == 2


def test_a_ticket_as_of_a_moment_before_it_was_opened_is_not_found(app: HelpDesk, ticket_id: UUID) -> None:
    with pytest.raises(TicketNotFoundError):
        app.ticket_as_of(ticket_id, START - timedelta(microseconds=1))


def test_an_as_of_moment_without_a_time_zone_is_an_invalid_value(app: HelpDesk, ticket_id: UUID) -> None:
    with pytest.raises(InvalidValueError):
        app.ticket_as_of(ticket_id, datetime(2026, 3, 2, 10, 0))


# --- unknown tickets ---------------------------------------------------------------------------------


UNKNOWN_TICKET_CALLS: dict[str, Callable[[HelpDesk, UUID], object]] = {
    "get": lambda app, tid: app.get_ticket(tid),
    "history": lambda app, tid: app.history(tid),
    "at-version": lambda app, tid: app.ticket_at_version(tid, 1),
    "as-of": lambda app, tid: app.ticket_as_of(tid, START),
    "assign": lambda app, tid: app.assign(tid, assignee="carol", by=AGENT, via="web"),
    "unassign": lambda app, tid: app.unassign(tid, by=AGENT, via="web"),
    "transition": lambda app, tid: app.transition(tid, "open", by=AGENT, via="web"),
    "comment": lambda app, tid: app.add_comment(tid, "Hello", public=True, by=AGENT, via="web"),
    "update": lambda app, tid: app.update_ticket(tid, priority="high", by=AGENT, via="web"),
}


@pytest.mark.parametrize("call", UNKNOWN_TICKET_CALLS.values(), ids=UNKNOWN_TICKET_CALLS.keys())
def test_an_unknown_ticket_is_not_found(
    app: HelpDesk, ticket_id: UUID, call: Callable[[HelpDesk, UUID], object]
) -> None:
    with pytest.raises(TicketNotFoundError):
        call(app, uuid4())

    assert app.recorder.max_notification_id() == 1


def test_a_rebuilt_ticket_equals_the_live_one(app: HelpDesk, ticket_id: UUID) -> None:
    app.assign(ticket_id, assignee="carol", group="hardware", by=AGENT, via="web")
    app.add_comment(ticket_id, "cc @dave", public=False, by=AGENT, via="web")
    live = app.update_ticket(
        ticket_id, add_tags=["printer"], custom_fields={"ratio": FieldValue.parse("number", 0.25)}, by=AGENT, via="web"
    ).ticket

    rebuilt = project_aggregate(None, list(app.events.get(ticket_id)))

    assert rebuilt == live == app.get_ticket(ticket_id)


def test_a_copy_of_a_ticket_shares_nothing_a_command_changes(app: HelpDesk, clock: ManualClock) -> None:
    """Commands act on copies of cached tickets: changing the copy leaves the original as it was."""
    ticket_id = app.open_ticket(
        tenant="acme", title="Printer", requester_id="bob", tags=["printer"], by=AGENT, via="web"
    ).ticket_id
    app.add_comment(ticket_id, "first", public=True, by=AGENT, via="web")
    app.update_ticket(ticket_id, custom_fields={"asset": FieldValue.parse("text", "A-1")}, by=AGENT, via="web")
    original = app.get_ticket(ticket_id)
    before = copy.deepcopy(dict(vars(original)))  # the generic walk, for comparison
    ticket = copy.deepcopy(original)
    assert ticket == original
    assert ticket is not original

    context = CommandContext(actor=AGENT, via="web", at=clock.advance(minutes=1))
    with acting(context):
        ticket.add_comment("second", public=True)
        ticket.add_tags(["urgent"])
        ticket.set_custom_field("asset", FieldValue.parse("text", "A-2"))
        ticket.assign(assignee="carol")
    assert vars(original) == before
    assert ticket.version == original.version + 4
