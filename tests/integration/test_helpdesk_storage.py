"""The same HelpDesk scenarios on the in-memory, SQLite and PostgreSQL event stores."""

from __future__ import annotations

import json
import sqlite3
import threading
from datetime import timedelta

import pytest
from eventsourcing.persistence import IntegrityError

from domain.access.policy import Role
from domain.actors import Actor, ActorKind
from domain.errors import IllegalTransitionError, RaceLostError, VersionMismatchError
from domain.provenance import CommandContext, acting
from domain.values import FieldValue
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from tests.support.clock import TickingClock

ALICE = Actor("alice", ActorKind.AGENT)
BOB = Actor("bob", ActorKind.REQUESTER)


def _open(services: Services) -> object:
    receipt = services.desk.open_ticket(
        tenant="acme",
        title="VPN drops every hour",
        description="Since Monday.",
        requester_id="bob",
        organisation="acme-sales",
        ticket_type="incident",
        tags=["vpn", "network"],
        custom_fields={"site": FieldValue.parse("enum", "berlin")},
        by=BOB,
        via="email",
    )
    return receipt.ticket_id


def test_a_ticket_lives_through_its_workflow(services: Services) -> None:
    desk = services.desk
    ticket_id = _open(services)
    desk.assign(ticket_id, assignee="carol", group="network", by=ALICE, via="web")
    desk.transition(ticket_id, "open", by=ALICE, via="web")
    desk.add_comment(ticket_id, "Looking into it, @dave FYI", public=False, by=ALICE, via="web")
    desk.add_comment(ticket_id, "Still broken", public=True, by=BOB, via="email")
    desk.update_ticket(ticket_id, priority="high", add_tags=["escalated"], by=ALICE, via="web")
    desk.transition(ticket_id, "solved", by=ALICE, via="web")
    receipt = desk.transition(ticket_id, "open", by=BOB, via="email")

    ticket = desk.get_ticket(ticket_id)
    assert (ticket.status, ticket.assignee, ticket.group, ticket.priority) == ("open", "carol", "network", "high")
    assert ticket.tags == ["escalated", "network", "vpn"]
    assert [c.mentions for c in ticket.comments] == [("dave",), ()]
    assert ticket.version == receipt.version == 9
    assert [h.event for h in desk.history(ticket_id)] == [
        "Opened",
        "Assigned",
        "Transitioned",
        "CommentAdded",
        "CommentAdded",
        "PriorityChanged",
        "TagsChanged",
        "Transitioned",
        "Transitioned",
    ]


def test_log_positions_grow_with_every_recorded_event(services: Services) -> None:
    first = services.desk.open_ticket(tenant="acme", title="a", requester_id="bob", by=BOB, via="web")
    second = services.desk.assign(first.ticket_id, group="it", by=ALICE, via="web")
    unchanged = services.desk.assign(first.ticket_id, group="it", by=ALICE, via="web")
    assert first.position is not None
    assert second.position == first.position + 1
    assert unchanged.position is None
    assert unchanged.version == second.version


def test_an_illegal_transition_stores_nothing(services: Services) -> None:
    ticket_id = _open(services)
    with pytest.raises(IllegalTransitionError, match="cannot move from 'new' to 'closed'"):
        services.desk.transition(ticket_id, "closed", by=ALICE, via="web")
    assert len(list(services.desk.events.get(ticket_id))) == 1


def test_as_of_a_moment_and_a_version(services: Services, clock: TickingClock) -> None:
    desk = services.desk
    ticket_id = _open(services)
    desk.assign(ticket_id, assignee="carol", by=ALICE, via="web")
    between = clock.now + timedelta(milliseconds=500)
    desk.assign(ticket_id, assignee="erin", by=ALICE, via="web")

    assert desk.ticket_as_of(ticket_id, between).assignee == "carol"
    assert desk.ticket_at_version(ticket_id, 2) == desk.ticket_as_of(ticket_id, between)
    assert desk.get_ticket(ticket_id).assignee == "erin"


