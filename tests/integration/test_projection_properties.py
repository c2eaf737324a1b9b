"""Properties of the ticket read models, on in-memory, SQLite and PostgreSQL storage.

For random command sequences over a few tickets:
- the projected rows and audit activity equal straightforward folds computed from the tickets themselves;
- feeding the same events again changes nothing (exactly once);
- a rebuild into a new generation equals the incrementally built one.
"""

from __future__ import annotations

import tempfile
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date
from pathlib import Path
from typing import Any

import psycopg
import pytest
from eventsourcing.persistence import Tracking
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from psycopg import sql

from domain.actors import Actor, ActorKind
from domain.errors import DomainError
from domain.helpdesk import HelpDesk
from domain.sla.clock import SlaClock
from domain.sla.config import SlaPolicy
from domain.sla.policy import select_policy
from domain.tickets.saved_views import SavedView
from domain.tickets.ticket import Ticket
from domain.values import FieldValue
from infrastructure.composition import Services, build_services
from infrastructure.readmodels.rebuild import rebuild
from infrastructure.readmodels.worker import ProjectionWorker
from infrastructure.settings import Settings
from projections.activity.queries import ActivityQueries
from projections.activity.rows import ActivityKey
from projections.batch import BatchConflictError
from projections.projection import TicketsProjection
from projections.sla.queries import SlaQueries
from projections.sla.rows import ticket_due
from projections.tickets.queries import Sort, TicketFilter, TicketQueries
from projections.tickets.rows import TicketRow
from projections.workload.queries import WorkloadQueries
from tests.support.clock import TickingClock

AGENT = Actor("alice", ActorKind.AGENT)
ADMIN = Actor("boss", ActorKind.AGENT, role="admin")
# Two SLA policies, tiny targets so that scripts meet, breach and pause them; a priority change switches policy.
POLICIES = {
    "fast": {
        "conditions": {"priorities": ["high", "urgent"]},
        "targets": {"first_response": 1, "next_response": 1, "resolution": 2},
        "pause_statuses": ["pending", "on_hold"],
        "warning_minutes": 0,
    },
    "slow": {"targets": {"first_response": 2, "resolution": 3}, "warning_minutes": 1},
}
REQUESTER = Actor("bob", ActorKind.REQUESTER)
# Targets of "move", weighted so that solve -> reopen -> solve -> close sequences are common.
STATUSES = ["open", "open", "pending", "on_hold", "solved", "solved", "closed"]

commands = st.lists(
    st.tuples(
        st.integers(min_value=0, max_value=1),  # which ticket (of two, so each sees many commands)
        st.sampled_from(
            [
                *("assign", "group", "unassign", "move", "move", "move", "reply", "note", "ask"),
                *("priority", "tags", "field", "title", "merge"),
            ]
        ),
        st.integers(min_value=0, max_value=6),  # an argument
    ),
    max_size=50,
)


@contextmanager
def fresh_services(backend: str, postgres_url: str | None) -> Iterator[Services]:
    """Services on empty storage of the given backend."""
    with tempfile.TemporaryDirectory() as folder:
        schema = f"p_{uuid.uuid4().hex[:12]}"
        if backend == "memory":
            config = Settings(database_url="memory://")
        elif backend == "sqlite":
            config = Settings(database_url=f"sqlite:///{Path(folder) / 'events.sqlite'}")
        else:
            assert postgres_url is not None
            with psycopg.connect(postgres_url, autocommit=True) as conn:
                conn.execute(sql.SQL("CREATE SCHEMA {}").format(sql.Identifier(schema)))
            config = Settings(database_url=postgres_url, postgres_schema=schema, pool_size=2)
        services = build_services(config, clock=TickingClock())
        try:
            yield services
        finally:
            services.close()
            if backend == "postgres":
                with psycopg.connect(postgres_url, autocommit=True) as conn:  # type: ignore[arg-type]
                    conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))


