"""A tenant's schedules, each at its latest version; every definition is a version of its own.

One book per tenant (its id follows from the tenant), so `GET /schedules` and the schedule runner
read every schedule of a tenant in one load. Each definition records the schedule's whole new
version (`ScheduleDefined`); the same definition records nothing; `enabled` false disables the
schedule and keeps its history. What its occurrences did is on another record, one per schedule
(domain/schedules/runs.py), so defining never races the runner.

Occurrences count from `counts_from`: the moment the schedule was first defined, and again the
moment its timing changed or it was enabled again. Occurrences before then were never due: a
schedule starting in the past does not open the tickets of its past, and a changed rule does not
catch up on what the old one would have opened.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned, current
from domain.schedules.catch_up import CatchUp
from domain.schedules.template import TicketTemplate
from domain.schedules.timing import Timing

_BOOKS = uuid.UUID("0f3b6a52-7c1e-4d0a-9a47-6e2b8d51c9f4")
SCHEDULES_MAX = 500


@dataclass(frozen=True, slots=True)
class Schedule:
    """One version of a schedule."""

    name: str
    version: int
    title: str
    enabled: bool
    timing: Timing
    catch_up: CatchUp
    template: TicketTemplate
    counts_from: datetime  # occurrences before this moment were never due
    recorded_as: int  # the book's version whose event recorded this schedule version (a causation id names it)


class ScheduleBook(TenantOwned):
    """Every schedule of a tenant, each at its latest version (earlier ones are in the events)."""

    class Event(TenantOwned.Event):
        """Base of schedule-book events: whose book, who changed it, and how."""

    class Started(Event, Recorded.Created):
        """The tenant's first schedule is about to be recorded."""

    class ScheduleDefined(Event):
        name: str
        version: int
        title: str
        enabled: bool
        timing: dict[str, Any]
        catch_up: str
        template: dict[str, Any]
        counts_from: datetime

    @staticmethod
    def create_id(tenant: str) -> uuid.UUID:
        """The id of the tenant's schedule book."""
        return uuid.uuid5(_BOOKS, tenant)

    @classmethod
    def start(cls, *, tenant: str) -> ScheduleBook:
        """A new, empty schedule book for the tenant."""
        return cls(tenant=identifier(tenant, "tenant"))

    @event(Started)
    def __init__(self, *, tenant: str) -> None:
        self.tenant = tenant
        self.schedules: dict[str, dict[str, Any]] = {}  # name -> the latest ScheduleDefined's fields

    def define(
        self,
        name: str,
        *,
        title: str,
        enabled: bool,
        timing: Timing,
        catch_up: CatchUp,
        template: TicketTemplate,
    ) -> None:
        """Define a schedule or change it (a new version); the same definition records nothing."""
        checked = values.slug(name, "schedule name")
        definition: dict[str, Any] = {
            "title": values.text(title, "title"),
            "enabled": enabled,
            "timing": timing.as_dict(),
            "catch_up": catch_up.value,
            "template": template.as_dict(),
        }
        current_one = self.schedules.get(checked)
        if current_one is None and len(self.schedules) >= SCHEDULES_MAX:
            msg = f"a tenant may have at most {SCHEDULES_MAX} schedules"
            raise InvalidValueError(msg)
        if current_one is not None and {k: current_one[k] for k in definition} == definition:
            return
        version = 1 if current_one is None else current_one["version"] + 1
        self._schedule_defined(
            name=checked, version=version, counts_from=_counts_from(current_one, definition), **definition
        )

    @event(ScheduleDefined)
    def _schedule_defined(
        self,
        *,
        name: str,
        version: int,
        title: str,
        enabled: bool,
        timing: dict[str, Any],
        catch_up: str,
        template: dict[str, Any],
        counts_from: datetime,
    ) -> None:
        entry = {"version": version, "title": title, "enabled": enabled, "timing": timing, "catch_up": catch_up}
        recorded = {"template": template, "counts_from": counts_from, "recorded_as": self.version + 1}
        self.schedules = {**self.schedules, name: {**entry, **recorded}}

    def schedule(self, name: str) -> Schedule | None:
        """A schedule at its latest version, or None."""
        found = self.schedules.get(name)
        return None if found is None else _schedule(name, found)

    def all(self) -> list[Schedule]:
        """Every schedule, disabled ones too, by name."""
        return [_schedule(name, self.schedules[name]) for name in sorted(self.schedules)]

    def enabled(self) -> list[Schedule]:
        """The enabled schedules, by name."""
        return [s for s in self.all() if s.enabled]


def _counts_from(before: Mapping[str, Any] | None, definition: Mapping[str, Any]) -> datetime:
    """Now for a new schedule, a new timing or one enabled again; else the moment it counted from."""
    if before is None or before["timing"] != definition["timing"] or (definition["enabled"] and not before["enabled"]):
        return current().at
    moment: datetime = before["counts_from"]
    return moment


def _schedule(name: str, found: Mapping[str, Any]) -> Schedule:
    return Schedule(
        name=name,
        version=found["version"],
        title=found["title"],
        enabled=found["enabled"],
        timing=Timing.from_dict(found["timing"]),
        catch_up=CatchUp(found["catch_up"]),
        template=TicketTemplate.from_dict(found["template"]),
        counts_from=found["counts_from"],
        recorded_as=found["recorded_as"],
    )
