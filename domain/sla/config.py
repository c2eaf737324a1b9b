"""SLA configuration as aggregates: business calendars and SLA policies, versioned, with history.

Each change is an event, so every version of a policy or calendar stays readable (a ticket's
SLA can be recomputed under any of them) and the audit trail shows who changed what. Both are
named within their tenant; the id follows from (tenant, name), so names are unique.

A new definition (defining or changing) must respect the limits that bound what one tenant's
configuration costs everyone: a calendar open at least `WEEKLY_MINUTES_MIN` minutes a week, a
target of at most `TARGET_MINUTES_MAX` minutes. Versions stored before those limits are not
checked again, so their events still replay.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from typing import Any

from eventsourcing.domain import event

from domain import values
from domain.actors import identifier
from domain.errors import InvalidValueError
from domain.provenance import Recorded, TenantOwned
from domain.sla.calendar import BusinessCalendar
from domain.sla.policy import PolicyTerms

_CALENDARS = uuid.UUID("3f1d2a8e-6b7c-4e5f-9a0b-1c2d3e4f5a6b")
_POLICIES = uuid.UUID("8e7d6c5b-4a39-4281-9f0e-d1c2b3a4f5e6")
POSITION_MAX = 10_000


class WorkCalendar(TenantOwned):
    """A tenant's business calendar: time zone, weekly working hours, holidays."""

    class Event(TenantOwned.Event):
        """Base of calendar events: whose calendar, who changed it, and how."""

    class CalendarDefined(Event, Recorded.Created):
        name: str
        definition: dict[str, Any]

    class CalendarChanged(Event):
        name: str
        definition: dict[str, Any]

    @staticmethod
    def create_id(tenant: str, name: str) -> uuid.UUID:
        """The id of the calendar called `name` in `tenant`."""
        return uuid.uuid5(_CALENDARS, f"{tenant}\x00{name}")

    @classmethod
    def define(cls, *, tenant: str, name: str, definition: Mapping[str, Any]) -> WorkCalendar:
        """Validate and record a new calendar."""
        checked = _definition(definition)
        return cls(
            tenant=identifier(tenant, "tenant"),
            name=values.slug(name, "calendar name"),
            definition=checked,
        )

    @event(CalendarDefined)
    def __init__(
        self,
        *,
        tenant: str,
        name: str,
        definition: dict[str, Any],
    ) -> None:
        self.tenant = tenant
        self.name = name
        self.definition = definition

    def change(self, definition: Mapping[str, Any]) -> None:
        """Replace the definition (a new version); an identical one records nothing."""
        checked = _definition(definition)
        if checked != self.definition:
            self._changed(name=self.name, definition=checked)

    @event(CalendarChanged)
    def _changed(
        self,
        *,
        name: str,
        definition: dict[str, Any],
    ) -> None:
        self.definition = definition

    @property
    def calendar(self) -> BusinessCalendar:
        """The calendar this version defines."""
        return BusinessCalendar.from_dict(self.definition)


class SlaPolicy(TenantOwned):
    """A tenant's SLA policy: where it stands in the ordered list, and its terms."""

    class Event(TenantOwned.Event):
        """Base of policy events: whose policy, who changed it, and how."""

    class PolicyDefined(Event, Recorded.Created):
        name: str
        position: int
        terms: dict[str, Any]

    class PolicyChanged(Event):
        name: str
        position: int
        terms: dict[str, Any]

    @staticmethod
    def create_id(tenant: str, name: str) -> uuid.UUID:
        """The id of the policy called `name` in `tenant`."""
        return uuid.uuid5(_POLICIES, f"{tenant}\x00{name}")

    @classmethod
    def define(cls, *, tenant: str, name: str, position: int, terms: Mapping[str, Any]) -> SlaPolicy:
        """Validate and record a new policy (its terms' name is the policy's name)."""
        checked_name = values.slug(name, "policy name")
        return cls(
            tenant=identifier(tenant, "tenant"),
            name=checked_name,
            position=_position(position),
            terms=_terms(checked_name, terms),
        )

    @event(PolicyDefined)
    def __init__(
        self,
        *,
        tenant: str,
        name: str,
        position: int,
        terms: dict[str, Any],
    ) -> None:
        self.tenant = tenant
        self.name = name
        self.position = position
        self.terms = terms

    def change(self, *, position: int, terms: Mapping[str, Any]) -> None:
        """Move or revise the policy (a new version); no difference records nothing."""
        checked = _terms(self.name, terms)
        if (_position(position), checked) != (self.position, self.terms):
            self._changed(name=self.name, position=position, terms=checked)

    @event(PolicyChanged)
    def _changed(
        self,
        *,
        name: str,
        position: int,
        terms: dict[str, Any],
    ) -> None:
        self.position = position
        self.terms = terms

    @property
    def policy_terms(self) -> PolicyTerms:
        """The terms this version sets."""
        return PolicyTerms.from_dict(self.terms)


def _position(position: int) -> int:
    if not 0 <= position <= POSITION_MAX:
        msg = f"a policy's position must be 0-{POSITION_MAX} (got {position})"
        raise InvalidValueError(msg)
    return position


def _terms(name: str, terms: Mapping[str, Any]) -> dict[str, Any]:
    """Terms a policy may set from now on, in their stored form."""
    return PolicyTerms.from_dict({**terms, "name": name}).check_new_definition().as_dict()


def _definition(definition: Mapping[str, Any]) -> dict[str, Any]:
    """A calendar definition that may be recorded from now on, in its stored form."""
    return BusinessCalendar.from_dict(definition).check_new_definition().as_dict()