def apply(desk: HelpDesk, ids: list[uuid.UUID], script: list[tuple[int, str, int]]) -> None:
    """Run a command script; rejected commands are part of life and store nothing."""
    for which, command, arg in script:
        ticket_id = ids[which]
        try:
            if command == "assign":
                desk.assign(ticket_id, assignee=f"agent{arg % 3}", by=AGENT, via="web")
            elif command == "group":
                desk.assign(ticket_id, group=f"group{arg % 2}", by=AGENT, via="web")
            elif command == "unassign":
                desk.unassign(ticket_id, by=AGENT, via="web")
            elif command == "move":
                desk.transition(ticket_id, STATUSES[arg], by=AGENT, via="web")
            elif command in ("reply", "note", "ask"):
                by = REQUESTER if command == "ask" else AGENT
                desk.add_comment(ticket_id, f"comment {arg}", public=command != "note", by=by, via="email")
            elif command == "priority":
                desk.update_ticket(
                    ticket_id, priority=["low", "normal", "high", "urgent"][arg % 4], by=AGENT, via="web"
                )
            elif command == "tags":
                desk.update_ticket(
                    ticket_id, add_tags=[f"t{arg}"], remove_tags=[f"t{(arg + 1) % 6}"], by=AGENT, via="web"
                )
            elif command == "title":
                desk.update_ticket(ticket_id, title=f"Printer {arg}", description=f"Floor {arg}", by=AGENT, via="web")
            elif command == "merge":  # into the other ticket, which takes copies of this one's comments
                desk.merge_tickets(ticket_id, ids[1 - which], by=AGENT, via="web")
            else:
                value = None if arg == 0 else FieldValue.parse("number", arg)
                desk.update_ticket(ticket_id, custom_fields={"size": value}, by=AGENT, via="web")
        except DomainError:
            continue  # rejected commands are part of life and store nothing


def expected_row(desk: HelpDesk, ticket_id: uuid.UUID) -> TicketRow:
    """The row a ticket should have, computed from the ticket and its history (not from the projection)."""
    ticket = desk.get_ticket(ticket_id)
    events: list[Any] = list(desk.events.get(ticket_id))
    moves = [e for e in events if isinstance(e, Ticket.Transitioned | Ticket.MergedInto)]  # a merge closes
    solved_at = None  # the latest solve, unless a reopen came after it
    for e in moves:
        if e.new_status == "solved" and e.old_status != "solved":
            solved_at = e.timestamp
        elif e.old_status == "solved" and e.new_status != "closed":
            solved_at = None
    changed_status = [*moves, *(e for e in events if isinstance(e, Ticket.WorkflowMigrated))]
    entered = [
        e.timestamp for e in sorted(changed_status, key=lambda e: e.originator_version) if e.old_status != e.new_status
    ]
    public = [c for c in ticket.comments if c.public]
    own = [c for c in public if c.origin is None]  # copies a merge made were written on another ticket
    requester_moments = [c.at for c in own if c.author_kind == "requester"]
    if events[0].actor_kind == "requester":
        requester_moments.insert(0, events[0].timestamp)
    agent_moments = [c.at for c in own if c.author_kind == "agent"]
    # The aggregate keeps the same contact moments as the row (rules on either see one truth).
    assert ticket.last_contact_customer_at == (requester_moments[-1] if requester_moments else None)
    assert ticket.last_contact_agent_at == (agent_moments[-1] if agent_moments else None)
    return TicketRow(
        ticket_id=ticket.id,
        tenant=ticket.tenant,
        title=ticket.title,
        status=ticket.status,
        status_category=ticket.category.value,
        priority=ticket.priority.value,
        priority_rank=ticket.priority.rank,
        ticket_type=ticket.ticket_type,
        group=ticket.group,
        assignee=ticket.assignee,
        requester_id=ticket.requester_id,
        organisation=ticket.organisation,
        channel=ticket.channel,
        tags=list(ticket.tags),
        custom_fields={k: v.as_dict() for k, v in ticket.custom_fields.items()},
        created_at=ticket.created_on,
        updated_at=ticket.modified_on,
        solved_at=solved_at,
        closed_at=moves[-1].timestamp if ticket.category.value == "closed" else None,
        reopen_count=sum(1 for e in moves if e.old_status == "solved" and e.new_status == "open"),
        public_comments=len(public),
        internal_notes=len(ticket.comments) - len(public),
        first_agent_reply_at=next((c.at for c in own if c.author_kind == "agent"), None),
        last_requester_activity_at=requester_moments[-1] if requester_moments else None,
        last_contact_agent_at=agent_moments[-1] if agent_moments else None,
        version=ticket.version,
        position=0,  # positions are checked separately
        workflow=ticket.workflow,
        workflow_version=ticket.workflow_version,
        status_since=entered[-1] if entered else ticket.created_on,
        **_sla_fields(desk, ticket_id),
    )


