"""The schedule runner: every so often, opens the tickets of the schedules' occurrences that came.

Every `interval_seconds` (`LEDGERDESK_SCHEDULE_INTERVAL_SECONDS`, 30 s) it reads each tenant's
schedule book, and for each enabled schedule asks the recurrence library for its occurrences
from the one after the latest dealt with (or from when the schedule began to count) up to the
clock's moment. The schedule's catch-up (domain/schedules/catch_up.py) makes steps of them —
an occurrence seen more than `late_seconds` after its moment (`LEDGERDESK_SCHEDULE_LATE_SECONDS`)
was missed — and each step is one `HelpDesk.run_schedule_step`, one save.

Exactly once, with any number of runners and across restarts: the schedule's record
(domain/schedules/runs.py) says through which occurrence it dealt; a step is saved on the record's
version, and the ticket's id follows from the occurrence, so of two runners taking the same step
the store keeps one save; the other stops on the conflict and goes on from the record next time.

Tenants with schedules are found in the event log (the first event of each tenant's schedule
book), read once at start and then only from where the last look ended.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from uuid import UUID

from eventsourcing.utils import get_topic

from domain.errors import DomainError, RaceLostError
from domain.helpdesk import HelpDesk
from domain.schedules.book import Schedule, ScheduleBook
from domain.schedules.catch_up import steps
from domain.schedules.recurrence import Recurrence
from domain.schedules.runs import ScheduleRuns
from infrastructure.periodic import Periodic

log = logging.getLogger("ledgerdesk.schedules")
#: Occurrences of one schedule dealt with in one look at most; the next look goes on from there.
PER_LOOK = 500
_LOG_PAGE = 1000
_ONE_US = timedelta(microseconds=1)


@dataclass(slots=True)
class RunResult:
    """What a look did (the stored events are the record)."""

    opened: int = 0
    skipped: int = 0
    failed: int = 0
    conflicts: int = 0  # another runner took a step first: this one went on with the next schedule


def window_start(schedule: Schedule, runs: ScheduleRuns | None) -> datetime:
    """The first moment whose occurrence is still to be dealt with."""
    through = None if runs is None else runs.through
    if through is None or through < schedule.counts_from:
        return schedule.counts_from
    return through + _ONE_US


class ScheduleRunner(Periodic):
    """Opens the tickets of schedules' occurrences: one `run_once` at a time, or in a thread."""

    thread_name = "ledgerdesk-schedules"
    work_name = "schedules"

    def __init__(
        self,
        desk: HelpDesk,
        recurrence: Recurrence,
        *,
        interval_seconds: float = 30.0,
        late_seconds: float = 600.0,
    ) -> None:
        super().__init__(interval_seconds, log)
        self.desk = desk
        self.recurrence = recurrence
        self.late = timedelta(seconds=late_seconds)
        self._tenants: dict[UUID, str] = {}  # schedule book id -> tenant
        self._log_position = 0

    def run_once(self, now: datetime | None = None) -> RunResult:
        """Look at every enabled schedule once; deal with its occurrences up to `now` (default: the clock's)."""
        moment = self.desk.clock() if now is None else now
        result = RunResult()
        for tenant in self.tenants():
            book = self.desk.schedule_book(tenant)
            for schedule in [] if book is None else book.enabled():
                if self._stopping.is_set():
                    return result
                self._run(schedule, tenant, moment, result)
        return result

    def due(self, schedule: Schedule, tenant: str, now: datetime) -> list[datetime]:
        """The occurrences not yet dealt with, up to `now` (a look that stores nothing)."""
        start = window_start(schedule, self.desk.schedule_runs(tenant, schedule.name))
        return self.recurrence.occurrences(schedule.timing, start, now, PER_LOOK)

    def _run(self, schedule: Schedule, tenant: str, now: datetime, result: RunResult) -> None:
        for step in steps(self.due(schedule, tenant, now), now=now, late=self.late, mode=schedule.catch_up):
            if self._stopping.is_set():
                return
            try:
                receipt = self.desk.run_schedule_step(schedule, tenant, step)
            except RaceLostError:  # another runner dealt with this step first
                result.conflicts += 1
                return
            except DomainError:
                log.exception("schedule %s of %s failed", schedule.name, tenant)
                result.failed += 1
                return
            if receipt is None:
                return  # dealt with already: another runner is ahead of this one
            result.skipped += len(step.skipped)
            if receipt.ticket_id is not None:
                result.opened += 1
            elif step.opened is not None:
                result.failed += 1

    def tenants(self) -> list[str]:
        """The tenants with a schedule book, as the log shows them now."""
        topic = get_topic(ScheduleBook.Started)
        while True:
            page = self.desk.recorder.select_notifications(self._log_position + 1, _LOG_PAGE, topics=[topic])
            for notification in page:
                started = self.desk.mapper.to_domain_event(notification)
                self._tenants[started.originator_id] = getattr(started, "tenant")  # noqa: B009  # every Started has one
                self._log_position = notification.id
            if len(page) < _LOG_PAGE:
                return sorted(set(self._tenants.values()))

    def _round(self) -> RunResult:
        return self.run_once()

    def _worth_telling(self, result: RunResult) -> bool:
        return bool(result.opened or result.skipped or result.failed)
