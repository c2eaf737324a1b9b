"""Crash safety of `ledgerdesk project`, with real processes, while commands are written.

SIGKILLed at random moments: every kill loses at most the batch in hand, which the next process
reads again from the stored tracking position. After a last run to the head, the serving read
models must equal a fresh rebuild of the whole log, row for row, and the tracking position must
equal the log's head. The same must hold when a restarted projector overlaps the old one.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest

from domain.actors import Actor, ActorKind
from domain.helpdesk import HelpDesk
from domain.tickets.ticket import Ticket
from domain.tickets.workflow import DEFAULT_WORKFLOW, Status
from domain.values import FieldValue
from infrastructure.composition import Services, build_services
from infrastructure.readmodels.rebuild import rebuild
from infrastructure.settings import Settings

pytestmark = pytest.mark.postgres

CLI = [sys.executable, "-c", "from api.cli import main; main()"]
STARTED_MARKER = "ledgerdesk: projecting events of"

SEED = 20261123
KILLS = 12
MAX_COMMANDS = 1500
BURST = (30, 60)  # commands written back to back while a kill is pending
# Only turns a hang into a failure: alone the test takes about 20 s, on a CI host running the whole suite
# several times that. Stopping a process gets its own grace, however little of the budget is left.
TEST_BUDGET_SECONDS = 240.0
STOP_GRACE_SECONDS = 30.0
OVERLAP_SECONDS = 4.0  # how long two projectors run side by side under writes

TENANTS = ("acme", "globex")
AGENTS = ("alice", "carol", "dave", "erin")
GROUPS = ("network", "billing", "desk")
TAGS = ("vpn", "printer", "billing", "vip", "network", "outage")
ALICE = Actor("alice", ActorKind.AGENT)
REQUESTER = Actor("bob", ActorKind.REQUESTER)

# Each table of one generation, with the columns that order its rows (its primary key).
TABLES: dict[str, tuple[str, ...]] = {
    "tickets": ("ticket_id",),
    "ticket_tags": ("ticket_id", "tag"),
    "agent_solved_daily": ("tenant", "agent", "day"),
    "saved_views": ("view_id",),
    "audit_activity": ("tenant", "day", "actor_id", "actor_kind", "organisation", "event_type"),
}


class Deadline:
    """The whole test's time budget; every wait in it is bounded by what is left."""

    def __init__(self, seconds: float) -> None:
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        return self.at - time.monotonic()

    def check(self, what: str) -> None:
        assert self.left() > 0, f"out of time while {what}"