def _sla_fields(desk: HelpDesk, ticket_id: uuid.UUID) -> dict[str, Any]:
    """The ticket row's SLA columns: earliest running due and warning moments, first breach."""
    events: list[Any] = list(desk.events.get(ticket_id))
    policies = [desk.applied_policy("acme", name) for name in ("fast", "slow")]
    clock = SlaClock.start()
    for event in events:
        facts = clock.facts_after(event)
        chosen = None if facts is None else select_policy([(a, a.terms) for a in policies], facts)
        clock.apply(event, None if chosen is None else chosen[0])
    due = ticket_due(clock.status(events[-1].timestamp))
    return {"sla_due_at": due.due_at, "sla_warn_at": due.warn_at, "sla_breached_at": due.breached_at}


def expected_targets(desk: HelpDesk, ticket_id: uuid.UUID) -> list[tuple[Any, ...]]:
    """A ticket's SLA targets, folded straight from its history with the policy each event selects."""
    events: list[Any] = list(desk.events.get(ticket_id))
    policies = [(name, desk.applied_policy("acme", name)) for name in ("fast", "slow")]
    clock = SlaClock.start()
    for event in events:
        facts = clock.facts_after(event)
        chosen = None if facts is None else select_policy([(a, a.terms) for _, a in policies], facts)
        clock.apply(event, None if chosen is None else chosen[0])
    return [_target_key(t) for t in clock.status(events[-1].timestamp)]


def _target_key(t: Any) -> tuple[Any, ...]:
    state = t.state if isinstance(t.state, str) else t.state.value
    target = t.target if isinstance(t.target, str) else t.target.value
    return (target, t.policy_id, state, t.cycle, t.due_at, t.elapsed_minutes, t.fulfilled_at, t.breached_at, t.pauses)


def expected_solved(desk: HelpDesk, ids: list[uuid.UUID]) -> dict[tuple[str, date], int]:
    """Tickets solved per (agent, day): each move to solved counts for the assignee at that moment."""
    counts: dict[tuple[str, date], int] = {}
    for ticket_id in ids:
        assignee = None
        for e in desk.events.get(ticket_id):
            if isinstance(e, Ticket.Assigned):
                assignee = e.assignee
            elif isinstance(e, Ticket.Unassigned):
                assignee = None
            elif isinstance(e, Ticket.Transitioned) and e.new_status == "solved" and assignee is not None:
                key = (assignee, e.timestamp.date())
                counts[key] = counts.get(key, 0) + 1
    return counts


def expected_activity(desk: HelpDesk, ids: list[uuid.UUID], view_ids: list[uuid.UUID]) -> dict[ActivityKey, int]:
    """Changes per (tenant, UTC day, actor, organisation, event type), counted from each aggregate's events."""
    counts: dict[ActivityKey, int] = {}
    for ticket_id in ids:
        events: list[Any] = list(desk.events.get(ticket_id))
        tenant, organisation = events[0].tenant, events[0].organisation  # as opened; neither ever changes
        for e in events:
            day = e.timestamp.astimezone(UTC).date()
            key = ActivityKey(tenant, day, e.actor_id, e.actor_kind, organisation, type(e).__name__)
            counts[key] = counts.get(key, 0) + 1
    for policy_id in (SlaPolicy.create_id("acme", name) for name in POLICIES):
        changes: list[Any] = list(desk.events.get(policy_id))
        for e in changes:
            day = e.timestamp.astimezone(UTC).date()
            key = ActivityKey("acme", day, e.actor_id, e.actor_kind, None, type(e).__name__)
            counts[key] = counts.get(key, 0) + 1
    for view_id in view_ids:
        for e in desk.events.get(view_id):
            assert isinstance(e, SavedView.Created)
            day = e.timestamp.astimezone(UTC).date()
            key = ActivityKey(e.tenant, day, e.actor_id, e.actor_kind, None, "SavedView.Created")
            counts[key] = counts.get(key, 0) + 1
    return counts