def test_a_stale_expected_version_is_rejected(services: Services) -> None:
    ticket_id = _open(services)
    services.desk.assign(ticket_id, assignee="carol", by=ALICE, via="web")
    with pytest.raises(VersionMismatchError):
        services.desk.assign(ticket_id, assignee="erin", by=ALICE, via="web", expected_version=1)
    assert services.desk.get_ticket(ticket_id).version == 2


def test_two_writers_of_one_version_one_wins(services: Services, clock: TickingClock) -> None:
    desk = services.desk
    ticket_id = _open(services)
    first, second = desk.get_ticket(ticket_id), desk.get_ticket(ticket_id)
    with acting(CommandContext(ALICE, "web", clock())):
        first.assign(assignee="carol")
    with acting(CommandContext(ALICE, "web", clock())):
        second.assign(assignee="erin")
    desk.save(first)
    with pytest.raises(RaceLostError) as lost:
        desk.save(second)
    assert isinstance(lost.value.__cause__, IntegrityError)  # the store's own refusal, told as a lost race
    assert (lost.value.record_id, lost.value.version) == (ticket_id, 2)
    assert desk.get_ticket(ticket_id).assignee == "carol"
    assert len(desk.history(ticket_id)) == 2


@pytest.mark.parametrize(
    "sql_settings", ["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True
)
def test_events_and_keys_survive_a_restart(sql_settings: Settings) -> None:
    with_clock = TickingClock()
    before = build_services(sql_settings, clock=with_clock)
    ticket_id = _open(before)
    before.desk.add_comment(ticket_id, "hello", public=True, by=ALICE, via="web")
    key = before.keys.create(actor_id="alice", role=Role.AGENT, tenant="acme")
    expected = before.desk.get_ticket(ticket_id)
    before.close()

    after = build_services(sql_settings, clock=with_clock)
    try:
        assert after.desk.get_ticket(ticket_id) == expected
        assert after.keys.authenticate(key.secret) == key.principal
        assert after.keys.authenticate(key.secret + "x") is None
    finally:
        after.close()


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_racing_threads_on_postgres_exactly_one_wins_per_version(sql_services: Services, clock: TickingClock) -> None:
    desk = sql_services.desk
    ticket_id = _open(sql_services)
    writers = 8
    barrier = threading.Barrier(writers)
    outcomes: list[str] = []
    lock = threading.Lock()

    def write(n: int) -> None:
        ticket = desk.get_ticket(ticket_id)
        with acting(CommandContext(ALICE, "web", clock())):
            ticket.assign(assignee=f"agent{n}")
        barrier.wait()
        try:
            desk.save(ticket)
            outcome = "won"
        except RaceLostError:
            outcome = "conflict"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=write, args=(n,)) for n in range(writers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert sorted(outcomes) == ["conflict"] * (writers - 1) + ["won"]
    assert [h.version for h in desk.history(ticket_id)] == [1, 2]


def test_events_recorded_before_roles_are_read_with_no_role(sqlite_settings: Settings) -> None:
    """A stored version-1 event (no actor_role) is upcast on reading, so old logs keep working."""
    path = sqlite_settings.database_url.removeprefix("sqlite:///")
    settings = sqlite_settings.model_copy(update={"aggregate_cache_size": 0})
    services = build_services(settings)
    try:
        receipt = services.desk.open_ticket(
            tenant="acme", title="t", requester_id="bob", by=Actor("alice", ActorKind.AGENT, "supervisor"), via="web"
        )
        assert services.desk.history(receipt.ticket_id)[0].actor_role == "supervisor"
        with sqlite3.connect(path) as db:
            state = json.loads(db.execute("SELECT state FROM stored_events").fetchone()[0])
            del state["actor_role"], state["class_version"]  # as version 1 stored it
            db.execute("UPDATE stored_events SET state = ?", (json.dumps(state).encode(),))
        assert services.desk.history(receipt.ticket_id)[0].actor_role is None
        assert services.desk.get_ticket(receipt.ticket_id).title == "t"
    finally:
        services.close()