class Writer:
    """Issues a seeded random mix of ticket commands through one HelpDesk, as one client would."""

    def __init__(self, desk: HelpDesk, rng: random.Random, name: str = "w") -> None:
        self.desk = desk
        self.rng = rng
        self.name = name
        self.live: dict[UUID, Ticket] = {}  # tickets not closed yet, as last saved by this writer
        self.commands = 0
        self.recorded = 0
        self.views = 0

    def step(self) -> None:
        """Issue one command."""
        rng = self.rng
        self.commands += 1
        if len(self.live) < 6 or rng.random() < 0.15:
            self._open()
            return
        if rng.random() < 0.02:
            self._save_view()
            return
        ticket = self.live[rng.choice(sorted(self.live))]
        action = rng.choice(("assign", "assign", "unassign", "transition", "transition", "comment", "note", "update"))
        if action == "assign":
            assignee = rng.choice((*AGENTS, None))
            group = rng.choice(GROUPS) if assignee is None or rng.random() < 0.5 else None
            receipt = self.desk.assign(ticket.id, assignee=assignee, group=group, by=ALICE, via="web")
        elif action == "unassign":
            receipt = self.desk.unassign(ticket.id, by=ALICE, via="web")
        elif action == "transition":
            allowed = sorted(DEFAULT_WORKFLOW.allowed_from(ticket.status))
            # Solve often, so the solved-per-day counts and reopens get exercised.
            target = Status.SOLVED if Status.SOLVED in allowed and rng.random() < 0.4 else rng.choice(allowed)
            receipt = self.desk.transition(ticket.id, target.value, by=ALICE, via="web")
        elif action == "comment":
            by = rng.choice((ALICE, REQUESTER))
            receipt = self.desk.add_comment(ticket.id, f"reply {self.commands}", public=True, by=by, via="email")
        elif action == "note":
            receipt = self.desk.add_comment(
                ticket.id, f"note {self.commands} @carol", public=False, by=ALICE, via="web"
            )
        else:
            receipt = self.desk.update_ticket(
                ticket.id,
                priority=rng.choice(("low", "normal", "high", "urgent")),
                add_tags=rng.sample(TAGS, rng.randint(0, 2)),
                remove_tags=rng.sample(TAGS, rng.randint(0, 2)),
                custom_fields={"site": FieldValue.parse("text", rng.choice(("berlin", "lyon", "oslo")))},
                by=ALICE,
                via="web",
            )
        if receipt.position is not None:
            self.recorded += 1
        if receipt.ticket.status == Status.CLOSED:
            del self.live[ticket.id]
        else:
            self.live[ticket.id] = receipt.ticket

    def _open(self) -> None:
        rng = self.rng
        receipt = self.desk.open_ticket(
            tenant=rng.choice(TENANTS),
            title=f"ticket {self.commands}",
            requester_id="bob",
            priority=rng.choice(("low", "normal", "high")),
            tags=rng.sample(TAGS, rng.randint(0, 3)),
            by=rng.choice((ALICE, REQUESTER)),
            via=rng.choice(("web", "email", "phone")),
        )
        self.recorded += 1
        self.live[receipt.ticket_id] = receipt.ticket

    def _save_view(self) -> None:
        self.views += 1
        self.desk.save_view(
            tenant=self.rng.choice(TENANTS),
            name=f"{self.name}-view-{self.views}",
            filters={"status": ["open"], "assignee": self.rng.choice(AGENTS)},
            by=ALICE,
            via="web",
        )
        self.recorded += 1


def _write_until(writer: Writer, stop: threading.Event, burst: threading.Event, errors: list[BaseException]) -> None:
    """Write at a trickle, and in a burst whenever asked, until stopped."""
    try:
        while not stop.is_set() and writer.commands < MAX_COMMANDS:
            if burst.is_set():
                burst.clear()
                for _ in range(writer.rng.randint(*BURST)):
                    writer.step()
            else:
                writer.step()
                stop.wait(writer.rng.uniform(0.02, 0.08))
    except BaseException as error:  # reported by the test, not lost in the thread
        errors.append(error)


class Projectors:
    """`ledgerdesk project` processes started by this test: each one's log, and cleanup of all of them."""

    def __init__(self, settings: Settings, logs: Path, deadline: Deadline) -> None:
        self.env = {
            **os.environ,
            "LEDGERDESK_DATABASE_URL": settings.database_url,
            "LEDGERDESK_POSTGRES_SCHEMA": settings.postgres_schema,
        }
        self.logs = logs
        self.deadline = deadline
        self.started: list[tuple[subprocess.Popen[bytes], Path]] = []

    def start(self, name: str) -> subprocess.Popen[bytes]:
        """Start one and return once its worker runs."""
        log_path = self.logs / f"{name}.log"
        with log_path.open("wb") as log:  # the child keeps its own copy of the descriptor
            process = subprocess.Popen([*CLI, "project"], env=self.env, stdout=log, stderr=subprocess.STDOUT)
        self.started.append((process, log_path))
        while STARTED_MARKER not in log_path.read_text(errors="replace"):
            self.check_alive(process)
            self.deadline.check(f"waiting for `ledgerdesk project` to start:\n{self.log(process)}")
            time.sleep(0.01)
        return process

    def log(self, process: subprocess.Popen[bytes]) -> str:
        """The end of a process's output."""
        path = next(path for started, path in self.started if started is process)
        return path.read_text(errors="replace")[-3000:]

    def check_alive(self, process: subprocess.Popen[bytes]) -> None:
        """Fail with its output if the process has exited."""
        assert process.poll() is None, f"`ledgerdesk project` exited on its own:\n{self.log(process)}"

    def stop(self, process: subprocess.Popen[bytes], sig: signal.Signals) -> int:
        """Send `sig` and wait for the process to end; return its exit status."""
        process.send_signal(sig)
        return process.wait(timeout=max(self.deadline.left(), STOP_GRACE_SECONDS))

    def close(self) -> None:
        """Kill and reap every process this test started that is still running."""
        for process, _ in self.started:
            if process.poll() is None:
                process.kill()
            process.wait(timeout=30)


