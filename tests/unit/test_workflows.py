"""Workflows in the domain: definitions checked, versions kept, moves by state, role and required fields, migration."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from domain.actors import Actor, ActorKind
from domain.errors import IllegalTransitionError, InvalidValueError, MissingFieldsError, NotPermittedError
from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import Status
from domain.values import FieldValue
from domain.workflows.lifecycle import STANDARD, Lifecycle

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
AGENT = Actor("alice", ActorKind.AGENT, role="agent")
SUPERVISOR = Actor("sam", ActorKind.AGENT, role="supervisor")
REQUESTER = Actor("bob", ActorKind.REQUESTER, role="customer")
RULE = Actor("trigger:7", ActorKind.SYSTEM)

#: A repair order: parts can hold it (pending, so SLA clocks pause), a resolution code closes the work.
REPAIR: dict[str, Any] = {
    "states": [
        {"name": "reported", "category": "new"},
        {"name": "in_repair", "category": "open"},
        {"name": "waiting_for_parts", "category": "pending"},
        {"name": "repaired", "category": "solved"},
        {"name": "archived", "category": "closed"},
    ],
    "transitions": [
        {"from": "reported", "to": "in_repair"},
        {"from": "in_repair", "to": "waiting_for_parts"},
        {"from": "waiting_for_parts", "to": "in_repair"},
        {"from": "in_repair", "to": "repaired", "requires": ["resolution_code"]},
        {"from": "repaired", "to": "in_repair"},
        {"from": "repaired", "to": "archived", "roles": ["supervisor", "admin"]},
    ],
    "initial": "reported",
    "ticket_types": ["repair"],
}


@pytest.fixture
def desk() -> HelpDesk:
    return HelpDesk(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: datetime.now(UTC))


def _open(desk: HelpDesk, ticket_type: str | None = "repair") -> Ticket:
    receipt = desk.open_ticket(
        tenant="acme", title="Pump broken", requester_id="bob", ticket_type=ticket_type, by=AGENT, via="api"
    )
    return receipt.ticket


def _stored(desk: HelpDesk, ticket: Ticket) -> int:
    return len(list(desk.events.get(ticket.id)))


# --- definitions ---------------------------------------------------------------------------------------------


def test_a_definition_reads_back_as_it_was_given() -> None:
    lifecycle = Lifecycle.from_dict(REPAIR)

    assert Lifecycle.from_dict(lifecycle.as_dict()) == lifecycle
    assert lifecycle.category_of("waiting_for_parts") is Status.PENDING
    assert [m.target for m in lifecycle.moves_from("in_repair")] == ["waiting_for_parts", "repaired"]


@pytest.mark.parametrize(
    ("change", "said"),
    [
        ({"initial": "nowhere"}, "initial state"),
        ({"initial": "repaired"}, "category new, open, pending or on_hold"),
        ({"transitions": [{"from": "archived", "to": "in_repair"}]}, "final"),
        ({"transitions": [{"from": "in_repair", "to": "lost"}]}, "not a state"),
        ({"transitions": [{"from": "in_repair", "to": "in_repair"}]}, "loop"),
        ({"states": [{"name": "a", "category": "open"}, {"name": "a", "category": "new"}], "initial": "a"}, "twice"),
        ({"states": [{"name": "a", "category": "later"}], "initial": "a"}, "category"),
        ({"states": []}, "at least one state"),
        ({"transitions": [{"from": "reported", "to": "in_repair", "roles": ["auditor"]}]}, "role"),
        ({"ticket_types": ["Not A Slug"]}, "ticket type"),
        (
            {"states": [{"name": "reported", "category": "new", "required_fields": ["part_number"]}]},
            "initial state 'reported' cannot require fields",
        ),
        (
            {"states": [{"name": "reported", "category": "new", "required_fields": "x"}]},
            "required_fields must be a list",
        ),
        ({"states": [{"name": "reported", "category": "new", "required_fields": ["Not A Slug"]}]}, "required field"),
    ],
)
def test_a_definition_that_cannot_work_is_refused_saying_why(change: dict[str, Any], said: str) -> None:
    with pytest.raises(InvalidValueError, match=said):
        Lifecycle.from_dict({**REPAIR, **change})


names = st.sampled_from(["a", "b", "c", "d", "e"])
categories = st.sampled_from(list(Status))


@given(
    states=st.dictionaries(names, categories, min_size=1),
    moves=st.lists(st.tuples(names, names), max_size=12),
    initial=names,
)
def test_a_definition_is_accepted_exactly_when_it_can_work(
    states: dict[str, Status], moves: list[tuple[str, str]], initial: str
) -> None:
    definition = {
        "states": [{"name": n, "category": c.value} for n, c in states.items()],
        "transitions": [{"from": a, "to": b} for a, b in moves],
        "initial": initial,
    }
    workable = (
        initial in states
        and states[initial] not in (Status.SOLVED, Status.CLOSED)
        and all(a in states and b in states and a != b and states[a] is not Status.CLOSED for a, b in moves)
        and len(set(moves)) == len(moves)
    )
    try:
        lifecycle = Lifecycle.from_dict(definition)
    except InvalidValueError:
        assert not workable
    else:
        assert workable
        assert Lifecycle.from_dict(lifecycle.as_dict()) == lifecycle


def _requiring(state: str, *fields: str) -> dict[str, Any]:
    """REPAIR, with `state` requiring `fields` of every ticket that moves into it."""
    states = [{**s, "required_fields": list(fields)} if s["name"] == state else s for s in REPAIR["states"]]
    return {**REPAIR, "states": states}


def test_the_fields_a_state_requires_read_back_and_a_definition_stored_before_requires_none() -> None:
    lifecycle = Lifecycle.from_dict(_requiring("waiting_for_parts", "part_number", "supplier"))

    assert lifecycle.required == {"waiting_for_parts": ("part_number", "supplier")}
    assert Lifecycle.from_dict(lifecycle.as_dict()) == lifecycle
    assert lifecycle.as_dict()["states"][2] == {
        "name": "waiting_for_parts",
        "category": "pending",
        "required_fields": ["part_number", "supplier"],
    }
    stored_before = Lifecycle.from_dict(REPAIR)  # states without `required_fields`, as versions stored before say
    assert stored_before.required == {}
    assert Lifecycle.from_dict(stored_before.as_dict()) == stored_before
    repaired = next(m for m in lifecycle.moves if m.target == "repaired")
    assert lifecycle.requirements(repaired) == ("resolution_code",)
    into_wait = next(m for m in lifecycle.moves if m.target == "waiting_for_parts")
    assert lifecycle.requirements(into_wait) == ("part_number", "supplier")


# --- versions --------------------------------------------------------------------------------------------------


def test_every_tenant_has_the_standard_workflow_as_version_1_of_default(desk: HelpDesk) -> None:
    (default,) = desk.workflows("acme")

    assert (default.name, default.version) == ("default", 1)
    assert default.lifecycle == STANDARD
    assert _open(desk, None).workflow_version == 1


def test_publishing_makes_versions_and_new_tickets_of_its_types_run_under_the_latest(desk: HelpDesk) -> None:
    first = desk.publish_workflow(tenant="acme", name="repair", definition=REPAIR, by=ADMIN, via="api")
    again = desk.publish_workflow(tenant="acme", name="repair", definition=REPAIR, by=ADMIN, via="api")
    second = desk.publish_workflow(
        tenant="acme", name="repair", definition={**REPAIR, "initial": "in_repair"}, by=ADMIN, via="api"
    )

    assert (first.version, again.version, again.position, second.version) == (1, 1, None, 2)
    ticket = _open(desk)
    assert (ticket.workflow, ticket.workflow_version, ticket.status, ticket.category) == (
        "repair",
        2,
        "in_repair",
        Status.OPEN,
    )
    assert _open(desk, "question").workflow == "default"  # a type no workflow serves
    assert desk.workflow("acme", "repair", 1).lifecycle.initial == "reported"  # nothing is rewritten
    assert [w.name for w in desk.workflows("acme")] == ["default", "repair"]


def test_a_tenants_own_default_starts_at_version_2_and_a_type_has_one_workflow(desk: HelpDesk) -> None:
    receipt = desk.publish_workflow(
        tenant="acme", name="default", definition={**REPAIR, "ticket_types": []}, by=ADMIN, via="api"
    )

    assert receipt.version == 2
    assert _open(desk, None).workflow_version == 2
    assert desk.workflow("acme", "default", 1).lifecycle == STANDARD
    desk.publish_workflow(tenant="acme", name="repair", definition=REPAIR, by=ADMIN, via="api")
    with pytest.raises(InvalidValueError, match="served by the workflow 'repair'"):
        desk.publish_workflow(tenant="acme", name="field-work", definition=REPAIR, by=ADMIN, via="api")


def test_another_tenants_workflows_are_not_seen(desk: HelpDesk) -> None:
    desk.publish_workflow(tenant="acme", name="repair", definition=REPAIR, by=ADMIN, via="api")

    assert [w.name for w in desk.workflows("globex")] == ["default"]
    assert _open_in(desk, "globex").workflow == "default"


def _open_in(desk: HelpDesk, tenant: str) -> Ticket:
    return desk.open_ticket(
        tenant=tenant, title="Pump", requester_id="bob", ticket_type="repair", by=AGENT, via="api"
    ).ticket


# --- moves -------------------------------------------------------------------------------------------------------


@pytest.fixture
def repair(desk: HelpDesk) -> Ticket:
    desk.publish_workflow(tenant="acme", name="repair", definition=REPAIR, by=ADMIN, via="api")
    return _open(desk)


def test_a_move_the_workflow_does_not_define_names_the_allowed_ones_and_stores_nothing(
    desk: HelpDesk, repair: Ticket
) -> None:
    before = _stored(desk, repair)
    with pytest.raises(IllegalTransitionError) as refused:
        desk.transition(repair.id, "repaired", by=AGENT, via="api")

    assert refused.value.allowed == ["in_repair"]
    assert _stored(desk, repair) == before


def test_a_state_the_workflow_lacks_is_an_invalid_value(desk: HelpDesk, repair: Ticket) -> None:
    with pytest.raises(InvalidValueError, match="no state 'open'"):
        desk.transition(repair.id, "open", by=AGENT, via="api")


def test_a_move_needs_its_required_fields_which_may_come_with_it(desk: HelpDesk, repair: Ticket) -> None:
    desk.transition(repair.id, "in_repair", by=AGENT, via="api")
    before = _stored(desk, repair)
    with pytest.raises(MissingFieldsError) as refused:
        desk.transition(repair.id, "repaired", by=AGENT, via="api")
    assert refused.value.missing == ["resolution_code"]
    assert _stored(desk, repair) == before

    code = FieldValue.parse("text", "replaced seal")
    receipt = desk.transition(repair.id, "repaired", fields={"resolution_code": code}, by=AGENT, via="api")

    assert (receipt.ticket.status, receipt.ticket.category) == ("repaired", Status.SOLVED)
    assert receipt.ticket.custom_fields["resolution_code"] == code


def test_a_move_into_a_state_needs_the_fields_it_requires_from_every_state_and_from_rules_too(
    desk: HelpDesk,
) -> None:
    definition = _requiring("repaired", "resolution_code", "labour_minutes")
    desk.publish_workflow(tenant="acme", name="repair", definition=definition, by=ADMIN, via="api")
    ticket = _open(desk)
    desk.transition(ticket.id, "in_repair", by=AGENT, via="api")
    before = _stored(desk, ticket)

    with pytest.raises(MissingFieldsError, match="labour_minutes") as refused:
        desk.transition(
            ticket.id, "repaired", fields={"resolution_code": FieldValue.parse("text", "seal")}, by=AGENT, via="api"
        )
    assert refused.value.missing == ["labour_minutes"]  # the move's own and the state's, each once
    with pytest.raises(MissingFieldsError) as refused:
        desk.transition(ticket.id, "repaired", by=RULE, via="rule")  # rules are not held to roles, but to fields
    assert refused.value.missing == ["resolution_code", "labour_minutes"]
    assert _stored(desk, ticket) == before
    assert desk.get_ticket(ticket.id).custom_fields == {}  # the field given with the refused move was not kept

    fields = {"resolution_code": FieldValue.parse("text", "seal"), "labour_minutes": FieldValue.parse("number", 40)}
    moved = desk.transition(ticket.id, "repaired", fields=fields, by=AGENT, via="api")
    assert moved.ticket.status == "repaired"
    desk.transition(ticket.id, "in_repair", by=AGENT, via="api")  # back out, fields still set: in again at once
    assert desk.transition(ticket.id, "repaired", by=AGENT, via="api").ticket.status == "repaired"


def test_tickets_on_a_version_before_the_state_required_fields_are_not_held_to_them(desk: HelpDesk) -> None:
    desk.publish_workflow(tenant="acme", name="repair", definition=REPAIR, by=ADMIN, via="api")
    older = _open(desk)
    stricter = _requiring("waiting_for_parts", "part_number")
    desk.publish_workflow(tenant="acme", name="repair", definition=stricter, by=ADMIN, via="api")
    newer = _open(desk)
    for ticket in (older, newer):
        desk.transition(ticket.id, "in_repair", by=AGENT, via="api")

    assert desk.transition(older.id, "waiting_for_parts", by=AGENT, via="api").ticket.workflow_version == 1
    with pytest.raises(MissingFieldsError) as refused:
        desk.transition(newer.id, "waiting_for_parts", by=AGENT, via="api")
    assert refused.value.missing == ["part_number"]
    assert desk.workflow("acme", "repair", 1).lifecycle.required == {}
    assert desk.workflow("acme", "repair", 2).lifecycle.required == {"waiting_for_parts": ("part_number",)}


def test_a_move_limited_to_roles_is_refused_to_others(desk: HelpDesk, repair: Ticket) -> None:
    code = {"resolution_code": FieldValue.parse("text", "fixed")}
    desk.transition(repair.id, "in_repair", by=AGENT, via="api")
    desk.transition(repair.id, "repaired", fields=code, by=AGENT, via="api")

    with pytest.raises(NotPermittedError):
        desk.transition(repair.id, "archived", by=AGENT, via="api")
    assert [m.target for m in desk.get_ticket(repair.id).moves_for(AGENT, desk.lifecycle_of(repair))] == ["in_repair"]
    desk.transition(repair.id, "archived", by=RULE, via="rule")  # a rule an admin configured is not held to roles
    assert desk.get_ticket(repair.id).category is Status.CLOSED


def test_a_requester_reopens_a_solved_ticket_and_nothing_else(desk: HelpDesk, repair: Ticket) -> None:
    with pytest.raises(NotPermittedError):
        desk.transition(repair.id, "in_repair", by=REQUESTER, via="portal")
    desk.transition(repair.id, "in_repair", by=AGENT, via="api")
    desk.transition(
        repair.id, "repaired", fields={"resolution_code": FieldValue.parse("text", "x")}, by=AGENT, via="api"
    )

    assert [m.target for m in desk.get_ticket(repair.id).moves_for(REQUESTER, desk.lifecycle_of(repair))] == [
        "in_repair"
    ]
    desk.transition(repair.id, "in_repair", by=REQUESTER, via="portal")
    assert desk.get_ticket(repair.id).category is Status.OPEN


def test_history_says_the_workflow_and_the_categories_of_custom_states(desk: HelpDesk, repair: Ticket) -> None:
    desk.transition(repair.id, "in_repair", by=AGENT, via="api")
    desk.transition(repair.id, "waiting_for_parts", by=AGENT, via="api")

    opened, _, waiting = desk.history(repair.id)
    said = {c.field: (c.old, c.new) for c in opened.changes}
    assert said["workflow"] == (None, {"name": "repair", "version": 1})
    assert said["status"] == (None, "reported")
    assert said["status_category"] == (None, "new")
    assert [(c.field, c.old, c.new) for c in waiting.changes] == [
        ("status", "in_repair", "waiting_for_parts"),
        ("status_category", "open", "pending"),
    ]


# --- migration -------------------------------------------------------------------------------------------------


def test_a_migration_maps_states_to_the_new_version_and_refuses_an_incomplete_mapping(
    desk: HelpDesk, repair: Ticket
) -> None:
    desk.transition(repair.id, "in_repair", by=AGENT, via="api")
    desk.transition(repair.id, "waiting_for_parts", by=AGENT, via="api")
    renamed = {
        **REPAIR,
        "states": [
            s if s["name"] != "waiting_for_parts" else {"name": "on_order", "category": "on_hold"}
            for s in REPAIR["states"]
        ],
    }
    renamed["transitions"] = [t for t in REPAIR["transitions"] if "waiting_for_parts" not in (t["from"], t["to"])]
    desk.publish_workflow(tenant="acme", name="repair", definition=renamed, by=ADMIN, via="api")
    before = _stored(desk, repair)

    with pytest.raises(InvalidValueError, match=r"incomplete.*waiting_for_parts"):
        desk.migrate_tickets(
            tenant="acme", name="repair", from_version=1, mapping={}, ticket_ids=[repair.id], by=ADMIN, via="api"
        )
    assert _stored(desk, repair) == before

    (moved,) = desk.migrate_tickets(
        tenant="acme",
        name="repair",
        from_version=1,
        mapping={"waiting_for_parts": "on_order"},
        ticket_ids=[repair.id],
        by=ADMIN,
        via="api",
    )
    ticket = desk.get_ticket(repair.id)
    assert moved.error is None
    assert moved.position is not None
    assert (ticket.workflow_version, ticket.status, ticket.category) == (2, "on_order", Status.ON_HOLD)
    migrated = desk.history(repair.id)[-1]
    assert migrated.event == "WorkflowMigrated"
    again = desk.migrate_tickets(
        tenant="acme",
        name="repair",
        from_version=1,
        mapping={"waiting_for_parts": "on_order"},
        ticket_ids=[repair.id],
        by=ADMIN,
        via="api",
    )
    assert again[0].error is not None  # it runs under version 2 now: reported, nothing stored
    assert _stored(desk, repair) == before + 1
