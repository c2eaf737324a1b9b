"""Schedule commands: define a schedule, read it at any version, and deal with one step of its occurrences.

The runner (infrastructure/schedules.py) asks the recurrence library when a schedule occurred
and hands each step to `run_schedule_step` as facts: the occurrences to skip and the one to open.
The step opens the ticket as `schedule:<name>` (kind system) via `schedule`, with a record of the
schedule, its version and the occurrence (`OpenedOnSchedule`) and the schedule's record of it
(domain/schedules/runs.py), all in one save: exactly once, whoever else tries the same step.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Unpack
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError

from domain import values
from domain.actors import Actor, ActorKind
from domain.errors import DomainError, InvalidRuleError, NotFoundError
from domain.pipeline import Acting, ConfigReceipt
from domain.provenance import event_cause
from domain.races import retried
from domain.schedules.book import Schedule, ScheduleBook
from domain.schedules.catch_up import CatchUp, Step
from domain.schedules.recurrence import Recurrence
from domain.schedules.runs import ScheduleRuns, occurrence_ticket_id
from domain.schedules.template import TicketTemplate, template
from domain.schedules.timing import timing
from domain.tickets.commands import TicketCommands
from domain.tickets.ticket import Ticket

#: The channel of the tickets schedules open (`via`), and who opens them: `schedule:<name>`.
SCHEDULE_CHANNEL = "schedule"
SCHEDULE_PREFIX = "schedule:"


def schedule_actor(name: str) -> Actor:
    """Who a schedule's tickets are opened by."""
    return Actor(f"{SCHEDULE_PREFIX}{name}", ActorKind.SYSTEM)


@dataclass(frozen=True, slots=True)
class StepReceipt:
    """What a step recorded: the ticket opened (None if it only skipped, or failed) and the log position."""

    ticket_id: UUID | None
    position: int | None