def _rows(services: Services, generation: int, table: str) -> dict[tuple[Any, ...], dict[str, Any]]:
    view = services.read_models.view(generation, create=False)
    key = TABLES[table]
    with view.datastore.transaction(commit=False) as cursor:
        cursor.execute(f"SELECT * FROM {view.names.table(table)} ORDER BY {', '.join(key)}")
        rows = [dict(row) for row in cursor.fetchall()]
    return {tuple(row[column] for column in key): row for row in rows}


def _differences(services: Services, projected: int, rebuilt: int) -> list[str]:
    """What differs between two generations, table by table (empty: identical)."""
    found = []
    for table in TABLES:
        live, fresh = _rows(services, projected, table), _rows(services, rebuilt, table)
        missing = sorted(set(fresh) - set(live), key=str)
        extra = sorted(set(live) - set(fresh), key=str)
        differing = {
            key: {column: (value, fresh[key][column]) for column, value in row.items() if value != fresh[key][column]}
            for key, row in sorted(live.items(), key=str)
            if key in fresh and row != fresh[key]
        }
        if missing or extra or differing:
            found.append(
                f"{table}: {len(live)} rows projected, {len(fresh)} rebuilt; {len(missing)} missing {missing[:3]}; "
                f"{len(extra)} extra {extra[:3]}; {len(differing)} differ, as (projected, rebuilt): "
                f"{list(differing.values())[:4]}"
            )
    return found


def _kill_repeatedly(
    projectors: Projectors, checker: Services, burst: threading.Event, rng: random.Random
) -> list[tuple[int, int]]:
    """Start a projector, let it work a random moment, SIGKILL it; KILLS times. Return (applied, head) at kills."""
    at_kill = []
    for run in range(KILLS):
        process = projectors.start(f"project-{run}")
        burst.set()  # so that most kills strike while batches are being written
        time.sleep(rng.uniform(0.05, 0.5))
        at_kill.append((checker.read_models.position(1), checker.desk.recorder.max_notification_id() or 0))
        projectors.check_alive(process)
        assert projectors.stop(process, signal.SIGKILL) == -signal.SIGKILL
        projectors.deadline.check("killing projectors")
    return at_kill


def _run_to_head(projectors: Projectors, checker: Services, head: int) -> None:
    """One more projector, until the serving generation has applied `head`; then stop it as an operator would."""
    process = projectors.start("project-final")
    while (position := checker.read_models.position(1)) < head:
        projectors.check_alive(process)
        projectors.deadline.check(f"catching up to {head} (at {position}):\n{projectors.log(process)}")
        time.sleep(0.02)
    assert projectors.stop(process, signal.SIGTERM) == 0, projectors.log(process)


