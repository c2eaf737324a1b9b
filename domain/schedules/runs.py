"""What a schedule's occurrences did: each opened its ticket, was skipped (catch-up), or failed; one record each.

One record per schedule (its id follows from the tenant and the schedule's name), apart from the
tenant's schedule book, so the runner's saves never race an admin's definitions. `through` is
the latest occurrence dealt with: the runner looks only after it, and the store refuses a second
save on the same version, so two runners, or one restarted, deal with each occurrence once. The
ticket an occurrence opens has an id that follows from the tenant, the schedule and the moment
(`occurrence_ticket_id`), a second guard the store keeps by itself.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from eventsourcing.domain import event

from domain.actors import identifier
from domain.errors import AlreadyExistsError, InvalidValueError
from domain.provenance import Recorded, TenantOwned

_RUNS = uuid.UUID("7d9e2c41-5b8a-4f63-b0d2-3a6c1e8f9b57")
_TICKETS = uuid.UUID("c4a81f0e-2d6b-4e97-8b35-91f0d7a2c6e8")


def occurrence_ticket_id(tenant: str, schedule: str, occurrence: datetime) -> uuid.UUID:
    """The id of the ticket a schedule's occurrence opens: the same for the same occurrence, always."""
    return uuid.uuid5(_TICKETS, f"{tenant}\x00{schedule}\x00{occurrence.timestamp()!r}")


class ScheduleRuns(TenantOwned):
    """The occurrences of one schedule dealt with so far."""

    class Event(TenantOwned.Event):
        """Base of the record's events."""

    class Started(Event, Recorded.Created):
        schedule: str

    class OccurrenceOpened(Event):
        """The occurrence opened its ticket, under this version of the schedule."""

        occurrence: datetime
        ticket_id: str
        schedule_version: int

    class OccurrenceFailed(Event):
        """The occurrence could not open its ticket (the template was refused, e.g. a group no longer known)."""

        occurrence: datetime
        schedule_version: int
        reason: str

    class OccurrencesSkipped(Event):
        """Missed occurrences skipped as the schedule's catch-up said: the first, the last, how many."""

        first: datetime
        last: datetime
        count: int
        schedule_version: int
        catch_up: str

    @staticmethod
    def create_id(tenant: str, schedule: str) -> uuid.UUID:
        """The id of the record of `schedule` in `tenant`."""
        return uuid.uuid5(_RUNS, f"{tenant}\x00{schedule}")

    @classmethod
    def start(cls, *, tenant: str, schedule: str) -> ScheduleRuns:
        """A new record, of a schedule no occurrence of which was dealt with yet."""
        return cls(tenant=identifier(tenant, "tenant"), schedule=schedule)  # its id: create_id(tenant, schedule)

    @event(Started)
    def __init__(self, *, tenant: str, schedule: str) -> None:
        self.tenant = tenant
        self.schedule = schedule
        self.through: datetime | None = None  # the latest occurrence dealt with
        self.opened = 0
        self.skipped = 0
        self.failed = 0

    def open(self, occurrence: datetime, *, ticket_id: uuid.UUID, version: int) -> None:
        """Record that the occurrence opened its ticket."""
        self._check_after(occurrence)
        self._occurrence_opened(occurrence=occurrence, ticket_id=str(ticket_id), schedule_version=version)

    @event(OccurrenceOpened)
    def _occurrence_opened(self, *, occurrence: datetime, ticket_id: str, schedule_version: int) -> None:
        self.through = occurrence
        self.opened += 1

    def fail(self, occurrence: datetime, *, version: int, reason: str) -> None:
        """Record that the occurrence could not open its ticket, and why."""
        self._check_after(occurrence)
        self._occurrence_failed(occurrence=occurrence, schedule_version=version, reason=reason)

    @event(OccurrenceFailed)
    def _occurrence_failed(self, *, occurrence: datetime, schedule_version: int, reason: str) -> None:
        self.through = occurrence
        self.failed += 1

    def skip(self, occurrences: tuple[datetime, ...], *, version: int, catch_up: str) -> None:
        """Record that these missed occurrences (in order) were skipped; none records nothing."""
        if not occurrences:
            return
        self._check_after(occurrences[0])
        first, last = occurrences[0], occurrences[-1]
        self._occurrences_skipped(
            first=first, last=last, count=len(occurrences), schedule_version=version, catch_up=catch_up
        )

    @event(OccurrencesSkipped)
    def _occurrences_skipped(
        self, *, first: datetime, last: datetime, count: int, schedule_version: int, catch_up: str
    ) -> None:
        self.through = last
        self.skipped += count

    def dealt_with(self, occurrence: datetime) -> bool:
        """Whether the occurrence was opened, skipped or failed already."""
        return self.through is not None and occurrence <= self.through

    def _check_after(self, occurrence: datetime) -> None:
        if occurrence.tzinfo is None:
            msg = "an occurrence is a moment with a time zone"
            raise InvalidValueError(msg)
        if self.dealt_with(occurrence):
            msg = f"occurrence {occurrence.isoformat()} of schedule {self.schedule!r} was dealt with already"
            raise AlreadyExistsError(msg)