class ScheduleCommands(TicketCommands):
    """The commands and queries of a tenant's schedules."""

    def __init__(
        self, env: Mapping[str, str] | None = None, *, recurrence: Recurrence | None = None, **kw: Any
    ) -> None:
        super().__init__(env, **kw)
        self.recurrence = recurrence

    # --- defining ----------------------------------------------------------------------------------

    @retried
    def define_schedule(
        self,
        *,
        tenant: str,
        name: str,
        title: str,
        enabled: bool = True,
        rrule: str | None = None,
        cron: str | None = None,
        timezone: str,
        start: datetime,
        end: datetime | None = None,
        catch_up: str = CatchUp.LATEST.value,
        template: Mapping[str, Any],
        **how: Unpack[Acting],
    ) -> ConfigReceipt:
        """Define a schedule or change it (a new version); the same definition records nothing.

        A rule, time zone, start, end, catch-up or template that cannot be recorded is InvalidRuleError with
        the path of the part at fault, and nothing is stored.
        """
        when = timing(rrule=rrule, cron=cron, timezone=timezone, start=start, end=end)
        ticket = self._checked_template(tenant, template)
        mode = _catch_up(catch_up)
        self._recurrence().check(when)
        with self._acting(tenant=tenant, **how):
            book = self.schedule_book(tenant) or ScheduleBook.start(tenant=tenant)
            book.define(name, title=title, enabled=_flag(enabled), timing=when, catch_up=mode, template=ticket)
        recordings = self.save(book)
        name = values.slug(name, "schedule name")
        return ConfigReceipt(
            name, book.schedules[name]["version"], recordings[-1].notification.id if recordings else None
        )

    def _checked_template(self, tenant: str, raw: Mapping[str, Any]) -> TicketTemplate:
        """The template, checked against the tenant's records as an opening would be (no personal field)."""
        checked = template(raw)
        try:
            self.check_assignment(tenant, None, checked.group)
        except DomainError as refused:
            raise InvalidRuleError("template/group", str(refused).rstrip(".")) from None
        try:
            fields = self._defined_fields(tenant, checked.custom_fields, checked.requester_id)
        except DomainError as refused:
            raise InvalidRuleError("template/custom_fields", str(refused).rstrip(".")) from None
        personal = sorted(n for n, v in fields.items() if v.owner is not None)
        if personal:
            msg = f"a template holds no personal data: {', '.join(personal)} is a personal field"
            raise InvalidRuleError(f"template/custom_fields/{personal[0]}", msg)
        return checked

    # --- reading -----------------------------------------------------------------------------------

    def schedule_book(self, tenant: str) -> ScheduleBook | None:
        """The tenant's schedule book (None: it has no schedules)."""
        return self._configured(ScheduleBook, ScheduleBook.create_id(tenant))

    def schedule(self, tenant: str, name: str, version: int | None = None) -> Schedule:
        """A schedule at its latest version or at `version`, or NotFoundError."""
        book = self.schedule_book(tenant)
        found = None if book is None else book.schedule(name)
        if book is not None and found is not None and version is not None and version != found.version:
            recorded_as = self._book_version_with(book.id, name, version)
            older = None if recorded_as is None else self._configured(ScheduleBook, book.id, recorded_as)
            found = None if older is None else older.schedule(name)
        if found is None:
            raise NotFoundError(f"no schedule {name!r}" + ("" if version is None else f" version {version}"))
        return found

    def _book_version_with(self, book_id: UUID, name: str, version: int) -> int | None:
        for stored in self.events.get(book_id):
            if isinstance(stored, ScheduleBook.ScheduleDefined) and stored.name == name and stored.version == version:
                return int(stored.originator_version)
        return None

    def schedule_runs(self, tenant: str, name: str) -> ScheduleRuns | None:
        """What the schedule's occurrences did so far (None: none was dealt with yet)."""
        try:
            found: ScheduleRuns = self.repository.get(ScheduleRuns.create_id(tenant, name))
        except AggregateNotFoundError:
            return None
        return found

    def upcoming(self, schedule: Schedule, after: datetime, count: int) -> list[datetime]:
        """The schedule's next `count` occurrences from `after` (and from when it counts), in order."""
        since = max(after, schedule.counts_from)
        return self._recurrence().occurrences(schedule.timing, since, None, count)

    def _recurrence(self) -> Recurrence:
        if self.recurrence is None:
            msg = "this application was built without a recurrence library: it cannot read schedules' rules"
            raise RuntimeError(msg)
        return self.recurrence

    # --- running -----------------------------------------------------------------------------------

    def run_schedule_step(self, schedule: Schedule, tenant: str, step: Step) -> StepReceipt | None:
        """Skip the step's missed occurrences and open its occurrence's ticket, in one save.

        None if another run dealt with the step already. Of two runs of the same step at once, the store
        takes one save (RaceLostError for the other). A template the tenant's records
        refuse now (a group removed since) is recorded as the occurrence failing, with the reason.
        """
        runs = self.schedule_runs(tenant, schedule.name)
        first = step.skipped[0] if step.skipped else step.opened
        if first is None or (runs is not None and runs.dealt_with(first)):
            return None
        cause = event_cause(ScheduleBook.create_id(tenant), schedule.recorded_as)
        with self._acting(schedule_actor(schedule.name), SCHEDULE_CHANNEL, tenant=tenant, caused_by=cause):
            runs = runs or ScheduleRuns.start(tenant=tenant, schedule=schedule.name)
            runs.skip(step.skipped, version=schedule.version, catch_up=schedule.catch_up.value)
            opened = None if step.opened is None else self._open_occurrence(schedule, tenant, step.opened, runs)
        recordings = self.save(runs, *([] if opened is None else [opened]))
        position = recordings[-1].notification.id if recordings else None
        return StepReceipt(None if opened is None else opened.id, position)

    def _open_occurrence(
        self, schedule: Schedule, tenant: str, occurrence: datetime, runs: ScheduleRuns
    ) -> Ticket | None:
        """The occurrence's ticket, opened (in the command context); None if it failed or exists already."""
        ticket_id = occurrence_ticket_id(tenant, schedule.name, occurrence)
        if self._exists(ticket_id):  # its opening was saved, its record lost to a clock set back: record it
            runs.open(occurrence, ticket_id=ticket_id, version=schedule.version)
            return None
        made = schedule.template
        try:
            ticket = self._new_ticket(
                tenant=tenant,
                title=made.title,
                description=made.description,
                requester_id=made.requester_id,
                organisation=made.organisation,
                priority=made.priority,
                ticket_type=made.ticket_type,
                tags=made.tags,
                custom_fields=made.custom_fields,
                group=made.group,
                ticket_id=ticket_id,
            )
        except DomainError as refused:
            runs.fail(occurrence, version=schedule.version, reason=str(refused))
            return None
        ticket.note_schedule(schedule.name, schedule.version, occurrence=occurrence)
        runs.open(occurrence, ticket_id=ticket_id, version=schedule.version)
        return ticket

    def _exists(self, ticket_id: UUID) -> bool:
        return bool(list(self.events.get(ticket_id, lte=1)))


def _catch_up(value: Any) -> CatchUp:
    if value not in {mode.value for mode in CatchUp}:
        raise InvalidRuleError("catch_up", f"one of {', '.join(CatchUp)} (got {value!r})")
    return CatchUp(value)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise InvalidRuleError("enabled", "true or false")
    return value
