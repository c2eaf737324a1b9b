"""Schedules in production shape: `ledgerdesk worker --only schedules` on PostgreSQL, SIGKILLed mid-run, started again.

A schedule of every minute is defined six hours in the past with catch_up all, so the workers
have a few hundred occurrences to open. Two workers run at once; once some tickets are open,
one of them is SIGKILLed and started again. In the end every occurrence from the schedule's
first to the last dealt with opened exactly one ticket: none lost, none twice.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import IO, Any

import pytest

from domain.actors import Actor, ActorKind
from domain.schedules.runs import ScheduleRuns, occurrence_ticket_id
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services, build_services
from infrastructure.recurrence import LibraryRecurrence
from infrastructure.settings import Settings
from tests.support.processes import CLI, cli_env

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
HOURS_BEHIND = 6


def _worker(env: dict[str, str], log: IO[Any]) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*CLI, "worker", "--only", "schedules"], env={**os.environ, **env}, stdout=log, stderr=log)


def _opened(services: Services) -> list[datetime]:
    runs = services.desk.schedule_runs("acme", "minutely")
    events = [] if runs is None else services.desk.events.get(runs.id)
    return [e.occurrence for e in events if isinstance(e, ScheduleRuns.OccurrenceOpened)]


def _wait(done: Any, within: float) -> None:
    deadline = time.monotonic() + within
    while time.monotonic() < deadline and not done():
        time.sleep(0.05)


@pytest.mark.postgres
@pytest.mark.parametrize("sql_settings", [pytest.param("postgres", marks=pytest.mark.postgres)], indirect=True)
def test_a_killed_schedule_worker_loses_no_occurrence_and_doubles_none(sql_settings: Settings, tmp_path: Path) -> None:
    behind = datetime.now(UTC) - timedelta(hours=HOURS_BEHIND)
    services = build_services(sql_settings, clock=lambda: behind)  # defined then: its occurrences count from then
    services.desk.define_schedule(
        tenant="acme",
        name="minutely",
        title="Every minute",
        cron="* * * * *",
        timezone="UTC",
        start=behind - timedelta(days=1),
        catch_up="all",
        template={"title": "Minute check", "requester_id": "facilities"},
        by=ADMIN,
        via="api",
    )
    env = {**cli_env(sql_settings), "LEDGERDESK_SCHEDULE_INTERVAL_SECONDS": "0.2"}
    log = (tmp_path / "workers.log").open("w")
    workers = [_worker(env, log), _worker(env, log)]
    try:
        _wait(lambda: len(_opened(services)) >= 60, 60)  # both are opening: mid-run
        assert len(_opened(services)) < HOURS_BEHIND * 60, "the kill came after the work was done"
        workers[0].send_signal(signal.SIGKILL)
        workers[0].wait(timeout=30)
        workers[0] = _worker(env, log)
        _wait(lambda: len(_opened(services)) > HOURS_BEHIND * 60, 120)  # caught up with the present
    finally:
        for worker in workers:
            worker.send_signal(signal.SIGTERM)
        for worker in workers:
            worker.wait(timeout=30)
        log.close()
    said = (tmp_path / "workers.log").read_text()
    opened = _opened(services)
    schedule = services.desk.schedule("acme", "minutely")
    expected = LibraryRecurrence().occurrences(schedule.timing, schedule.counts_from, opened[-1], 10_000)
    assert opened == expected, said  # every minute once, in order: none lost, none twice
    tickets = [services.desk.get_ticket(occurrence_ticket_id("acme", "minutely", moment)) for moment in opened]
    assert all(t.opened_by == "schedule:minutely" and t.version == 2 for t in tickets)
    topic = Ticket.Opened.__module__ + ":" + Ticket.Opened.__qualname__
    notifications = services.desk.recorder.select_notifications(1, 100_000, topics=[topic])
    assert len(notifications) == len(opened)  # no other ticket was opened, by anyone
    services.close()
