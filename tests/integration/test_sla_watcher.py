"""The SLA watcher: warnings and breaches recorded once per target and cycle, by the watcher, with escalation.

The clock is injected and set by the tests; sweeps are called directly, except where the thread
and the `ledgerdesk sla-watch` process are the subject.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from fastapi.testclient import TestClient

from api.app import create_app
from domain.actors import Actor, ActorKind
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services, build_services
from infrastructure.settings import Settings
from infrastructure.sla_watcher import SlaWatcher, SweepResult

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC)
ALICE = Actor("alice", ActorKind.AGENT)
BOB = Actor("bob", ActorKind.REQUESTER)
ADMIN = Actor("admin", ActorKind.SYSTEM, role="admin")
TERMS: dict[str, Any] = {
    "targets": {"first_response": 60, "resolution": 240},
    "warning_minutes": 15,
    "escalation": {"raise_priority_to": "urgent", "reassign_group": "escalations", "notify": ["sup1"]},
}
WATCHER_EVENTS = {"SlaWarningIssued", "SlaBreached", "PriorityChanged", "Assigned", "CommentAdded"}
CLI = [sys.executable, "-c", "from api.cli import main; main()"]


class SettableClock:
    """A clock that reads what the test set."""

    def __init__(self, now: datetime = T0) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now

    def at(self, minutes: float) -> datetime:
        """Set the clock to `minutes` after T0."""
        self.now = T0 + timedelta(minutes=minutes)
        return self.now


def define_policy(services: Services) -> None:
    services.desk.define_policy(tenant="acme", name="standard", position=0, terms=TERMS, by=ADMIN, via="api")


@dataclass
class Desk:
    """Services on one store, with the standard policy, projections running, and a watcher."""

    settings: Settings
    clock: SettableClock = field(default_factory=SettableClock)
    services: Services = field(init=False)
    watcher: SlaWatcher = field(init=False)

    def __post_init__(self) -> None:
        self.start()
        define_policy(self.services)

    def start(self) -> None:
        self.services = build_services(self.settings, clock=self.clock)
        self.services.start_projections()
        self.watcher = SlaWatcher(self.services.desk, self.services.read_models, clock=self.clock)

    def restart(self) -> None:
        self.services.close()
        self.start()

    def open(self) -> UUID:
        receipt = self.services.desk.open_ticket(tenant="acme", title="VPN down", requester_id="bob", by=BOB, via="web")
        return receipt.ticket_id

    def caught_up(self) -> None:
        head = self.services.desk.recorder.max_notification_id() or 0
        assert self.services.read_models.wait_for(head, 10) >= head

    def sweep(self, minutes: float) -> SweepResult:
        """Judge the read model as it stands now, then sweep at T0 + `minutes`."""
        self.caught_up()
        return self.watcher.sweep(self.clock.at(minutes))

    def alerts(self, ticket_id: UUID) -> Counter[tuple[str, str, int]]:
        return alerts_of(self.services, ticket_id)

    def events(self, ticket_id: UUID) -> list[Any]:
        return list(self.services.desk.events.get(ticket_id))


def alerts_of(services: Services, ticket_id: UUID) -> Counter[tuple[str, str, int]]:
    """(event type, target, cycle) of every stored SLA warning and breach of the ticket, counted."""
    return Counter(
        (type(e).__name__, e.target, e.cycle)
        for e in services.desk.events.get(ticket_id)
        if isinstance(e, Ticket.SlaWarningIssued | Ticket.SlaBreached)
    )


@pytest.fixture
def desk(settings: Settings) -> Iterator[Desk]:
    built = Desk(settings)
    yield built
    built.services.close()


@pytest.fixture
def sql_desk(sql_settings: Settings) -> Iterator[Desk]:
    built = Desk(sql_settings)
    yield built
    built.services.close()


WARNING_FR = ("SlaWarningIssued", "first_response", 1)
BREACH_FR = ("SlaBreached", "first_response", 1)
BREACH_RES = ("SlaBreached", "resolution", 1)


# --- one watcher -------------------------------------------------------------------------------------


def test_a_warning_is_recorded_once_by_the_watcher(desk: Desk) -> None:
    ticket = desk.open()
    assert desk.sweep(44).recorded == 0  # first response warns at 45 minutes

    assert desk.sweep(46) == SweepResult(warnings=1)
    assert desk.sweep(46) == SweepResult()
    assert desk.sweep(50) == SweepResult()
    assert desk.alerts(ticket) == Counter([WARNING_FR])
    last = desk.services.desk.history(ticket)[-1]
    assert (last.event, last.actor_id, last.actor_kind, last.via) == (
        "SlaWarningIssued",
        "sla-watcher",
        "system",
        "sla",
    )
    assert last.at == T0 + timedelta(minutes=46)


def test_a_breach_is_recorded_once_with_its_escalation(desk: Desk) -> None:
    ticket = desk.open()
    assert desk.sweep(61) == SweepResult(breaches=1)  # past due: the breach, and no late warning
    assert desk.sweep(62) == SweepResult()

    assert desk.alerts(ticket) == Counter([BREACH_FR])
    history = desk.services.desk.history(ticket)
    assert [c.event for c in history] == ["Opened", "SlaBreached", "PriorityChanged", "Assigned", "CommentAdded"]
    assert {(c.actor_id, c.actor_kind, c.via) for c in history[1:]} == {("sla-watcher", "system", "sla")}
    # The escalation's three events say the breach (version 2) caused them; the breach itself has no cause.
    assert [c.causation_id for c in history] == [None, None, *[f"{ticket}@2"] * 3]
    now = desk.services.desk.get_ticket(ticket)
    assert (now.priority.value, now.group) == ("urgent", "escalations")
    note = now.comments[-1]
    assert not note.public
    assert "sup1" in note.mentions
    assert "first response" in note.body


def test_later_targets_warn_and_breach_in_their_turn(desk: Desk) -> None:
    ticket = desk.open()
    assert desk.sweep(46) == SweepResult(warnings=1)
    assert desk.sweep(61) == SweepResult(breaches=1)
    assert desk.sweep(226) == SweepResult(warnings=1)  # resolution warns at 225 minutes
    assert desk.sweep(241) == SweepResult(breaches=1)
    assert desk.sweep(300) == SweepResult()

    assert desk.alerts(ticket) == Counter([WARNING_FR, BREACH_FR, ("SlaWarningIssued", "resolution", 1), BREACH_RES])
    kinds = Counter(type(e).__name__ for e in desk.events(ticket))
    # The second escalation finds the priority and group already raised; its note is new.
    assert (kinds["PriorityChanged"], kinds["Assigned"], kinds["CommentAdded"]) == (1, 1, 2)


def test_targets_due_together_are_all_recorded_in_one_sweep(desk: Desk) -> None:
    ticket = desk.open()
    assert desk.sweep(241) == SweepResult(breaches=2, stale=1)  # the second waited for the first's events
    assert desk.alerts(ticket) == Counter([BREACH_FR, BREACH_RES])
    assert desk.sweep(242) == SweepResult()


def test_a_reply_before_due_means_no_breach(desk: Desk) -> None:
    ticket = desk.open()
    desk.clock.at(30)
    desk.services.desk.add_comment(ticket, "Looking into it.", public=True, by=ALICE, via="web")

    assert desk.sweep(61) == SweepResult()
    assert desk.sweep(120) == SweepResult()
    assert desk.alerts(ticket) == Counter()
    assert desk.sweep(226) == SweepResult(warnings=1)  # resolution still runs
    assert desk.alerts(ticket) == Counter([("SlaWarningIssued", "resolution", 1)])


def test_an_internal_note_does_not_stop_the_breach(desk: Desk) -> None:
    ticket = desk.open()
    desk.clock.at(30)
    desk.services.desk.add_comment(ticket, "Asking the network team.", public=False, by=ALICE, via="web")
    assert desk.sweep(61) == SweepResult(breaches=1)
    assert desk.alerts(ticket) == Counter([BREACH_FR])


def test_a_late_reply_before_the_sweep_is_a_breach_without_escalation(desk: Desk) -> None:
    ticket = desk.open()
    desk.services.desk.assign(ticket, assignee="alice", group="network", by=ALICE, via="web")
    desk.clock.at(62)
    desk.services.desk.add_comment(ticket, "Sorry for the wait.", public=True, by=ALICE, via="web")

    assert desk.sweep(63) == SweepResult(breaches=1)
    assert desk.alerts(ticket) == Counter([BREACH_FR])
    assert [c.event for c in desk.services.desk.history(ticket)][-1] == "SlaBreached"
    now = desk.services.desk.get_ticket(ticket)
    assert (now.priority.value, now.assignee, now.group) == ("normal", "alice", "network")


def test_a_target_paused_after_its_due_moment_is_still_breached_and_escalated(desk: Desk) -> None:
    ticket = desk.open()
    desk.clock.at(62)
    desk.services.desk.transition(ticket, "pending", by=ALICE, via="web")  # paused, but 2 minutes late

    assert desk.sweep(63) == SweepResult(breaches=1)
    (breach,) = [e for e in desk.events(ticket) if isinstance(e, Ticket.SlaBreached)]
    assert (breach.target, breach.due_at) == ("first_response", T0 + timedelta(minutes=60))
    assert desk.services.desk.get_ticket(ticket).priority.value == "urgent"


def test_a_stale_row_records_nothing_that_sweep(desk: Desk) -> None:
    ticket = desk.open()
    desk.caught_up()
    worker = desk.services.worker
    assert worker is not None
    worker.stop()  # the read model stops following: its row says version 1
    desk.services.worker = None
    desk.clock.at(59)
    desk.services.desk.add_comment(ticket, "Replied by phone.", public=True, by=ALICE, via="phone")

    assert desk.watcher.sweep(desk.clock.at(61)) == SweepResult(stale=1)
    assert desk.alerts(ticket) == Counter()

    desk.services.start_projections()
    assert desk.sweep(61) == SweepResult()  # judged again on the current row: met in time
    assert desk.alerts(ticket) == Counter()


def test_a_solved_ticket_gets_no_resolution_alerts_and_a_closed_one_none(desk: Desk) -> None:
    solved, closed = desk.open(), desk.open()
    desk.clock.at(10)
    for ticket in (solved, closed):
        desk.services.desk.add_comment(ticket, "Fixed.", public=True, by=ALICE, via="web")
        desk.services.desk.transition(ticket, "open", by=ALICE, via="web")
        desk.services.desk.transition(ticket, "solved", by=ALICE, via="web")
    desk.services.desk.transition(closed, "closed", by=ALICE, via="web")
    assert desk.sweep(500) == SweepResult()
    assert desk.alerts(solved) == desk.alerts(closed) == Counter()


def test_paging_visits_every_candidate(desk: Desk) -> None:
    tickets = [desk.open() for _ in range(7)]
    desk.watcher.page_size = 2
    assert desk.sweep(46) == SweepResult(warnings=7)
    assert all(desk.alerts(t) == Counter([WARNING_FR]) for t in tickets)


def test_two_watchers_racing_on_the_same_alerts_record_each_once(desk: Desk) -> None:
    """Two watchers judge the same due breaches and sweep at the same moment, in two threads."""
    tickets = [desk.open() for _ in range(20)]
    desk.caught_up()
    watchers = [desk.watcher, SlaWatcher(desk.services.desk, desk.services.read_models, clock=desk.clock)]
    moment, start = desk.clock.at(61), threading.Barrier(len(watchers))
    results: list[SweepResult] = []

    def sweep(watcher: SlaWatcher) -> None:
        start.wait()
        results.append(watcher.sweep(moment))

    threads = [threading.Thread(target=sweep, args=(w,)) for w in watchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sum(r.breaches for r in results) == len(tickets)  # each breach recorded by one watcher only
    for ticket in tickets:
        assert desk.alerts(ticket) == Counter([BREACH_FR])
        assert Counter(type(e).__name__ for e in desk.events(ticket))["PriorityChanged"] == 1
    desk.caught_up()
    assert [w.sweep(moment) for w in watchers] == [SweepResult(), SweepResult()]


def test_a_restarted_watcher_records_nothing_new(sql_desk: Desk) -> None:
    ticket = sql_desk.open()
    assert sql_desk.sweep(46) == SweepResult(warnings=1)
    assert sql_desk.sweep(61) == SweepResult(breaches=1)
    stored = len(sql_desk.events(ticket))

    sql_desk.restart()  # new services on the same database: nothing remembered but the store
    assert sql_desk.sweep(61) == SweepResult()
    assert sql_desk.sweep(90) == SweepResult()
    assert len(sql_desk.events(ticket)) == stored
    assert sql_desk.alerts(ticket) == Counter([WARNING_FR, BREACH_FR])


# --- the thread, the API process and the `sla-watch` process -------------------------------------------


def test_the_thread_records_a_breach_within_seconds(desk: Desk) -> None:
    ticket = desk.open()
    desk.caught_up()
    watcher = SlaWatcher(desk.services.desk, desk.services.read_models, clock=desk.clock, interval_seconds=0.2)
    watcher.start()
    try:
        started = time.monotonic()
        desk.clock.at(61)
        while not desk.alerts(ticket):
            assert time.monotonic() - started < 2.0, "no breach recorded within 2 s"
            time.sleep(0.02)
    finally:
        watcher.stop()
    assert desk.alerts(ticket) == Counter([BREACH_FR])


def test_the_api_runs_the_watcher_beside_in_process_projections(sqlite_settings: Settings) -> None:
    app = create_app(sqlite_settings)
    with TestClient(app):
        services: Services = app.state.services
        assert services.worker is not None
        assert services.sla_watcher is not None
        assert services.sla_watcher.interval_seconds == 15.0


def test_sla_watch_records_breaches_and_stops_on_sigterm(sql_settings: Settings, tmp_path: Path) -> None:
    two_hours_ago = datetime.now(UTC) - timedelta(hours=2)
    services = build_services(sql_settings, clock=lambda: two_hours_ago)
    try:
        define_policy(services)
        ticket = services.desk.open_ticket(tenant="acme", title="Printer", requester_id="bob", by=BOB, via="web")
        services.start_projections()
        assert services.read_models.wait_for(ticket.position or 0, 10) >= (ticket.position or 0)
    finally:
        services.close()

    env = {
        **os.environ,
        "LEDGERDESK_DATABASE_URL": sql_settings.database_url,
        "LEDGERDESK_POSTGRES_SCHEMA": sql_settings.postgres_schema,
        "LEDGERDESK_SLA_WATCH_INTERVAL_SECONDS": "0.2",
    }
    log_path = tmp_path / "sla-watch.log"
    with log_path.open("w") as log:
        process = subprocess.Popen([*CLI, "sla-watch"], env=env, stdout=log, stderr=subprocess.STDOUT)
    services = build_services(sql_settings)
    try:
        deadline = time.monotonic() + 30
        while not alerts_of(services, ticket.ticket_id):
            assert process.poll() is None, log_path.read_text()
            assert time.monotonic() < deadline, log_path.read_text()
            time.sleep(0.1)
        assert alerts_of(services, ticket.ticket_id) == Counter([BREACH_FR])  # due an hour ago: no warning
        last = services.desk.history(ticket.ticket_id)[-1]
        assert (last.actor_id, last.via) == ("sla-watcher", "sla")
    finally:
        process.send_signal(signal.SIGTERM)
        returncode = process.wait(timeout=30)
        services.close()
    output = log_path.read_text()
    assert returncode == 0, output
    assert "ledgerdesk: watching SLAs of" in output
    assert "every 0.2 s" in output
    assert "SLA watcher stopped" in output


# --- several watchers on PostgreSQL --------------------------------------------------------------------


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_two_watchers_sweeping_together_record_each_alert_once(sql_settings: Settings) -> None:
    clock = SettableClock()
    one = Desk(sql_settings, clock)  # defines the policy and runs the projections
    other = build_services(sql_settings, clock=clock)  # a second process, in effect: own pool, own cache
    watchers = [one.watcher, SlaWatcher(other.desk, other.read_models, clock=clock)]
    try:
        tickets = [one.open() for _ in range(20)]
        totals = SweepResult()
        for minutes in (46, 241):  # first-response warnings; then both breaches at once
            one.caught_up()
            clock.at(minutes)
            totals.add(_sweep_together(watchers, rounds=8))
            one.caught_up()
            for watcher in watchers:  # whatever a race left for later is picked up, once
                totals.add(watcher.sweep(clock.now))
            for watcher in watchers:
                assert watcher.sweep(clock.now).recorded == 0

        # The stored events are the truth. Both watchers read one clock, so they can write byte-identical
        # events; the PostgreSQL recorder takes a conflicting insert identical to the stored row as its
        # own retried write and reports success, so both may count an alert that is stored once.
        assert totals.warnings >= 20
        assert totals.breaches >= 40
        assert totals.failed == 0
        assert totals.stale > 0  # e.g. the resolution rows, judged before the first escalation
        for ticket in tickets:
            assert one.alerts(ticket) == Counter([WARNING_FR, BREACH_FR, BREACH_RES]), ticket
            kinds = Counter(type(e).__name__ for e in one.events(ticket))
            assert (kinds["PriorityChanged"], kinds["Assigned"], kinds["CommentAdded"]) == (1, 1, 2), ticket
            by = {(c.actor_id, c.via) for c in one.services.desk.history(ticket) if c.event in WATCHER_EVENTS}
            assert by == {("sla-watcher", "sla")}
    finally:
        other.close()
        one.services.close()


def _sweep_together(watchers: list[SlaWatcher], rounds: int) -> SweepResult:
    """Each watcher sweeps `rounds` times in its own thread, every round started together."""
    barrier = threading.Barrier(len(watchers))
    results: list[SweepResult] = []
    errors: list[BaseException] = []

    def run(watcher: SlaWatcher) -> None:
        try:
            for _ in range(rounds):
                barrier.wait(timeout=30)
                results.append(watcher.sweep(watcher.clock()))
        except BaseException as error:
            errors.append(error)
            barrier.abort()

    threads = [threading.Thread(target=run, args=(w,)) for w in watchers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not errors, errors
    total = SweepResult()
    for result in results:
        total.add(result)
    return total
