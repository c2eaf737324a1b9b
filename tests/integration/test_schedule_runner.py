"""Schedules on the real stores: each occurrence opens one ticket, with two runners at once and after downtime."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.actors import Actor, ActorKind
from domain.schedules.runs import occurrence_ticket_id
from domain.tickets.history import field_changes
from domain.tickets.ticket import Ticket
from infrastructure.composition import Services, build_services
from infrastructure.recurrence import LibraryRecurrence
from infrastructure.schedules import ScheduleRunner
from infrastructure.settings import Settings
from tests.support.clock import SettableClock

ADMIN = Actor("root", ActorKind.AGENT, role="admin")
BERLIN = ZoneInfo("Europe/Berlin")
#: Sunday 2026-03-22, 07:00 Berlin: a week before clocks go forward.
START = datetime(2026, 3, 22, 6, 0, tzinfo=UTC)


@pytest.fixture
def clock() -> SettableClock:
    return SettableClock(START)


@pytest.fixture
def services(settings: Settings, clock: SettableClock) -> Iterator[Services]:
    built = build_services(settings, clock=clock)
    yield built
    built.close()


def _define(services: Services, **given: Any) -> None:
    fields: dict[str, Any] = {
        "title": "Server-room inspection",
        "rrule": "FREQ=DAILY;BYHOUR=8;BYMINUTE=0",
        "timezone": "Europe/Berlin",
        "start": datetime(2026, 3, 1, 8, 0),
        "catch_up": "all",
        "template": {"title": "巡检: server room", "requester_id": "facilities", "type": "task", "tags": ["rounds"]},
    }
    services.desk.define_schedule(tenant="acme", name="inspection", by=ADMIN, via="api", **{**fields, **given})


def _runner(services: Services, **given: Any) -> ScheduleRunner:
    return ScheduleRunner(services.desk, LibraryRecurrence(), **given)


def _opened(services: Services) -> list[tuple[datetime, Ticket]]:
    runs = services.desk.schedule_runs("acme", "inspection")
    events = [] if runs is None else list(services.desk.events.get(runs.id))
    moments = [e.occurrence for e in events if type(e).__name__ == "OccurrenceOpened"]
    return [(m, services.desk.get_ticket(occurrence_ticket_id("acme", "inspection", m))) for m in moments]


def _local_days(opened: list[tuple[datetime, Ticket]]) -> list[str]:
    return [m.astimezone(BERLIN).strftime("%m-%d %H:%M") for m, _ in opened]


def test_each_occurrence_opens_one_ticket_at_0800_local_across_the_change(
    services: Services, clock: SettableClock
) -> None:
    _define(services)
    runner = _runner(services)
    for _ in range(10 * 24):  # ten days, looked at every hour
        runner.run_once()
        clock.advance(hours=1)
    opened = _opened(services)
    assert _local_days(opened) == [f"03-{d} 08:00" for d in range(22, 32)]  # 03-29: the change, 08:00 CEST
    moment, ticket = opened[0]
    assert (ticket.title, ticket.requester_id, ticket.ticket_type, ticket.tags) == (
        "巡检: server room",
        "facilities",
        "task",
        ["rounds"],
    )
    assert (ticket.opened_by, ticket.channel) == ("schedule:inspection", "schedule")
    said = services.desk._events_of(ticket.id, None)
    (noted,) = [e for e in said if isinstance(e, Ticket.OpenedOnSchedule)]
    assert {c.field: c.new for c in field_changes(noted)} == {
        "schedule": "inspection",
        "schedule_version": 1,
        "occurrence": moment.isoformat(),
    }
    assert all(e.actor_id == "schedule:inspection" and e.actor_kind == "system" for e in said)
    assert runner.run_once().opened == 1  # 04-01 08:00 CEST is now
    assert runner.run_once().opened == 0  # and nothing twice


def test_a_schedule_defined_late_does_not_open_its_past_and_disabled_opens_nothing(
    services: Services, clock: SettableClock
) -> None:
    _define(services)  # starts 03-01; defined 03-22: nothing before now was ever due
    runner = _runner(services)
    assert runner.run_once().opened == 0
    _define(services, enabled=False)
    clock.advance(days=3)
    assert runner.run_once().opened == 0
    _define(services, enabled=True)  # enabled again: counts from now, the days while disabled are not due
    clock.advance(hours=6)
    assert runner.run_once().opened == 1
    assert [m.astimezone(BERLIN).day for m, _ in _opened(services)] == [25]


def test_two_runners_at_once_open_each_occurrence_once(services: Services, clock: SettableClock) -> None:
    _define(services, rrule="FREQ=HOURLY;BYMINUTE=0")
    clock.advance(days=2)  # 49 occurrences to catch up on (both ends count), all of them
    runners = [_runner(services), _runner(services)]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def run(runner: ScheduleRunner) -> None:
        barrier.wait()
        try:
            for _ in range(60):
                runner.run_once()
        except BaseException as error:
            errors.append(error)

    threads = [threading.Thread(target=run, args=(r,)) for r in runners]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    opened = _opened(services)
    moments = [m for m, _ in opened]
    assert len(moments) == 49 == len(set(moments))
    assert moments == sorted(moments)
    assert len({t.id for _, t in opened}) == 49


@pytest.mark.parametrize(
    ("catch_up", "expected"),
    [
        ("all", ["03-22 08:00", "03-23 08:00", "03-24 08:00", "03-25 08:00", "03-26 08:00"]),
        ("latest", ["03-25 08:00", "03-26 08:00"]),  # the latest missed one, and the one on time
        ("none", ["03-26 08:00"]),
    ],
)
def test_a_restart_after_downtime_opens_the_missed_ones_as_catch_up_says(
    sql_settings: Settings, clock: SettableClock, catch_up: str, expected: list[str]
) -> None:
    first = build_services(sql_settings, clock=clock)  # a restart needs a store that outlives the services
    _define(first, catch_up=catch_up)
    clock.advance(minutes=30)  # 03-22 07:30 Berlin: nothing due yet
    assert _runner(first).run_once().opened == 0
    first.close()
    clock.now = datetime(2026, 3, 26, 7, 3, tzinfo=UTC)  # down until 08:03 Berlin on 03-26
    again = build_services(sql_settings, clock=clock)
    try:
        result = _runner(again, late_seconds=600).run_once()
        assert _local_days(_opened(again)) == expected
        assert result.skipped == 5 - len(expected)
        runs = again.desk.schedule_runs("acme", "inspection")
        assert runs is not None
        assert runs.through == datetime(2026, 3, 26, 7, 0, tzinfo=UTC)
        assert _runner(again).run_once() == type(result)()  # nothing twice
    finally:
        again.close()


def test_a_template_the_tenant_refuses_at_opening_is_recorded_as_failed_and_the_schedule_goes_on(
    services: Services, clock: SettableClock
) -> None:
    template = {"title": "Rounds", "requester_id": "facilities", "group": "it"}
    _define(services, rrule="FREQ=HOURLY;BYMINUTE=0", template=template)  # no directory yet: any group goes
    services.desk.define_group(tenant="acme", name="ops", members=[], routing="manual", by=ADMIN, via="api")
    clock.advance(hours=2)
    result = _runner(services).run_once()
    assert (result.opened, result.failed) == (0, 3)  # 06:00, 07:00, 08:00 UTC
    runs = services.desk.schedule_runs("acme", "inspection")
    assert runs is not None
    assert (runs.failed, runs.through) == (3, datetime(2026, 3, 22, 8, 0, tzinfo=UTC))
    reasons = [e.reason for e in services.desk.events.get(runs.id) if isinstance(e, type(runs).OccurrenceFailed)]
    assert all("it" in reason for reason in reasons)
    assert _runner(services).run_once().failed == 0  # each occurrence once, failed or not