def test_sigkilled_projector_resumes_to_exactly_the_rebuilt_read_models(
    postgres_settings: Settings, tmp_path: Path
) -> None:
    deadline = Deadline(TEST_BUDGET_SECONDS)
    projectors = Projectors(postgres_settings, tmp_path, deadline)
    checker = build_services(postgres_settings)
    checker.read_models.view(1)  # all tables exist before any projector starts: concurrent creation races
    writer_services = build_services(postgres_settings)
    writer = Writer(writer_services.desk, random.Random(SEED + 1))
    stop_writing, burst = threading.Event(), threading.Event()
    errors: list[BaseException] = []
    writing = threading.Thread(target=_write_until, args=(writer, stop_writing, burst, errors), name="writer")
    try:
        writing.start()
        at_kill = _kill_repeatedly(projectors, checker, burst, random.Random(SEED))
        stop_writing.set()
        writing.join(timeout=max(deadline.left(), 1))
        assert not writing.is_alive(), "the writer did not stop"
        assert not errors, f"the writer failed: {errors[0]!r}"
        assert writer.recorded >= 200, f"only {writer.recorded} commands recorded events"
        applied = [position for position, _ in at_kill]
        assert applied == sorted(applied), f"the tracking position went backwards: {at_kill}"
        assert applied[-1] > 0, f"no projector got anything done before it was killed: {at_kill}"
        assert any(position < head for position, head in at_kill), f"every kill found the projector idle: {at_kill}"

        head = checker.desk.recorder.max_notification_id()
        assert head is not None
        _run_to_head(projectors, checker, head)

        assert checker.read_models.position(1) == head == checker.desk.recorder.max_notification_id()
        assert checker.read_models.active_generation(fresh=True) == 1
        rebuilt = rebuild(checker.desk, checker.read_models)
        assert (rebuilt.old_generation, rebuilt.new_generation, rebuilt.position) == (1, 2, head)
        differences = _differences(checker, 1, 2)
        assert not differences, "the projected read models differ from a rebuild:\n" + "\n".join(differences)
        assert _rows(checker, 1, "agent_solved_daily"), "no ticket was solved by an agent; the workload is too thin"
        deadline.check("comparing the read models")
    finally:
        stop_writing.set()
        projectors.close()
        if writing.ident is not None:
            writing.join(timeout=30)
        writer_services.close()
        checker.close()


def test_two_projectors_at_once_apply_every_event_once(postgres_settings: Settings, tmp_path: Path) -> None:
    """A restart that overlaps the old process (still alive, e.g. hung or partitioned) must not apply events twice."""
    deadline = Deadline(TEST_BUDGET_SECONDS)
    projectors = Projectors(postgres_settings, tmp_path, deadline)
    checker = build_services(postgres_settings)
    checker.read_models.view(1)
    writer_services = [build_services(postgres_settings) for _ in range(2)]
    writers = [Writer(s.desk, random.Random(SEED + n), name=f"w{n}") for n, s in enumerate(writer_services)]
    stop_writing, burst = threading.Event(), threading.Event()
    burst.set()
    errors: list[BaseException] = []
    threads = [threading.Thread(target=_write_until, args=(w, stop_writing, burst, errors)) for w in writers]
    try:
        running = [projectors.start("project-a"), projectors.start("project-b")]
        for thread in threads:
            thread.start()
        time.sleep(OVERLAP_SECONDS)
        stop_writing.set()
        for thread in threads:
            thread.join(timeout=max(deadline.left(), 1))
        assert not errors, f"a writer failed: {errors[0]!r}"
        head = checker.desk.recorder.max_notification_id()
        assert head is not None
        while (position := checker.read_models.position(1)) < head:
            for process in running:
                projectors.check_alive(process)
            deadline.check(f"catching up to {head} (at {position})")
            time.sleep(0.02)
        for process in running:
            assert projectors.stop(process, signal.SIGTERM) == 0, projectors.log(process)

        rebuilt = rebuild(checker.desk, checker.read_models)
        assert rebuilt.position == head
        differences = _differences(checker, 1, 2)
        assert not differences, "events were applied twice:\n" + "\n".join(differences)
    finally:
        stop_writing.set()
        projectors.close()
        for thread in threads:
            if thread.ident is not None:
                thread.join(timeout=30)
        for services in writer_services:
            services.close()
        checker.close()