@dataclass
class Projected:
    """What one generation of the read models holds for tenant acme."""

    rows: list[TicketRow]
    solved: dict[tuple[str, date], int]
    activity: dict[ActivityKey, int]
    targets: dict[uuid.UUID, list[tuple[Any, ...]]]


def projected(services: Services, generation: int | None = None) -> Projected:
    """All rows of one generation (positions zeroed), its solved counts and its audit activity."""
    view = services.read_models.view(generation or services.read_models.active_generation(fresh=True))
    queries = TicketQueries(view.datastore, view.dialect, view.names)
    workload = WorkloadQueries(view.datastore, view.dialect, view.names)
    audit = ActivityQueries(view.datastore, view.dialect, view.names)
    rows = queries.list_tickets(TicketFilter(tenant="acme"), sort=Sort.OLDEST, limit=500).rows
    solved: dict[tuple[str, date], int] = {}
    for agent in ("agent0", "agent1", "agent2"):
        for day, n in workload.workload("acme", agent, since=date(2000, 1, 1)).solved_per_day:
            solved[(agent, day)] = n
    activity = {
        ActivityKey("acme", r.day, r.actor_id, r.actor_kind, r.organisation, r.event_type): r.changes
        for r in audit.activity("acme", date(2000, 1, 1), date(2100, 1, 1))
    }
    sla = SlaQueries(view.datastore, view.dialect, view.names)
    targets = {row.ticket_id: [_target_key(t) for t in sla.targets("acme", row.ticket_id)] for row in rows}
    return Projected(without_positions(rows), solved, activity, targets)


def without_positions(rows: list[TicketRow]) -> list[TicketRow]:
    for row in rows:
        row.position = 0
    return rows


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def sql_backend(request: pytest.FixtureRequest) -> tuple[str, str | None]:
    if request.param == "postgres":
        url: str = request.getfixturevalue("postgres_database")
        return "postgres", url
    return request.param, None


@settings(max_examples=150, deadline=None)
@given(script=commands)
def test_read_models_in_memory(script: list[tuple[int, str, int]]) -> None:
    check_read_models(("memory", None), script)


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(script=commands)
def test_read_models_on_sql(sql_backend: tuple[str, str | None], script: list[tuple[int, str, int]]) -> None:
    check_read_models(sql_backend, script)


def check_read_models(backend: tuple[str, str | None], script: list[tuple[int, str, int]]) -> None:
    """Fold equality, exactly-once and rebuild equality for one script."""
    with fresh_services(*backend) as services:
        desk = services.desk
        for position, (name, terms) in enumerate(POLICIES.items()):
            desk.define_policy(tenant="acme", name=name, position=position, terms=terms, by=ADMIN, via="web")
        ids = [
            desk.open_ticket(
                tenant="acme", title=f"ticket {n}", requester_id="bob", organisation=org, by=by, via="web"
            ).ticket_id
            for n, (by, org) in enumerate([(AGENT, "north"), (REQUESTER, None)])
        ]
        view_ids = [desk.save_view(tenant="acme", name="mine", filters={}, by=AGENT, via="web").view.id]
        apply(desk, ids, script)
        worker = ProjectionWorker(desk, services.read_models, batch_size=7)  # small batches: many commits
        head = worker.catch_up()
        assert head == desk.recorder.max_notification_id()

        built = projected(services)
        assert built.targets == {i: expected_targets(desk, i) for i in ids}
        assert built.rows == [expected_row(desk, i) for i in ids]
        assert built.solved == expected_solved(desk, ids)
        assert built.activity == expected_activity(desk, ids, view_ids)

        # The same events again: the tracking row refuses them and nothing changes.
        view = services.read_models.view(1)
        notifications = desk.recorder.select_notifications(start=0, limit=1000, inclusive_of_start=False)
        projection = TicketsProjection(view)
        projection.start_batch(0)
        for n in notifications:
            projection.process_event(desk.mapper.to_domain_event(n), Tracking(desk.name, n.id))
        with pytest.raises(BatchConflictError):
            projection.flush(Tracking(desk.name, notifications[-1].id))
        assert view.max_tracking_id(desk.name) == head
        assert projected(services) == built

        # A rebuild into the next generation equals the incrementally built one.
        done = rebuild(desk, services.read_models)
        assert done.new_generation == 2
        assert projected(services, 2) == built
